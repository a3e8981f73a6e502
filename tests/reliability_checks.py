"""What the reliability tests check after every ordeal: the invariants the README promises.

Shared by the torture, concurrency and fault tests; everything is read back the way
a user would (git on the bare repo, `mergecoord --json`, the lock files)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# For the tests' verify scripts: $tree, git's id of the tree checked out in the working
# directory, so a test can tell which trees were verified and compare them with main's.
TREE_ID_SH = """g=$(mktemp -d); git init -q --bare "$g"
GIT_DIR="$g" GIT_WORK_TREE="$PWD" git add -A; tree=$(GIT_DIR="$g" git write-tree); rm -rf "$g"
"""


CMD = [sys.executable, "-m", "mergecoord"]


def merges_on_main(central):
    """(merge commit, Merge-Id, second parent) for every merge on main's first-parent chain."""
    out = central.git("log", "--first-parent", "--format=%H %P%x00%(trailers:key=Merge-Id,valueonly)%x01",
                      "main").stdout
    rows = []
    for record in out.split("\x01"):
        if not record.strip():
            continue
        head, _, merge_id = record.strip().partition("\x00")
        shas = head.split()
        rows.append((shas[0], merge_id.strip(), shas[2] if len(shas) > 2 else ""))
    return rows


def assert_no_stale_lock(central):
    """A new runner gets every lock at once, and git can still move main."""
    from mergecoord.state.files import Lock

    for name in ("runner.lock", "state.lock"):
        probe = Lock(str(central.state / name), timeout=0)
        assert probe.acquire(blocking=False), f"{name} is still held"
        probe.release()
    stale = sorted(str(p.relative_to(central.path)) for p in (central.path / "refs").rglob("*.lock"))
    assert not stale, f"stale ref locks left behind: {stale}"


def assert_invariants(central, ready):
    """`ready`: branch -> the tip that carried the marker last. Every one of them is on
    main exactly once, under one Merge-Id, journaled as merged, and nothing is left over."""
    rows = [r for r in merges_on_main(central) if r[1]]
    ids = [merge_id for _, merge_id, _ in rows]
    assert len(ids) == len(set(ids)), f"duplicate Merge-Id on main: {sorted(i for i in ids if ids.count(i) > 1)}"
    by_tip = {}
    for commit, merge_id, tip in rows:
        by_tip.setdefault(tip, []).append(merge_id)
    log = {m["id"]: m for m in central.json("log")["merges"]}
    for branch, tip in ready.items():
        landed = by_tip.get(tip, [])
        assert len(landed) == 1, f"{branch} ({tip[:10]}) is on main {len(landed)} times: {landed}"
        record = log[landed[0]]
        assert record["branch"] == branch and record["status"] == "merged", record
    merged = {i for i, m in log.items() if m["status"] == "merged"}
    assert merged == set(ids), f"journal and main disagree: {sorted(merged ^ set(ids))}"
    assert len(ids) == len(ready)
    assert central.json("queue")["entries"] == []
    assert_no_stale_lock(central)


class RunnerKiller:
    """Starts `mergecoord start --once` runners and SIGKILLs them after seeded random delays."""

    def __init__(self, central, rng, min_delay=0.25, max_delay=0.6):
        self.central, self.rng = central, rng
        self.min_delay, self.max_delay = min_delay, max_delay
        self.kills = self.completed = 0
        self.slack = self.haste = 0.0
        self.log = open(central.state / "logs" / "torture-runners.log", "ab")

    def round(self):
        """One runner, killed after a random delay unless it finished first. On a machine
        so slow that runners keep dying before they merge anything, the delays grow
        (no new merge in the journal is the sign), so the torture always makes progress; on
        one so fast that runners finish first, they shrink, so the torture still kills."""
        before = self.merged()
        proc = subprocess.Popen(CMD + ["--repo", str(self.central.path), "start", "--once"],
                                stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        delay = self.rng.uniform(self.min_delay, self.max_delay) + self.slack - self.haste
        try:
            proc.wait(timeout=delay)
            self.completed += 1
            # a runner that drains the queue before its kill says the delays are too long
            # for this machine: shorten them (never below start-up), so most runners die
            self.haste = min(self.haste + 0.1, self.min_delay - 0.05)
            assert proc.returncode == 0, f"runner exited {proc.returncode} (see {self.log.name})"
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            self.kills += 1
            self.haste = max(0.0, self.haste - 0.05)
            self.slack = self.slack + 0.2 if self.merged() == before else max(0.0, self.slack - 0.05)

    def round_in_flight(self, window=0.1):
        """One runner, killed a random moment (within `window` s, plus the slack a slow
        machine earns) after it first writes the journal: the kill lands inside recovery
        or a merge, not in start-up. When kills keep landing before anything merges (a
        conflicted merge takes longer than the window on a loaded machine), the window
        grows, as in `round`, so the torture always makes progress."""
        journal = self.central.state / "journal.jsonl"

        def size():
            return journal.stat().st_size if journal.exists() else 0

        before, merged = size(), self.merged()
        proc = subprocess.Popen(CMD + ["--repo", str(self.central.path), "start", "--once"],
                                stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while proc.poll() is None and size() == before and time.monotonic() < deadline:
            time.sleep(0.002)
        if proc.poll() is None:
            time.sleep(self.rng.uniform(0, window + self.slack))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            self.kills += 1
            self.slack = self.slack + 0.05 if self.merged() == merged else max(0.0, self.slack - 0.05)
            return
        self.completed += 1
        assert proc.returncode == 0, f"runner exited {proc.returncode} (see {self.log.name})"

    def merged(self):
        try:
            return (self.central.state / "journal.jsonl").read_bytes().count(b'"event": "merged"')
        except FileNotFoundError:
            return 0

    def close(self):
        self.log.close()


def wait_until(predicate, timeout=30.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def push_branches(worker, branches, start="origin/main"):
    """Commit one small file per branch (each on top of `start`) and push them all in one
    `git push`: one hook run queues them in the order given. Returns branch -> tip."""
    worker.git("fetch", "-q", "origin")
    tips = {}
    for branch in branches:
        worker.git("checkout", "-q", "-B", branch, start)
        name = branch.replace("/", "_")
        worker.write(f"work/{name}.txt", f"{branch}\n")
        tips[branch] = worker.commit(f"work on {branch}")
    worker.git("push", "-q", "origin", *[f"{b}:{b}" for b in branches])
    return tips


def state_files(central):
    return sorted(Path(central.state).rglob("*"))
