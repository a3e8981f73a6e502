"""Webhook notifications against a real HTTP server on 127.0.0.1: a merge lands
promptly whether the webhook answers, is down, is slow or fails."""

import json
import socket
import subprocess
import sys
import time

from contextlib import contextmanager

import pytest

from conftest import ROOT
from loopback import QuietHandler, serving

TOKEN = "s3cret-token"


class Webhook:
    """A local webhook receiver: records what it is sent, answers as `mode` says."""

    def __init__(self):
        self.received, self.mode, self.delay = [], "ok", 0.0
        hook = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                as_json = self.headers.get("Content-Type") == "application/json"
                hook.received.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body) if as_json else body.decode("utf-8"),
                                      "at": time.monotonic()})
                if hook.mode == "slow":
                    time.sleep(hook.delay)
                try:
                    self.reply(500 if hook.mode == "error" else 204)
                except OSError:
                    pass          # the client gave up waiting, as it should

        self.handler = Handler

    @contextmanager
    def running(self):
        with serving(self.handler) as server:
            self.url = f"{server.url}/hook/T0/B0?token={TOKEN}"
            yield self

    def events(self):
        return [r["body"] for r in self.received]


@pytest.fixture
def webhook():
    with Webhook().running() as hook:
        yield hook


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def configure(central, url, timeout=2, extra=""):
    central.set_config(f'[runner]\nautostart = false\n[notify]\nwebhook = "{url}"\ntimeout = {timeout}\n{extra}')


def notify_log(central):
    path = central.state / "logs" / "notify.log"
    return path.read_text() if path.exists() else ""


def run_runner(central):
    """`mergecoord start --once`, timed; (seconds, completed process)."""
    started = time.monotonic()
    proc = central.mc("start", "--once")
    return time.monotonic() - started, proc


def test_webhook_hears_queued_and_merged_as_json(central, make_worker, webhook):
    configure(central, webhook.url)
    apollo = make_worker("Apollo")
    sha = apollo.work("sprint/optimize-vector-search", {"search.py": "parallel = True\n"},
                      "Optimized vector search with parallel processing")
    _, proc = run_runner(central)
    assert proc.returncode == 0, proc.stderr

    queued, merged = webhook.events()
    assert queued == {"event": "queued", "merge_id": "m-0001", "branch": "sprint/optimize-vector-search",
                      "worker": "Apollo", "repo": "central.git", "sha": sha, "kind": "branch",
                      "decision": "", "time": queued["time"]}
    assert time.strptime(queued["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert merged["event"] == "merged" and merged["merge_id"] == "m-0001"
    assert merged["branch"] == "sprint/optimize-vector-search" and merged["worker"] == "Apollo"
    assert merged["commit"] == central.rev("main") and merged["resolved_by"] == "clean"
    request = webhook.received[1]
    assert request["path"] == f"/hook/T0/B0?token={TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["X-Mergecoord-Event"] == "merged"
    assert notify_log(central) == ""


def test_a_dead_webhook_never_blocks_a_merge_and_its_token_stays_out_of_the_log(central, make_worker):
    port = closed_port()
    configure(central, f"http://user:pw@127.0.0.1:{port}/hook/T0/B0?token={TOKEN}")
    make_worker("Apollo").work("sprint/a", {"a.py": "a = 1\n"})
    elapsed, proc = run_runner(central)
    assert proc.returncode == 0, proc.stderr
    assert central.merge_ids() == ["m-0001"]
    assert elapsed < 5
    log = notify_log(central)
    assert f"queued m-0001 not delivered to http://…@127.0.0.1:{port}/hook/…?…: could not connect" in log
    assert "merged m-0001 not delivered" in log
    assert TOKEN not in log and "pw" not in log and "B0" not in log


def test_a_slow_webhook_never_blocks_a_merge(central, make_worker, webhook):
    webhook.mode, webhook.delay = "slow", 8.0
    configure(central, webhook.url, timeout=1)
    make_worker("Athena").work("sprint/b", {"b.py": "b = 1\n"})
    started = time.monotonic()
    runner = subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert central.wait_for(lambda: central.merge_ids() == ["m-0001"], timeout=5)
    landed = time.monotonic() - started
    out, err = runner.communicate(timeout=20)
    finished = time.monotonic() - started
    assert runner.returncode == 0, err
    # main moved long before the webhook would have answered, and the runner waited
    # for it no longer than its bound (2 x timeout), not for the 8-second sleeps.
    assert landed < 4
    assert finished < 6
    assert len(webhook.received) >= 1
    assert "no answer within 1s" in notify_log(central)
    assert TOKEN not in notify_log(central)


def test_a_failing_webhook_is_logged_and_rested(central, make_worker, webhook):
    webhook.mode = "error"
    configure(central, webhook.url)
    worker = make_worker("Numa")
    worker.work("sprint/c", {"c.py": "c = 1\n"})
    worker.work("sprint/d", {"d.py": "d = 1\n"})
    _, proc = run_runner(central)
    assert proc.returncode == 0
    assert central.merge_ids() == ["m-0001", "m-0002"]
    log = notify_log(central)
    # four events; after three failures in a row the webhook is given a rest
    assert [r["body"]["event"] for r in webhook.received] == ["queued", "queued", "merged"]
    assert log.count("HTTP 500") == 3
    assert "dropped merged m-0002" in log and "resting it" in log


def test_without_a_webhook_nothing_is_sent(central, make_worker, webhook):
    make_worker("Apollo").work("sprint/e", {"e.py": "e = 1\n"})
    _, proc = run_runner(central)
    assert proc.returncode == 0
    assert central.merge_ids() == ["m-0001"]
    assert webhook.received == [] and notify_log(central) == ""


def test_a_decision_left_pending_is_reminded_once_per_interval(central, webhook):
    from mergecoord.state import decisions
    from mergecoord import config as config_mod
    from mergecoord.server.notify.reminders import remind
    from mergecoord.server.notify.webhook import drain
    from mergecoord.central import Central

    configure(central, webhook.url, extra="[escalation]\nremind_after_hours = 1\n")
    repo = Central(central.path)
    decision = decisions.create(repo, {"merge_id": "m-0009", "branch": "sprint/optimize-memory-storage",
                                       "files": ["engram/core/memory/storage/vector_storage.py"]})
    decisions.update(repo, decision, created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7200)))

    assert run_runner(central)[1].returncode == 0
    reminders = [e for e in webhook.events() if e["event"] == "reminder"]
    assert len(reminders) == 1
    assert reminders[0]["decision"] == decision and reminders[0]["merge_id"] == "m-0009"
    assert reminders[0]["branch"] == "sprint/optimize-memory-storage" and reminders[0]["pending_hours"] >= 2

    assert run_runner(central)[1].returncode == 0          # within the hour: no second reminder
    assert len([e for e in webhook.events() if e["event"] == "reminder"]) == 1

    config = config_mod.load(repo)
    assert remind(repo, config, now=time.time() + 3700, force=True) == [decision]
    assert drain(repo, config) == 0
    assert len([e for e in webhook.events() if e["event"] == "reminder"]) == 2


@pytest.mark.parametrize("fmt", ["slack", "discord", "ntfy"])
def test_chat_formats_say_what_happened_and_a_branch_name_cannot_mention_anyone(central, make_worker, webhook, fmt):
    configure(central, webhook.url, extra=f'format = "{fmt}"\n')
    branch = "sprint/<!channel>-@everyone"
    make_worker("Apollo").work(branch, {"a.txt": "a\n"})
    _seconds, proc = run_runner(central)
    assert proc.returncode == 0, proc.stderr
    assert [r["headers"]["X-Mergecoord-Event"] for r in webhook.received] == ["queued", "merged"]
    merged = webhook.received[1]
    if fmt == "slack":
        assert merged["body"] == {"text": "[central.git] merged sprint/&lt;!channel&gt;-@everyone (Apollo) as m-0001 "
                                          f"(clean) {central.rev('main')[:10]}"}
    elif fmt == "discord":
        assert merged["body"]["allowed_mentions"] == {"parse": []}
        assert merged["body"]["content"].startswith(f"[central.git] merged {branch} (Apollo) as m-0001 (clean)")
    else:
        assert merged["headers"]["Title"] == "mergecoord m-0001 merged"
        assert merged["headers"]["Tags"] == "white_check_mark"
        assert merged["body"].startswith(f"[central.git] merged {branch} (Apollo) as m-0001 (clean)")


def test_an_unknown_format_is_a_broken_config(central):
    central.set_config('[notify]\nformat = "teams"\n')
    proc = central.mc("status")
    assert proc.returncode == 1
    assert "notify.format must be one of json, slack, discord, ntfy" in proc.stderr


def test_each_event_is_delivered_once_across_runs_and_from_an_old_cursor(central, make_worker, webhook):
    """The cursor is the journal offset already delivered: a second run sends only its own
    events, and a cursor written by an earlier version (a count of events) is taken over
    without sending anything twice."""
    configure(central, webhook.url)
    apollo = make_worker("Apollo")
    apollo.work("sprint/one", {"one.py": "one = 1\n"}, "one")
    assert run_runner(central)[1].returncode == 0
    assert [e["event"] for e in webhook.events()] == ["queued", "merged"]
    journal = (central.state / "journal.jsonl").read_bytes()
    cursor = central.state / "events.cursor"
    kind, _, offset = cursor.read_text().partition(":")
    assert kind == "offset" and 0 < int(offset) <= len(journal) and journal[int(offset) - 1:int(offset)] == b"\n"
    cursor.write_text(str(journal[:int(offset)].count(b"\n")))   # as an earlier version wrote it
    apollo.work("sprint/two", {"two.py": "two = 2\n"}, "two")
    assert run_runner(central)[1].returncode == 0
    sent = [(e["event"], e["merge_id"]) for e in webhook.events()]
    assert sent == [("queued", "m-0001"), ("merged", "m-0001"), ("queued", "m-0002"), ("merged", "m-0002")]
