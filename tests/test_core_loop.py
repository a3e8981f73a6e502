"""The core loop over real pushes: push -> queue -> runner -> main."""

import subprocess
import sys
import time



def seed_workers(make_worker):
    return make_worker("Apollo"), make_worker("Athena"), make_worker("Numa")


def test_seed_branches_touching_different_files_land_in_queue_order(central, make_worker):
    apollo, athena, numa = seed_workers(make_worker)
    apollo.work("sprint/optimize-vector-search", {"engram/vector.py": "def search(): pass\n"},
                "Optimized vector search with parallel processing")
    athena.work("sprint/optimize-memory-storage", {"engram/storage.py": "def store(): pass\n"},
                "Optimized memory storage with batch operations")
    push = numa.work("sprint/optimize-api-performance", {"engram/api.py": "def serve(): pass\n"},
                     "Optimized API with streaming responses", push=False)
    out = numa.push()
    assert "mergecoord: queued sprint/optimize-api-performance as m-0003 (position 3)" in out.stderr

    queued = central.json("queue")["entries"]
    assert [e["branch"] for e in queued] == ["sprint/optimize-vector-search",
                                             "sprint/optimize-memory-storage",
                                             "sprint/optimize-api-performance"]
    assert [e["worker"] for e in queued] == ["Apollo", "Athena", "Numa"]

    central.run_once()

    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003"]
    for path in ("engram/vector.py", "engram/storage.py", "engram/api.py", "README.md"):
        assert central.show(f"main:{path}")
    assert central.trailers("main") == {"Merge-Id": "m-0003", "Worker": "Numa", "Resolved-By": "clean"}
    # every merge is a merge commit whose first parent is the old main and second the pushed tip
    assert central.rev("main^2") == push
    assert central.json("queue")["entries"] == []
    log = central.json("log")["merges"]
    assert [(m["id"], m["status"], m["resolved_by"]) for m in log] == [
        ("m-0001", "merged", "clean"), ("m-0002", "merged", "clean"), ("m-0003", "merged", "clean")]
    assert central.json("status")["counts"]["merged"] == 3


def test_push_is_merged_by_the_autostarted_runner(central, make_worker):
    central.set_config("[runner]\nautostart = true\n")
    worker = make_worker("Apollo")
    tip = worker.work("sprint/fast", {"fast.txt": "fast\n"})
    assert central.wait_for(lambda: central.merge_ids() == ["m-0001"])
    assert central.rev("main^2") == tip
    assert central.wait_for(lambda: not central.json("status")["runner_active"])


def test_re_push_replaces_the_entry_latest_tip_wins(central, make_worker):
    worker = make_worker("Apollo")
    first = worker.work("sprint/x", {"x.txt": "one\n"})
    worker.commit("second try", {"x.txt": "two\n"})
    out = worker.push()
    assert "mergecoord: re-queued sprint/x as m-0001 (position 1)" in out.stderr
    entries = central.json("queue")["entries"]
    assert len(entries) == 1 and entries[0]["sha"] != first
    central.run_once()
    assert central.show("main:x.txt") == "two\n"
    assert central.merge_ids() == ["m-0001"]


def test_marker_forms_and_what_is_ignored(central, make_worker):
    worker = make_worker("Apollo")
    worker.work("sprint/own-line", {"a.txt": "a\n"}, "done\n\nREADY_TO_MERGE", ready=False)
    worker.work("sprint/prefix", {"b.txt": "b\n"}, "READY_TO_MERGE: done", ready=False)
    worker.work("sprint/suffix", {"c.txt": "c\n"}, "Feature complete READY_TO_MERGE", ready=False)
    worker.work("sprint/no-marker", {"d.txt": "d\n"}, "still working", ready=False)
    worker.work("sprint/lookalike", {"e.txt": "e\n"}, "NOT_READY_TO_MERGE yet", ready=False)
    worker.work("feature/elsewhere", {"f.txt": "f\n"}, "READY_TO_MERGE", push=False, ready=False)
    out = worker.push()
    # a marked branch outside queue.branches is told why nothing happened, once
    assert ("mergecoord: feature/elsewhere says READY_TO_MERGE but only branches matching "
            "queue.branches (sprint/*) are queued: not queued") in out.stderr
    worker.work("feature/unmarked", {"g.txt": "g\n"}, "wip", push=False, ready=False)
    assert "mergecoord:" not in worker.push().stderr
    branches = [e["branch"] for e in central.json("queue")["entries"]]
    assert branches == ["sprint/own-line", "sprint/prefix", "sprint/suffix"]
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003"]
    assert central.git("cat-file", "-e", "main:d.txt", check=False).returncode != 0


def test_deleting_the_branch_or_dropping_the_marker_withdraws_it(central, make_worker):
    worker = make_worker("Apollo")
    worker.work("sprint/gone", {"gone.txt": "x\n"})
    worker.work("sprint/unready", {"unready.txt": "x\n"})
    out = worker.push("--delete", "sprint/gone")
    assert "withdrew sprint/gone (m-0001): branch deleted" in out.stderr
    worker.git("checkout", "-q", "sprint/unready")
    worker.commit("not yet after all", {"unready.txt": "y\n"}, ready=False)
    out = worker.push()
    assert "withdrew sprint/unready (m-0002)" in out.stderr
    assert central.json("queue")["entries"] == []
    central.run_once()
    assert central.merge_ids() == []
    statuses = {m["id"]: m["status"] for m in central.json("log")["merges"]}
    assert statuses == {"m-0001": "withdrawn", "m-0002": "withdrawn"}


def test_direct_push_to_main_during_a_merge_is_merged_again_never_lost(central, make_worker):
    from mergecoord import config as config_mod
    from mergecoord.central import locate
    from mergecoord.server.runner import Runner
    from mergecoord.state import queue

    worker, human = make_worker("Apollo"), make_worker("Casey")
    tip = worker.work("sprint/x", {"x.txt": "x\n"})
    repo = locate(central.path)
    runner = Runner(repo, config_mod.load(repo), echo=lambda line: None)
    entry = queue.claim(repo)
    old_main = runner.main_sha()
    candidate = runner.prepare(entry, old_main)
    assert candidate.status == "ready"

    human.git("checkout", "-q", "main")
    human.commit("hotfix straight to main", {"hotfix.txt": "urgent\n"}, ready=False)
    human.push("HEAD:main")
    hotfix = central.rev("main")

    # the merge computed on the old main must not land: main is no longer old_main
    assert runner.land(entry, old_main, candidate) is None
    assert central.rev("main") == hotfix
    outcome = runner.merge_entry(entry)
    assert outcome.status == "merged"
    assert central.rev("main^1") == hotfix and central.rev("main^2") == tip
    assert central.show("main:hotfix.txt") == "urgent\n" and central.show("main:x.txt") == "x\n"
    assert central.merge_ids() == ["m-0001"]


def test_two_runners_started_at_once_never_both_merge(central, make_worker):
    worker = make_worker("Apollo")
    for i in range(5):
        worker.work(f"sprint/b{i}", {f"b{i}.txt": f"{i}\n"})
    cmd = [sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert central.merge_ids() == [f"m-000{i}" for i in range(1, 6)]
    merged_lines = sum(out.count("Clean merge to main") for out, _ in outputs)
    assert merged_lines == 5
    assert len(central.git("rev-list", "--merges", "main").stdout.split()) == 5


def test_a_branch_already_in_main_is_not_merged_again(central, make_worker):
    worker = make_worker("Apollo")
    worker.work("sprint/x", {"x.txt": "x\n"})
    central.run_once()
    worker.push("HEAD:refs/heads/sprint/again")   # same tip, branch name matching the pattern
    central.run_once()
    assert central.merge_ids() == ["m-0001"]
    assert central.json("log")["merges"][-1]["status"] == "up-to-date"


def test_a_runner_killed_after_moving_main_is_recovered_without_a_second_merge(central, make_worker):
    """Simulate the crash window: the runner journaled the merge commit it was landing and
    moved main to it, but the journal and queue still say 'merging'."""
    from mergecoord.central import locate
    from mergecoord.state import journal, queue

    worker = make_worker("Apollo")
    tip = worker.work("sprint/x", {"x.txt": "x\n"})
    repo = locate(central.path)
    entry = queue.claim(repo)
    tree = central.git("rev-parse", f"{tip}^{{tree}}").stdout.strip()
    merge = central.git("commit-tree", tree, "-p", "main", "-p", tip, "-m",
                        "Merge sprint/x\n\nMerge-Id: m-0001\nWorker: Apollo\nResolved-By: clean").stdout.strip()
    journal.record(repo, entry.id, "landing", landing=merge)
    central.git("update-ref", "refs/heads/main", merge)
    assert queue.get(repo, entry.id).status == "merging"

    out = central.run_once().stdout
    assert "Recovered sprint/x (m-0001)" in out
    assert central.merge_ids() == ["m-0001"]
    assert central.rev("main") == merge
    record = central.json("log")["merges"][0]
    assert record["status"] == "merged" and record["resolved_by"] == "clean" and record["commit"] == merge


def test_ready_branches_from_before_mergecoord_was_set_up_are_not_adopted(tmp_path):
    """An old branch that happens to say READY_TO_MERGE was never pushed to mergecoord:
    setting mergecoord up must not merge it behind everyone's back."""
    import os

    from conftest import git, mergecoord

    repo, work = tmp_path / "old.git", tmp_path / "work"
    git("init", "-q", "--bare", str(repo))
    git("clone", "-q", str(repo), str(work))
    (work / "a.txt").write_text("a\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "initial", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    git("checkout", "-qb", "sprint/old", cwd=work)
    (work / "old.txt").write_text("old\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "old work\n\nREADY_TO_MERGE", cwd=work)
    git("push", "-q", "origin", "sprint/old", cwd=work)
    old = time.time() - 3600
    os.utime(repo / "refs" / "heads" / "sprint" / "old", (old, old))   # pushed an hour ago

    mergecoord("init", repo, check=True)
    out = mergecoord("start", "--once", repo=repo, check=True).stdout
    assert "never queued" not in out
    assert git("--git-dir", str(repo), "rev-list", "--merges", "main").stdout == ""
