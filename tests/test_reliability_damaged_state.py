"""Damaged state: garbage or truncated queue, journal and id files, a missing state dir.

Each is reported in one clear line, the rest keeps working, and nothing is
silently dropped: a damaged queue is rebuilt from the journal."""

import json
import shutil

from test_init_and_errors import assert_one_line_error


def queue_three(worker):
    return {b: worker.work(b, {f"{b.split('/')[1]}.txt": b + "\n"}) for b in ("sprint/a", "sprint/b", "sprint/c")}


def test_a_garbage_queue_is_set_aside_and_rebuilt_from_the_journal(central, make_worker):
    worker = make_worker("Apollo")
    tips = queue_three(worker)
    worker.push("--delete", "sprint/b")                     # withdrawn: must stay withdrawn
    (central.state / "queue.json").write_bytes(b"\x00\xffnot json at all{{{")

    tips["sprint/d"] = worker.work("sprint/d", {"d.txt": "d\n"}, push=False)
    out = worker.push()
    assert "queue.json was damaged" in out.stderr and "rebuilt from the journal (2 entries)" in out.stderr
    assert "queued sprint/d as m-0004 (position 3)" in out.stderr

    entries = central.json("queue")["entries"]
    assert [(e["id"], e["branch"], e["sha"]) for e in entries] == [
        ("m-0001", "sprint/a", tips["sprint/a"]), ("m-0003", "sprint/c", tips["sprint/c"]),
        ("m-0004", "sprint/d", tips["sprint/d"])]
    aside = [p.name for p in central.state.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and (central.state / aside[0]).read_bytes().startswith(b"\x00\xff")

    status = central.mc("status", check=True).stdout
    assert f"warning: queue.json was damaged; it was set aside as {aside[0]}" in status
    assert central.json("status")["warnings"] == [
        f"queue.json was damaged; it was set aside as {aside[0]} and rebuilt from the journal "
        "(delete it once looked at)"]

    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0003", "m-0004"]
    (central.state / aside[0]).unlink()
    assert central.json("status")["warnings"] == []


def test_a_queue_truncated_mid_write_loses_nothing(central, make_worker):
    worker = make_worker("Apollo")
    tips = queue_three(worker)
    path = central.state / "queue.json"
    path.write_bytes(path.read_bytes()[:57])

    proc = central.run_once()
    assert "queue.json was damaged (JSONDecodeError)" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003"]
    assert [central.rev(f"main~{n}^2") for n in (2, 1, 0)] == list(tips.values())


def test_an_entry_that_was_merging_when_the_queue_broke_is_not_merged_twice(central, make_worker):
    """The rebuilt entry keeps its 'merging' status, so recovery looks for it on main first."""
    from mergecoord.central import locate
    from mergecoord.state import journal, queue

    worker = make_worker("Apollo")
    tip = worker.work("sprint/x", {"x.txt": "x\n"})
    repo = locate(central.path)
    entry = queue.claim(repo)
    journal.record(repo, entry.id, "started", sha=entry.sha)
    tree = central.git("rev-parse", f"{tip}^{{tree}}").stdout.strip()
    merge = central.git("commit-tree", tree, "-p", "main", "-p", tip, "-m",
                        "Merge sprint/x\n\nMerge-Id: m-0001\nWorker: Apollo\nResolved-By: clean").stdout.strip()
    journal.record(repo, entry.id, "landing", landing=merge)   # as the runner does before moving main
    central.git("update-ref", "refs/heads/main", merge)
    (central.state / "queue.json").write_text("[")          # and then the queue broke

    assert "Recovered sprint/x (m-0001)" in central.run_once().stdout
    assert central.merge_ids() == ["m-0001"] and central.rev("main") == merge
    assert central.json("log")["merges"][0]["status"] == "merged"


def test_damaged_journal_lines_are_skipped_and_reported_never_fatal(central, make_worker):
    worker = make_worker("Apollo")
    worker.work("sprint/a", {"a.txt": "a\n"})
    journal = central.state / "journal.jsonl"
    with journal.open("ab") as f:
        f.write(b"\xde\xad garbage that is not json\n")
        f.write(b'{"id": "m-0001", "event": "star')          # a write cut short: no newline
    worker.work("sprint/b", {"b.txt": "b\n"})                # the next event must not be glued to it

    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002"]
    log = central.json("log")["merges"]
    assert [(m["id"], m["branch"], m["status"]) for m in log] == [
        ("m-0001", "sprint/a", "merged"), ("m-0002", "sprint/b", "merged")]
    warnings = central.json("status")["warnings"]
    assert warnings == ["journal.jsonl: 2 damaged line(s) skipped (line 2, 3)"]
    assert "warning: journal.jsonl: 2 damaged line(s)" in central.mc("status", check=True).stdout
    # only the damaged lines are lost: every line after them parses
    lines = journal.read_bytes().splitlines()
    assert all(json.loads(line) for line in lines[3:])


def test_a_damaged_id_file_never_hands_out_an_id_twice(central, make_worker):
    worker = make_worker("Apollo")
    queue_three(worker)
    central.run_once()
    (central.state / "ids.json").write_text('{"m": "three"')
    out = worker.work("sprint/d", {"d.txt": "d\n"}, push=False) and worker.push()
    assert "ids.json was damaged" in out.stderr and "queued sprint/d as m-0004" in out.stderr
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003", "m-0004"]
    assert any("ids.json was damaged" in w for w in central.json("status")["warnings"])


def test_a_missing_state_dir_is_one_line_naming_init_and_pushes_still_work(central, make_worker):
    worker = make_worker("Apollo")
    shutil.rmtree(central.state)
    for command in (("status",), ("queue",), ("start", "--once"), ("log", "--json")):
        assert_one_line_error(central.mc(*command), 1, "mergecoord init")
    tip = worker.work("sprint/x", {"x.txt": "x\n"}, push=False)
    proc = worker.push()
    assert proc.returncode == 0 and central.rev("sprint/x") == tip
    lines = [line for line in proc.stderr.splitlines() if "mergecoord" in line]
    assert len(lines) == 1 and "mergecoord init" in lines[0] and "push accepted" in lines[0]


def test_a_missing_logs_dir_does_not_stop_the_autostarted_runner(central, make_worker):
    central.set_config("[runner]\nautostart = true\n")
    shutil.rmtree(central.state / "logs")
    worker = make_worker("Apollo")
    out = worker.work("sprint/x", {"x.txt": "x\n"}, push=False) and worker.push()
    assert "internal error" not in out.stderr
    assert central.wait_for(lambda: central.merge_ids() == ["m-0001"])
