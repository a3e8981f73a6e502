"""What landed is recorded as landed, and everything that follows it gets done: the
decision marked applied, the losing worker's task, the learning record, the state ref.
A runner stopped at any write after main moved, or a step that raises, leaves them to
the next run, which does them once."""

import subprocess
import tomllib

from decide_story import configure, escalate, merge_decide
from reliability_checks import merges_on_main
from test_reliability_faults import run_limited


def events_of(central, merge_id):
    return [step["event"] for step in central.json("show", merge_id)["history"]]


def tasks_of(central, decision_id):
    found = []
    for path in (central.state / "inbox").rglob("t-*.toml"):
        task = tomllib.loads(path.read_text())
        if task["decision"] == decision_id:
            found.append(task)
    return found


def test_a_runner_stopped_at_any_write_after_main_moved_finishes_the_decision(central, make_worker):
    configure(central)
    escalate(central, make_worker)
    assert merge_decide(central.path, "d-0001", "B", "-m", "batching wins").returncode == 0
    journal = central.state / "journal.jsonl"
    main_before = central.rev("main")
    # Writes stop at `room` bytes past the journal's size (EFBIG, as on a full disk), for
    # growing room: run after run, the runner is stopped at each of its writes in turn,
    # before main moves, between main moving and the journal saying so, and at each step
    # after (learning, task, decision, state ref). No run may claim what it did not do.
    stops = []
    for room in range(0, 2400, 40):
        proc = run_limited(central, journal.stat().st_size + room)
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stdout + proc.stderr, proc.stderr
        if proc.returncode == 0:
            break
        stops.append((room, central.rev("main") != main_before))
    assert any(moved for _room, moved in stops) and any(not moved for _room, moved in stops), stops
    central.run_once()

    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    landed = [row for row in merges_on_main(central) if row[1] == "m-0002"]
    assert len(landed) == 1 and doc["status"] == "applied" and doc["applied_commit"] == landed[0][0]
    assert [t["worker"] for t in tasks_of(central, "d-0001")] == ["Apollo"]       # the loser, once
    assert events_of(central, "m-0002").count("merged") == 1
    assert central.json("show", "m-0002")["resolved_by"] == "human"
    learned = [line for line in (central.state / "learning.jsonl").read_text().splitlines()
               if '"type": "resolved"' in line and '"merge_id": "m-0002"' in line]
    assert len(learned) == 1
    published = central.git("show", "refs/mergecoord/state:decisions/d-0001.toml").stdout
    assert 'status = "applied"' in published
    assert not any("retried" in w for w in central.json("status")["warnings"])


def test_a_step_after_the_landing_that_raises_never_makes_the_merge_failed(central, make_worker):
    worker = make_worker("Apollo")
    worker.work("sprint/a", {"a.txt": "a\n"})
    central.run_once()
    tip = worker.work("sprint/b", {"b.txt": "b\n"})
    refs = central.path / "refs" / "mergecoord"
    published = central.rev("refs/mergecoord/state")
    (refs / "state").unlink()
    refs.rmdir()
    refs.write_text("junk\n")               # the state ref cannot be written: publishing raises
    proc = central.run_once()
    record = central.json("show", "m-0002")
    assert record["status"] == "merged" and central.rev("main^2") == tip, record
    assert "follow-up-failed" in events_of(central, "m-0002")
    assert "is retried at the next run" in proc.stdout
    assert any("m-0002" in w and "retried" in w for w in central.json("status")["warnings"])

    refs.unlink()                            # mended: the next run publishes, nothing is merged again
    subprocess.run(["git", "--git-dir", str(central.path), "update-ref", "refs/mergecoord/state", published],
                   check=True)
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002"]
    assert events_of(central, "m-0002")[-1] == "followed-up"
    status = central.git("show", "refs/mergecoord/state:status.json").stdout
    assert '"merged": 2' in status
    assert central.json("status")["warnings"] == []
