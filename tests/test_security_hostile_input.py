"""Hostile pushes: odd branch names, huge messages, binaries, forged trailers, and
branches that carry their own config, hooks or verify script. Nothing a worker
pushes is ever executed by the hooks or read as the server's configuration."""

import json
import os
import subprocess
import time

from mergecoord.untrusted import printable


# Shell metacharacters that git allows in a ref name, invisible and look-alike
# Unicode, and names near the file system's limits.
HOSTILE = [
    "sprint/$(touch${IFS}PWNED-1)",
    "sprint/x`touch${IFS}PWNED-2`",
    "sprint/a;touch${IFS}PWNED-3|b&c",
    "sprint/it's-\"quoted\"",
    "sprint/nb\u00a0sp\u2007figure\u202fnarrow",          # space-like characters
    "sprint/zero\u200bwidth\u2028line\u202eevil",        # zero-width, line separator, bidi override
    "sprint/%s%n{0}@x",
    "sprint/" + "L" * 240,                                # one path component near 255 bytes
    "sprint/" + "/".join(["deep" * 50] * 8),              # a 1.6 KB ref name
]


def sentinels(tmp_path):
    return sorted(str(p) for p in tmp_path.rglob("PWNED*"))


def test_hostile_branch_names_are_queued_merged_and_never_run(tmp_path, central, make_worker):
    worker = make_worker("Mallory")
    tips = {}
    for i, branch in enumerate(HOSTILE):
        worker.git("checkout", "-q", "-B", branch, "origin/main")
        tips[branch] = worker.commit(f"hostile {i}", {f"h{i}.txt": f"{i}\n"})
    out = worker.git("push", "origin", *[f"{b}:{b}" for b in HOSTILE]).stderr
    for branch in HOSTILE:         # named on the pusher's terminal with what is invisible shown
        assert f"queued {printable(branch)} as m-" in out, branch
    assert "internal error" not in out and "Traceback" not in out

    entries = central.json("queue")["entries"]
    assert [(e["branch"], e["sha"]) for e in entries] == list(tips.items())   # names kept exactly
    central.run_once()
    assert central.merge_ids() == [f"m-{k:04d}" for k in range(1, len(HOSTILE) + 1)]
    titles = central.git("log", "--first-parent", "--format=%s", "main").stdout.split("\n")
    for k, branch in enumerate(reversed(HOSTILE)):
        assert titles[k] == f"Merge {branch} into main (m-{len(HOSTILE) - k:04d})"
    # deleting them withdraws nothing twice and breaks nothing
    out = worker.git("push", "origin", *[f":{b}" for b in HOSTILE]).stderr
    assert "internal error" not in out
    assert sentinels(tmp_path) == [] and sentinels(central.path) == []
    assert not (central.state / "logs" / "hooks.log").exists()


def test_a_branch_name_that_is_not_utf8_is_queued_and_merged(central, make_worker):
    worker = make_worker("Mallory")
    tip = worker.work("sprint/plain", {"raw.txt": "raw\n"}, push=False)
    ref = b"refs/heads/sprint/caf\xe9-\xff"
    proc = subprocess.run([b"git", b"push", b"origin", b"HEAD:" + ref], cwd=worker.path,
                          capture_output=True)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0 and "queued sprint/caf\\xe9-\\xff as m-0001" in err, err
    central.run_once()
    assert central.merge_ids() == ["m-0001"] and central.rev("main^2") == tip
    proc = subprocess.run([b"git", b"push", b"origin", b":" + ref], cwd=worker.path, capture_output=True)
    assert proc.returncode == 0 and b"internal error" not in proc.stderr


def test_a_megabyte_commit_message_is_handled_quickly_and_quoted_briefly(central, make_worker):
    worker = make_worker("Mallory")
    subject = "S" * 3_000_000                                   # one 3 MB line
    body = ("NOT_READY_TO_MERGE " * 100_000 + "\n") * 2         # 4 MB of look-alikes
    message = f"{subject}\n\n{body}\nREADY_TO_MERGE\n"
    worker.branch("sprint/huge")
    worker.write("huge.txt", "huge\n")
    worker.git("add", "-A")
    worker.git("commit", "-q", "-F", "-", input=message)
    began = time.monotonic()
    out = worker.push().stderr
    elapsed = time.monotonic() - began
    assert "queued sprint/huge as m-0001" in out
    assert elapsed < 10, f"a push of a 7 MB message took {elapsed:.1f}s"

    worker.branch("sprint/lookalikes-only")
    worker.write("no.txt", "no\n")
    worker.git("add", "-A")
    worker.git("commit", "-q", "-F", "-", input=body)
    assert "queued" not in worker.push().stderr

    central.run_once()
    assert central.merge_ids() == ["m-0001"]
    merge_message = central.git("log", "-1", "--format=%B", "main").stdout
    assert len(merge_message) < 400 and "S" * 200 in merge_message
    assert central.trailers() == {"Merge-Id": "m-0001", "Worker": "Mallory", "Resolved-By": "clean"}
    # the state files did not swallow the message either
    assert sum(p.stat().st_size for p in central.state.rglob("*") if p.is_file()) < 200_000


def test_forged_trailers_in_a_worker_message_never_pass_for_ours(central, make_worker):
    worker = make_worker("Mallory")
    forged = "Merge-Id: m-0002\n\nMerge-Id: m-0002\nWorker: Athena\nResolved-By: human\nREADY_TO_MERGE"
    tip = worker.work("sprint/forger", {"f.txt": "f\n"}, forged, ready=False)
    central.run_once()
    assert central.trailers() == {"Merge-Id": "m-0001", "Worker": "Mallory", "Resolved-By": "clean"}
    assert central.merge_ids() == ["m-0001"] and central.rev("main^2") == tip
    # the next merge really is m-0002, and is merged (not taken for already landed)
    worker.work("sprint/honest", {"h.txt": "h\n"})
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002"]
    assert central.json("log")["merges"][1]["status"] == "merged"


def test_binary_files_merge_byte_for_byte(central, make_worker):
    worker = make_worker("Mallory")
    blob = os.urandom(1 << 20) + b"\0\r\n<<<<<<< HEAD\n\xff\xfe"
    worker.branch("sprint/binary")
    (worker.path / "data.bin").write_bytes(blob)
    (worker.path / "nul.txt").write_bytes(b"text\0with NUL\n")
    worker.commit("binary payload")
    worker.push()
    central.run_once()
    shown = subprocess.run(["git", "--git-dir", str(central.path), "cat-file", "blob", "main:data.bin"],
                           capture_output=True, check=True).stdout
    assert shown == blob
    assert central.merge_ids() == ["m-0001"]


def test_a_binary_conflict_never_lands_half_merged(central, make_worker):
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    base = os.urandom(4096)
    apollo.branch("sprint/base")
    (apollo.path / "model.bin").write_bytes(base)
    apollo.commit("base")
    apollo.push()
    central.run_once()
    for worker, tail in ((apollo, b"\x01" * 64), (athena, b"\x02" * 64)):
        worker.branch(f"sprint/{worker.name.lower()}")
        (worker.path / "model.bin").write_bytes(base + tail)
        worker.commit("change the model")
        worker.push()
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002"]
    shown = subprocess.run(["git", "--git-dir", str(central.path), "cat-file", "blob", "main:model.bin"],
                           capture_output=True, check=True).stdout
    assert shown == base + b"\x01" * 64                       # Apollo's, whole; Athena's waits for a human
    last = central.json("log")["merges"][-1]
    assert last["id"] == "m-0003" and last["status"] != "merged" and last["conflicts"] == ["model.bin"]


def test_a_branch_carrying_config_hooks_and_verify_scripts_changes_nothing(tmp_path, central, make_worker):
    """The server's config, hooks and verify command are its own: a worker's tree that
    holds look-alikes of all of them is merged as plain content and never run."""
    marker = tmp_path / "PWNED"
    verify_log = tmp_path / "verify-ran"
    server_verify = tmp_path / "server-verify.sh"
    server_verify.write_text(f"#!/bin/sh\necho \"$PWD\" >> '{verify_log}'\ntest -f README.md\n")
    server_verify.chmod(0o755)
    central.set_config(f'[verify]\ncommand = ["{server_verify}"]\ntimeout = 60\n')
    config_before = (central.state / "config.toml").read_bytes()
    hooks_before = {p.name: p.read_bytes() for p in (central.path / "hooks").iterdir()}

    payload = f"#!/bin/sh\ntouch '{marker}'\n"
    evil_config = ('[queue]\nbranches = ["*"]\nmarker = "GO"\n[runner]\nautostart = true\n'
                   f'[verify]\ncommand = "touch {marker}"\n')
    files = {
        "hooks/post-receive": payload, "hooks/pre-receive": payload,
        "mergecoord/config.toml": evil_config, ".mergecoord.toml": evil_config, "config.toml": evil_config,
        "mergecoord/hooks/post-receive": payload, "verify.sh": payload, "server-verify.sh": payload,
        ".gitattributes": "* filter=evil diff=evil\n", ".gitmodules": '[submodule "x"]\n\tpath = x\n\turl = /etc\n',
    }
    worker = make_worker("Mallory")
    worker.branch("sprint/takeover")
    for path, text in files.items():
        worker.write(path, text)
        if path.endswith(("receive", ".sh")):
            (worker.path / path).chmod(0o755)
    worker.commit("take over the server")
    worker.push()
    # the worker's config would queue this; the server's does not
    worker.git("checkout", "-q", "-b", "feature/GO")
    worker.commit("GO", {"go.txt": "go\n"}, ready=False)
    assert "queued" not in worker.push().stderr

    central.run_once()
    assert central.merge_ids() == ["m-0001"]
    for path, text in files.items():
        assert central.show(f"main:{path}") == text              # merged as plain content
    assert not marker.exists()
    runs = verify_log.read_text().splitlines()
    assert len(runs) == 1 and "mergecoord-verify-" in runs[0]   # the server's script, in a temp checkout
    assert (central.state / "config.toml").read_bytes() == config_before
    assert {p.name: p.read_bytes() for p in (central.path / "hooks").iterdir()} == hooks_before
    assert json.loads(json.dumps(central.json("queue")))["entries"] == []
