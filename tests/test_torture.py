"""Crash torture: runners SIGKILLed at random (seeded) instants across a few hundred merges.

While a worker keeps pushing batches of READY branches, `mergecoord start --once`
runners are started and killed after a random delay, again and again, until the
queue is drained. Afterwards every READY branch is on main exactly once, no
Merge-Id is duplicated, the journal says merged for each, the queue is empty and
no lock is left stale.

CI runs a bounded version (~200 merges); for a longer one:
    MERGECOORD_TORTURE_MERGES=2000 MERGECOORD_TORTURE_SEED=$RANDOM pytest tests/test_torture.py
"""

import json
import os
import random
import threading
import time

from reliability_checks import TREE_ID_SH, RunnerKiller, assert_invariants, push_branches

MERGES = int(os.environ.get("MERGECOORD_TORTURE_MERGES", "200"))
SEED = int(os.environ.get("MERGECOORD_TORTURE_SEED", "20240607"))
BATCH = 25


def queued(central):
    try:
        return json.loads((central.state / "queue.json").read_text())["entries"]
    except FileNotFoundError:
        return []


def push_while_killing(central, worker, branches, seed, window=0.1):
    """Push `branches` in batches (a seeded pause between them) while runners are started
    and SIGKILLed, half at a random instant and half just after they start work, until
    every push is in and the queue is drained. (branch -> tip, the RunnerKiller, seconds)."""
    rng = random.Random(seed)
    ready, pushed, failures = {}, threading.Event(), []

    def pusher():
        try:
            for start in range(0, len(branches), BATCH):
                ready.update(push_branches(worker, branches[start:start + BATCH]))
                time.sleep(rng.uniform(0, 0.5))
        except BaseException as e:  # reported by the main thread
            failures.append(e)
        finally:
            pushed.set()

    killer = RunnerKiller(central, random.Random(seed + 1))
    choose = random.Random(seed + 4)
    thread = threading.Thread(target=pusher)
    thread.start()
    started = time.monotonic()
    try:
        while not (pushed.is_set() and not queued(central)):
            if not queued(central):     # a runner started now would only find nothing to do
                time.sleep(0.02)
                continue
            killer.round() if choose.random() < 0.5 else killer.round_in_flight(window)
            assert time.monotonic() - started < 600, "the queue never drained"
    finally:
        thread.join()
        killer.close()
    assert not failures, failures
    return ready, killer, time.monotonic() - started


def test_runners_killed_at_random_points_lose_nothing_and_merge_nothing_twice(central, make_worker):
    worker = make_worker("Apollo")
    branches = [f"sprint/t{i:04d}" for i in range(MERGES)]
    ready, killer, took = push_while_killing(central, worker, branches, SEED)
    print(f"seed {SEED}: {MERGES} merges, {killer.kills} runners killed, "
          f"{killer.completed} finished, {took:.1f}s")
    assert killer.kills >= 10, "the torture killed too few runners to mean anything"
    assert len(ready) == MERGES
    # the last runner may have died after the queue emptied (publishing, say): one
    # restart, as after any crash, and then nothing is left to do or to clean
    central.run_once()
    assert_invariants(central, ready)
    assert "Processing" not in central.run_once().stdout


CONSENSUS_MERGES = int(os.environ.get("MERGECOORD_TORTURE_CONSENSUS", "40"))


def test_runners_killed_during_panel_resolutions_merge_each_branch_once(central, make_worker):
    """Every branch adds its own method at the end of one class: each merge after the
    first conflicts and is settled by the panel (transcript, learning, trailers), so
    the kills land inside the conflict path too."""
    from test_conflicts_e2e import BASE

    path = "engram/vector_storage.py"
    casey = make_worker("Casey")
    casey.work("sprint/base", {path: BASE})
    central.run_once()
    worker = make_worker("Apollo")
    ready, pushed, failures = {}, threading.Event(), []
    rng = random.Random(SEED + 3)

    def pusher():
        try:
            for start in range(0, CONSENSUS_MERGES, 8):
                worker.git("fetch", "-q", "origin")
                batch = []
                for i in range(start, min(start + 8, CONSENSUS_MERGES)):
                    branch = f"sprint/m{i:02d}"
                    worker.git("checkout", "-q", "-B", branch, "origin/sprint/base")
                    method = f"\n    def method_{i}(self):\n        return {i}\n"
                    ready[branch] = worker.commit(f"method {i}", {path: BASE + method})
                    batch.append(branch)
                worker.git("push", "-q", "origin", *[f"{b}:{b}" for b in batch])
                time.sleep(rng.uniform(0, 0.5))
        except BaseException as e:
            failures.append(e)
        finally:
            pushed.set()

    killer = RunnerKiller(central, random.Random(SEED + 2))
    thread = threading.Thread(target=pusher)
    thread.start()
    started = time.monotonic()
    try:
        while not (pushed.is_set() and not queued(central)):
            killer.round_in_flight()
            assert time.monotonic() - started < 300, "the queue never drained"
    finally:
        thread.join()
        killer.close()
    assert not failures, failures
    print(f"seed {SEED}: {CONSENSUS_MERGES} panel merges, {killer.kills} runners killed")
    assert killer.kills >= 5
    ready["sprint/base"] = central.rev("main~%d^2" % CONSENSUS_MERGES)
    central.run_once()                       # the restart after the last kill
    assert_invariants(central, ready)
    merged = central.show(f"main:{path}")
    assert all(f"def method_{i}(self)" in merged for i in range(CONSENSUS_MERGES))
    compile(merged, path, "exec")
    how = {m["resolved_by"] for m in central.json("log")["merges"]}
    assert "consensus" in how, how


SPECULATIVE_MERGES = int(os.environ.get("MERGECOORD_TORTURE_SPECULATIVE", "60"))

VERIFY = "#!/bin/sh\n" + TREE_ID_SH + """sleep 0.1
if ls work 2>/dev/null | grep -q bad; then exit 1; fi
echo "$tree" >> '{passed}'
"""


def test_runners_killed_mid_speculation_land_only_verified_trees_once(tmp_path, central, make_worker):
    """`verify.parallel = 4` with a verify command that fails the planted bad branches:
    runners killed at random instants (while four candidates verify, between a landing
    and its record, ...) lose nothing and merge nothing twice, every tree main ever held
    since is one the verify command passed, and no bad branch lands."""
    passed = tmp_path / "passed.log"
    script = tmp_path / "verify.sh"
    script.write_text(VERIFY.format(passed=passed))
    script.chmod(0o755)
    text = (central.state / "config.toml").read_text()
    central.set_config(text.replace("[verify]\n", f'[verify]\ncommand = "{script}"\nparallel = 4\n', 1))
    start = central.rev("main")
    worker = make_worker("Apollo")
    names = [f"sprint/{'bad' if i % 13 == 5 else 's'}{i:03d}" for i in range(SPECULATIVE_MERGES)]
    tips, killer, took = push_while_killing(central, worker, names, SEED + 5, window=0.5)
    print(f"seed {SEED}: {len(names)} speculative merges, {killer.kills} runners killed, "
          f"{killer.completed} finished, {took:.1f}s")
    assert killer.kills >= 5
    central.run_once()
    good = {b: sha for b, sha in tips.items() if "/bad" not in b}
    assert_invariants(central, good)
    log = {m["branch"]: m for m in central.json("log")["merges"]}
    for branch in set(tips) - set(good):
        assert log[branch]["status"] == "failed", log[branch]
        assert central.git("merge-base", "--is-ancestor", tips[branch], "main", check=False).returncode == 1
    verified = set(passed.read_text().split())
    held = central.git("log", "--first-parent", "--format=%T", f"{start}..main").stdout.split()
    assert held and not set(held) - verified, "main held a tree no verify run passed"
