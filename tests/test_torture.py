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

from reliability_checks import RunnerKiller, assert_invariants, push_branches

MERGES = int(os.environ.get("MERGECOORD_TORTURE_MERGES", "200"))
SEED = int(os.environ.get("MERGECOORD_TORTURE_SEED", "20240607"))
BATCH = 25


def queued(central):
    try:
        return json.loads((central.state / "queue.json").read_text())["entries"]
    except FileNotFoundError:
        return []


def test_runners_killed_at_random_points_lose_nothing_and_merge_nothing_twice(central, make_worker):
    rng = random.Random(SEED)
    worker = make_worker("Apollo")
    branches = [f"sprint/t{i:04d}" for i in range(MERGES)]
    ready, pushed = {}, threading.Event()
    failures = []

    def pusher():
        try:
            for start in range(0, MERGES, BATCH):
                ready.update(push_branches(worker, branches[start:start + BATCH]))
                time.sleep(rng.uniform(0, 0.5))
        except BaseException as e:  # reported by the main thread
            failures.append(e)
        finally:
            pushed.set()

    killer = RunnerKiller(central, random.Random(SEED + 1))
    thread = threading.Thread(target=pusher)
    thread.start()
    started = time.monotonic()
    try:
        while not (pushed.is_set() and not queued(central)):
            killer.round()
            assert time.monotonic() - started < 600, "the queue never drained"
    finally:
        thread.join()
        killer.close()
    assert not failures, failures
    print(f"seed {SEED}: {MERGES} merges, {killer.kills} runners killed, "
          f"{killer.completed} finished, {time.monotonic() - started:.1f}s")
    assert killer.kills >= 10, "the torture killed too few runners to mean anything"
    assert len(ready) == MERGES
    assert_invariants(central, ready)
    # a fresh runner has nothing left to do, and a person can still push to main
    out = central.run_once().stdout
    assert "Processing" not in out
