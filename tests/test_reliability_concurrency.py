"""Thirty pushes at once from thirty clones: every one queued exactly once, in one
consistent order, and hooks and runners never corrupt each other's files."""

import json
import re
import subprocess

from conftest import git
from reliability_checks import assert_invariants, wait_until

PUSHES = 30
QUEUED = re.compile(r"mergecoord: queued (\S+) as (m-\d{4}) \(position (\d+)\)")


def clones_with_work(tmp_path, central, prefix, n=PUSHES):
    """n clones, each with one READY commit on its own branch, not pushed yet."""
    clones = []
    for i in range(n):
        path = tmp_path / f"{prefix}{i:02d}"
        # --no-local: a local clone copies objects/ file by file and fails on the
        # .lock of an object a running runner is writing at that moment
        git("clone", "-q", "--no-local", str(central.path), str(path))
        git("config", "user.name", f"Worker{i:02d}", cwd=path)
        git("config", "user.email", f"w{i:02d}@example.com", cwd=path)
        git("checkout", "-q", "-b", f"sprint/{prefix}{i:02d}", cwd=path)
        (path / f"{prefix}{i:02d}.txt").write_text(f"work of worker {i}\n")
        git("add", "-A", cwd=path)
        git("commit", "-q", "-m", f"work {i}\n\nREADY_TO_MERGE", cwd=path)
        clones.append(path)
    return clones


def push_all_at_once(clones):
    """Start every `git push` before waiting for any; returns branch -> (tip, stderr)."""
    procs = [(path, subprocess.Popen(["git", "push", "origin", "HEAD"], cwd=path, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE))
             for path in clones]
    results = {}
    for path, proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=path).stdout.strip()
        results[branch] = (git("rev-parse", "HEAD", cwd=path).stdout.strip(), err)
    return results


def journal_lines(central):
    lines = (central.state / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]   # every line parses: nobody wrote over anybody


def test_thirty_simultaneous_pushes_are_each_queued_once_in_one_order(tmp_path, central):
    results = push_all_at_once(clones_with_work(tmp_path, central, "a"))

    said = {}
    for branch, (_, err) in results.items():
        lines = QUEUED.findall(err)
        assert len(lines) == 1 and lines[0][0] == branch, err
        assert "internal error" not in err and "Traceback" not in err
        said[branch] = (lines[0][1], int(lines[0][2]))
    # ids and positions are handed out under one lock: m-000k is at position k
    assert sorted(said.values()) == [(f"m-{k:04d}", k) for k in range(1, PUSHES + 1)]

    entries = central.json("queue")["entries"]
    assert [(e["branch"], e["id"], e["position"]) for e in entries] == sorted(
        ((b, i, p) for b, (i, p) in said.items()), key=lambda row: row[2])
    queued = [e for e in journal_lines(central) if e["event"] == "queued"]
    assert [e["id"] for e in queued] == [f"m-{k:04d}" for k in range(1, PUSHES + 1)]
    assert {e["branch"]: e["sha"] for e in queued} == {b: tip for b, (tip, _) in results.items()}

    central.run_once()
    assert central.merge_ids() == [f"m-{k:04d}" for k in range(1, PUSHES + 1)]   # queue order
    assert_invariants(central, {b: tip for b, (tip, _) in results.items()})


def test_pushes_racing_autostarted_runners_all_land_exactly_once(tmp_path, central):
    """Every hook may start a runner; runners, hooks and the state lock interleave."""
    central.set_config("[runner]\nautostart = true\n")
    first = push_all_at_once(clones_with_work(tmp_path, central, "b"))
    second = push_all_at_once(clones_with_work(tmp_path, central, "c", n=10))
    pushed = {b: tip for b, (tip, _) in {**first, **second}.items()}
    assert all(len(QUEUED.findall(err)) == 1 for _, err in {**first, **second}.values())

    assert wait_until(lambda: len(central.merge_ids()) == len(pushed), timeout=120), central.merge_ids()
    assert wait_until(lambda: not central.json("status")["runner_active"], timeout=30)
    assert_invariants(central, pushed)
    events = journal_lines(central)
    assert sum(e["event"] == "queued" for e in events) == len(pushed)
    assert not any(e["event"] == "damaged" for e in events)
    # the runners' log holds merges, never a traceback
    log = (central.state / "logs" / "runner.log").read_text()
    assert "Traceback" not in log and log.count("Clean merge to main") == len(pushed)
    assert not (central.state / "logs" / "hooks.log").exists()
