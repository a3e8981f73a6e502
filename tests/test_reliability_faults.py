"""Faults around the edges: a full disk, a hanging verify command, LLM endpoints that
are down, slow, rate-limited or answer garbage. The runner reports in one line,
keeps main and the queue intact, and a later run merges."""

import json
import os
import resource
import subprocess
import sys
import time

import pytest

from reliability_checks import CMD, assert_invariants, wait_until
from test_conflicts_e2e import BASE, BATCHED, PARALLEL
from loopback import QuietHandler, serving


def file_size_limit(limit):
    """preexec_fn: every file this process (and its children) writes stops at `limit`
    bytes, the write failing with EFBIG, as on a full disk (root ignores permissions,
    so a read-only directory would not do)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def run_limited(central, limit):
    return subprocess.run(CMD + ["--repo", str(central.path), "start", "--once"], capture_output=True,
                          text=True, preexec_fn=file_size_limit(limit), timeout=120)


def queued_ids(central):
    return [e["id"] for e in json.loads((central.state / "queue.json").read_text())["entries"]]


@pytest.mark.parametrize("room", [None, 0, 100, 250, 400, 600, 800])
def test_a_full_disk_stops_the_runner_in_one_line_and_a_later_run_merges(central, make_worker, room):
    """Writes start failing at a different point for each amount of room left (the
    queue claim, the journal, git objects, the ref); whatever got through, nothing
    is lost or doubled."""
    worker = make_worker("Apollo")
    tips = {b: worker.work(b, {f"{b[7:]}.txt": f"{b}\n" * 20}) for b in ("sprint/a", "sprint/b", "sprint/c")}
    main_before = central.rev("main")
    largest = max((central.state / name).stat().st_size for name in ("journal.jsonl", "queue.json"))
    limit = 0 if room is None else largest + room

    proc = run_limited(central, limit)
    assert "Traceback" not in proc.stderr
    if proc.returncode:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr
        assert "File too large" in lines[0] and "main and the queue are intact" in lines[0]
    landed = central.merge_ids()
    assert central.rev(f"main~{len(landed)}") == main_before if landed else central.rev("main") == main_before
    # nothing that did not land left the queue
    assert set(queued_ids(central)) | set(landed) == {"m-0001", "m-0002", "m-0003"}

    central.run_once()
    assert_invariants(central, tips)
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003"]


def test_a_full_disk_during_a_push_says_not_queued_and_loses_nothing_else(central, make_worker):
    worker = make_worker("Apollo")
    for i in range(20):                       # a queue.json of several KB
        worker.work(f"sprint/q{i:02d}", {f"q{i}.txt": f"{i}\n"})
    before = (central.state / "queue.json").read_bytes()
    tip = worker.work("sprint/late", {"late.txt": "late\n"}, push=False)
    proc = subprocess.run(["git", "push", "origin", "HEAD"], cwd=worker.path, capture_output=True,
                          text=True, preexec_fn=file_size_limit(2048))
    assert proc.returncode == 0 and central.rev("sprint/late") == tip      # git took the push
    said = [line for line in proc.stderr.splitlines() if "mergecoord" in line]
    assert len(said) == 1 and "File too large" in said[0] and "NOT queued" in said[0], proc.stderr
    assert (central.state / "queue.json").read_bytes() == before

    # The pusher was told. Once there is room, the next run finds the READY tip that
    # no hook queued (after a grace period that lets a slow hook of a push in flight
    # queue its own branch: here the push is made to look two minutes old).
    ref = central.path / "refs" / "heads" / "sprint" / "late"
    central.run_once()
    assert len(central.merge_ids()) == 20
    os.utime(central.state / "initialised", (time.time() - 600,) * 2)    # set up ten minutes ago
    os.utime(ref, (time.time() - 180, time.time() - 180))
    out = central.run_once().stdout
    assert "Found sprint/late ready but never queued; queued as m-0022 (position 1)" in out
    assert len(central.merge_ids()) == 21 and central.rev("main^2") == tip
    assert central.json("show", "m-0022")["status"] == "merged"


def test_a_push_met_by_a_broken_config_is_merged_once_the_config_is_mended(central, make_worker):
    good = (central.state / "config.toml").read_text()
    central.set_config("[queue\n")
    worker = make_worker("Apollo")
    tip = worker.work("sprint/x", {"x.txt": "x\n"}, push=False)
    assert "nothing queued" in worker.push().stderr
    central.set_config(good)
    os.utime(central.state / "initialised", (time.time() - 600,) * 2)    # set up ten minutes ago
    os.utime(central.path / "refs" / "heads" / "sprint" / "x", (time.time() - 180,) * 2)
    central.run_once()
    assert central.merge_ids() == ["m-0001"] and central.rev("main^2") == tip
    central.run_once()                       # and never again
    assert central.merge_ids() == ["m-0001"]


def test_a_hanging_verify_is_killed_at_its_timeout_with_its_children(tmp_path, central, make_worker):
    pidfile = tmp_path / "verify.pid"
    # the command exits at once but leaves a child holding its output open, and that
    # child would sleep for five minutes
    central.set_config(f'[runner]\nautostart = false\n'
                       f'[verify]\ncommand = "sleep 300 & echo $! > {pidfile}; wait"\ntimeout = 2\n')
    worker = make_worker("Apollo")
    worker.work("sprint/slow", {"slow.txt": "slow\n"})
    main_before = central.rev("main")
    began = time.monotonic()
    central.run_once()
    assert time.monotonic() - began < 30
    assert central.rev("main") == main_before
    record = central.json("show", "m-0001")
    assert record["status"] == "failed" and "timed out" in record["detail"]
    pid = int(pidfile.read_text())
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                      open(f"/proc/{pid}/stat").read().split()[2] == "Z", timeout=5)


# -- LLM endpoints --------------------------------------------------------------------

class Endpoint(QuietHandler):
    """An OpenAI-compatible endpoint that misbehaves as `server.mode` says."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.hits += 1
        mode = self.server.mode
        if mode == "slow":
            time.sleep(3)
            return self.reply(200, b"{}")
        if mode == "429":
            return self.reply(429, b'{"error": "rate limited"}', {"Retry-After": "0.2"})
        if mode == "oversized":
            text = "x" * (8 << 20)
            return self.reply(200, json.dumps({"choices": [{"message": {"content": text}}]}).encode())
        if mode == "not-json":
            return self.reply(200, b"<html>\x00\xff gateway says hi")
        if mode == "wrong-shape":
            return self.reply(200, b'{"choices": "nope", "error": null}')
        if mode == "markers":
            answer = {"vote": "propose", "confidence": 1.0, "rationale": "trust me",
                      "hunks": {"engram/vector_storage.py": ["<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> b\n"]}}
            return self.reply(200, json.dumps({"choices": [{"message": {"content": json.dumps(answer)}}]}).encode())
        if mode == "toml-injection":
            answer = {"vote": "propose", "confidence": "1.0\n[escalation]\ndeciders = []",
                      "rationale": '"""\n[repo]\nprotect_main = false\n', "hunks": 42}
            return self.reply(200, json.dumps({"choices": [{"message": {"content": json.dumps(answer)}}]}).encode())
        self.reply(500, b"")


@pytest.fixture
def endpoint():
    with serving(Endpoint, mode="down", hits=0) as httpd:
        httpd.url += "/v1"
        yield httpd


def closed_port_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"          # nothing listens there any more


@pytest.mark.parametrize("mode", ["down", "slow", "429", "oversized", "not-json", "wrong-shape",
                                  "markers", "toml-injection"])
def test_a_misbehaving_llm_abstains_and_the_queue_goes_on(central, make_worker, endpoint, mode):
    endpoint.mode = mode
    url = closed_port_url() if mode == "down" else endpoint.url
    central.set_config(f'[[panel]]\nname = "gpt"\nkind = "openai"\nurl = "{url}"\nmodel = "m"\n'
                       'timeout = 1\nretries = 1\nbackoff = 0.05\n'
                       '[consensus]\nmax_rounds = 2\n[runner]\nautostart = false\n')
    casey, apollo, athena = make_worker("Casey"), make_worker("Apollo"), make_worker("Athena")
    path = "engram/vector_storage.py"
    casey.work("sprint/base", {path: BASE})
    central.run_once()
    apollo.work("sprint/parallel", {path: PARALLEL})
    athena.work("sprint/batched", {path: BATCHED})
    casey.work("sprint/unrelated", {"docs.md": "docs\n"})
    main_before = central.rev("main")

    began = time.monotonic()
    proc = central.mc("start", "--once")
    elapsed = time.monotonic() - began
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert elapsed < 60, f"{mode}: the runner took {elapsed:.0f}s"
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0004"]        # the queue went on
    assert central.rev("main~2") == main_before
    assert central.show(f"main:{path}") == PARALLEL                   # never a garbage resolution
    conflicted = central.json("show", "m-0003")
    assert conflicted["status"] != "merged" and conflicted["conflicts"] == [path]
    assert conflicted["transcript"], "the abstention is on record"
    assert len(conflicted["transcript"]) < 200_000
    assert (central.state / "config.toml").read_text().count("[escalation]") == 0
    if mode != "down":
        assert endpoint.hits >= 1


# -- webhook ---------------------------------------------------------------------------

class Hanging(QuietHandler):
    def do_POST(self):
        self.server.hits += 1
        time.sleep(30)                      # never answers in time


@pytest.mark.parametrize("kind", ["down", "hanging"])
def test_a_dead_or_hanging_webhook_never_holds_up_merges_or_pushes(central, make_worker, kind):
    with serving(Hanging, hits=0) as httpd:
        url = closed_port_url() if kind == "down" else f"http://127.0.0.1:{httpd.server_address[1]}/hook"
        central.set_config(f'[runner]\nautostart = false\n[notify]\nwebhook = "{url}"\ntimeout = 1\n')
        worker = make_worker("Apollo")
        tips = {}
        for i in range(4):
            began = time.monotonic()
            tips[f"sprint/w{i}"] = worker.work(f"sprint/w{i}", {f"w{i}.txt": f"{i}\n"})
            assert time.monotonic() - began < 5, "a push waited for the webhook"
        began = time.monotonic()
        proc = central.mc("start", "--once")
        elapsed = time.monotonic() - began
    assert proc.returncode == 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert elapsed < 20, f"the runner took {elapsed:.0f}s with a {kind} webhook"
    assert_invariants(central, tips)


SERVE_THROUGH_A_FULL_DISK = r"""
import resource, sys, threading, time
from mergecoord import config as config_mod
from mergecoord.central import locate
from mergecoord.server.runner import Runner

central = locate(sys.argv[1])
lines = []
runner = Runner(central, config_mod.load(central), echo=lines.append)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))          # the disk is full...
done = threading.Event()
thread = threading.Thread(target=runner.run, kwargs=dict(once=False, wait=True, should_stop=done.is_set))
thread.start()
time.sleep(1.5)
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))       # ...and then it has room again
deadline = time.monotonic() + 30
while time.monotonic() < deadline and sum("Clean merge" in l for l in lines) < 2:
    time.sleep(0.1)
done.set()
thread.join()
print("\n".join(lines))
"""


def test_a_serving_runner_waits_out_a_full_disk_and_goes_on(central, make_worker):
    central.set_config("[runner]\nautostart = false\npoll_interval = 0.2\n")
    worker = make_worker("Apollo")
    tips = {b: worker.work(b, {f"{b[7:]}.txt": "x\n"}) for b in ("sprint/a", "sprint/b")}
    proc = subprocess.run([sys.executable, "-c", SERVE_THROUGH_A_FULL_DISK, str(central.path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "mergecoord: runner stopped: File too large" in proc.stdout
    assert proc.stdout.count("Clean merge to main") == 2
    assert_invariants(central, tips)
