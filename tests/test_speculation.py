"""Speculative verification (`verify.parallel`, `verify.batch`, `verify.retries`), through
real pushes and a real verify command.

The verify command (`checker`) writes the tree id of its checkout to a log with its
verdict, so every test can say which trees were verified, in which order the runs
overlapped, and that each tree main landed on is a tree that passed.
"""

import json
import subprocess
import sys

from reliability_checks import TREE_ID_SH, push_branches, wait_until

CHECKER = "#!/bin/sh\n" + TREE_ID_SH + """echo "start $tree" >> '{log}'
echo "$MERGECOORD_MERGE_ID $tree $MERGECOORD_TREE $MERGECOORD_BASE $MERGECOORD_COMMIT" >> '{log}.identity'
sleep {sleep}
if ls work | grep -q bad; then echo "fail $tree" >> '{log}'; exit 1; fi
echo "pass $tree" >> '{log}'
"""


def checker(tmp_path, sleep=0.5):
    log = tmp_path / "verify.log"
    script = tmp_path / "checker.sh"
    script.write_text(CHECKER.format(log=log, sleep=sleep))
    script.chmod(0o755)
    return script, log


def configure(central, command, **verify):
    text = (central.state / "config.toml").read_text()
    keys = "".join(f"{key} = {json.dumps(value)}\n" for key, value in verify.items())
    central.set_config(text.replace("[verify]\n", f"[verify]\ncommand = {json.dumps(str(command))}\n{keys}", 1))


def runs(log):
    """[(what, tree)] in the order the verify runs wrote them."""
    return [tuple(line.split()) for line in log.read_text().splitlines()] if log.exists() else []


def first_parent_trees(central, since):
    out = central.git("log", "--first-parent", "--format=%T", f"{since}..main").stdout
    return out.split()


def merged_branches(central):
    """Branch names of main's merges, oldest first (from the journal, by Merge-Id)."""
    log = {m["id"]: m for m in central.json("log")["merges"]}
    return [log[i]["branch"] for i in central.merge_ids()]


def assert_landed_trees_passed(central, log, since):
    """Every tree main passed through since `since` is one the verify command passed:
    nothing landed untested."""
    passed = {tree for what, tree in runs(log) if what == "pass"}
    assert central.rev("main^{tree}") in passed
    assert set(first_parent_trees(central, since)) <= passed


def speculate(tmp_path, central, make_worker, branches, sleep, **verify):
    """The checker (sleeping `sleep` s) as the verify command with the `verify` settings,
    `branches` pushed by a worker and drained by one runner: (the checker's log, main
    before, the branches' tips, the runner's output)."""
    script, log = checker(tmp_path, sleep=sleep)
    configure(central, script, **verify)
    worker = make_worker("Apollo")
    start = central.rev("main")
    tips = push_branches(worker, branches)
    return log, start, tips, central.run_once().stdout


def test_parallel_verifies_at_once_and_lands_in_queue_order(tmp_path, central, make_worker):
    branches = [f"sprint/p{i}" for i in range(6)]
    log, start, tips, out = speculate(tmp_path, central, make_worker, branches, 1.5, parallel=4)

    assert merged_branches(central) == branches                 # queue order
    for i, branch in enumerate(branches):                       # each tip is its merge's second parent
        assert central.rev(f"main~{5 - i}^2") == tips[branch]
    assert {f"work/{b.replace('/', '_')}.txt" for b in branches} <= set(
        central.git("ls-tree", "-r", "--name-only", "main").stdout.split())
    assert_landed_trees_passed(central, log, start)
    # four runs started before the first one ended: they ran at once
    events = [what for what, _ in runs(log)]
    assert events[:4] == ["start"] * 4, events
    assert len(events) == 12                                    # one run per entry, no re-runs
    # entry k was verified on entry k-1's candidate (MERGECOORD_BASE: the merge below it on
    # main), as the very commit that landed (MERGECOORD_COMMIT), in a checkout of its tree
    told = {}
    for line in (tmp_path / "verify.log.identity").read_text().splitlines():
        merge_id, checked, tree, base, commit = line.split()
        assert checked == tree
        told[merge_id] = (base, commit)
    ids = central.merge_ids()
    assert told[ids[0]] == (start, _commit_of(central, ids[0]))
    for below, above in zip(ids, ids[1:]):
        assert told[above] == (_commit_of(central, below), _commit_of(central, above))
    verifying = [e for e in _journal(central) if e["event"] == "verifying"]
    assert {e["id"]: e["why"]["base"] for e in verifying} == {i: base for i, (base, _) in told.items()}
    assert "verifying sprint/p3" in out


def test_a_failure_mid_chain_is_ejected_and_the_rest_land_without_it(tmp_path, central, make_worker):
    branches = ["sprint/a", "sprint/bad", "sprint/c", "sprint/d", "sprint/e"]
    log, start, _, _ = speculate(tmp_path, central, make_worker, branches, 1.0, parallel=4)

    assert merged_branches(central) == ["sprint/a", "sprint/c", "sprint/d", "sprint/e"]
    files = central.git("ls-tree", "-r", "--name-only", "main").stdout
    assert "bad" not in files
    merges = {m["branch"]: m for m in central.json("log")["merges"]}
    bad = merges["sprint/bad"]
    assert bad["status"] == "failed" and "verify command exited 1" in bad["detail"]
    # verified on the speculative base: sprint/a's candidate, which is what landed below it
    assert bad["reason"]["code"] == "verify-failed" and bad["reason"]["exit"] == 1
    assert bad["reason"]["base"] == merges["sprint/a"]["commit"] and bad["commit"] is None
    assert central.json("queue")["entries"] == []
    assert_landed_trees_passed(central, log, start)
    # c and d were verified on top of the bad one first, then again without it
    failed = [tree for what, tree in runs(log) if what == "fail"]
    assert len(failed) >= 2


def test_an_escalation_inside_the_chain_is_skipped_and_the_rest_lands(tmp_path, central, make_worker):
    script, log = checker(tmp_path, sleep=0.5)
    apollo, numa = make_worker("Apollo"), make_worker("Numa")
    apollo.work("sprint/setup", {"cfg.py": "LIMIT = 1\n"})
    central.run_once()
    configure(central, script, parallel=4)
    base = central.rev("main")
    apollo.work("sprint/limit-two", {"cfg.py": "LIMIT = 2\n"})            # m-0002
    numa.branch("sprint/limit-three", start=base)                      # m-0003: conflicts with m-0002
    numa.commit("limit three", {"cfg.py": "LIMIT = 3\n"})
    numa.push()
    apollo.work("sprint/docs", {"docs.txt": "docs\n"})                   # m-0004
    apollo.work("sprint/more", {"more.txt": "more\n"})                   # m-0005
    central.run_once()

    assert merged_branches(central) == ["sprint/setup", "sprint/limit-two", "sprint/docs", "sprint/more"]
    merges = {m["branch"]: m for m in central.json("log")["merges"]}
    assert merges["sprint/limit-three"]["status"] == "escalated"
    assert central.show("main:cfg.py") == "LIMIT = 2\n"
    decisions = central.json("decide", "list")["decisions"]
    assert [d["merge_id"] for d in decisions] == [merges["sprint/limit-three"]["id"]]
    # the human is asked once the entry before it landed: about what main really is
    assert decisions[0]["main"] in central.git("rev-list", "--first-parent", "main").stdout.split()
    assert central.json("queue")["entries"] == []


def test_a_branch_pushed_again_while_speculated_on_lands_at_its_new_tip(tmp_path, central, make_worker):
    script, log = checker(tmp_path, sleep=2.0)
    configure(central, script, parallel=4)
    worker = make_worker("Apollo")
    start = central.rev("main")
    branches = ["sprint/one", "sprint/two", "sprint/three"]
    old = push_branches(worker, branches)
    runner = run_in_background(central)
    try:
        assert wait_until(lambda: sum(1 for e in _journal(central) if e["event"] == "verifying") >= 3)
        worker.git("checkout", "-q", "sprint/two")
        new = worker.commit("two, again", {"work/two-again.txt": "again\n"})
        worker.push("sprint/two")
        out, _ = runner.communicate(timeout=120)
    finally:
        runner.kill()
    assert runner.returncode == 0, out
    assert merged_branches(central) == branches
    ids = {m["branch"]: m for m in central.json("log")["merges"]}
    two = ids["sprint/two"]
    assert two["sha"] == new and _second_parent(central, _commit_of(central, two["id"])) == new
    assert old["sprint/two"] != new
    assert central.show("main:work/two-again.txt") == "again\n"
    assert_landed_trees_passed(central, log, start)
    assert "pushed again" in out


def run_in_background(central):
    return subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_main_moved_by_someone_else_or_a_withdrawal_remerges_the_window(tmp_path, central, make_worker):
    script, log = checker(tmp_path, sleep=2.0)
    configure(central, script, parallel=4)
    worker, other = make_worker("Apollo"), make_worker("Casey")
    start = central.rev("main")
    push_branches(worker, ["sprint/w1", "sprint/w2", "sprint/w3", "sprint/w4"])
    runner = run_in_background(central)
    try:
        assert wait_until(lambda: sum(1 for e in _journal(central) if e["event"] == "verifying") >= 4)
        # what is being verified, on which base: each candidate on the one before it
        current = [c for c in central.json("status")["current"] if c["phase"] == "verifying"]
        queue = [e["reason"] for e in central.json("queue")["entries"]]
        assert len(current) >= 2 and all(r and r["code"] == "verifying" for r in queue), (current, queue)
        assert [r["base"] for r in queue[1:]] == [r["commit"] for r in queue[:-1]]
        other.git("pull", "-q", "origin", "main")
        other.commit("a direct push to main", {"direct.txt": "direct\n"}, ready=False)
        other.push("HEAD:main")                                  # main moves under the window
        worker.git("checkout", "-q", "sprint/w3")
        worker.commit("not ready after all", ready=False)
        worker.push("sprint/w3")                                 # withdraws w3
        out, _ = runner.communicate(timeout=120)
    finally:
        runner.kill()
    assert runner.returncode == 0, out
    assert merged_branches(central) == ["sprint/w1", "sprint/w2", "sprint/w4"]
    assert central.show("main:direct.txt") == "direct\n"
    merges = {m["branch"]: m for m in central.json("log")["merges"]}
    assert merges["sprint/w3"]["status"] == "withdrawn"
    direct = central.rev("main~3")
    assert central.show(f"{direct}:direct.txt") == "direct\n"          # all three landed on top of it
    assert_landed_trees_passed(central, log, direct)
    assert "main moved" in out


def test_batch_lands_a_passing_batch_at_once_and_bisects_a_culprit(tmp_path, central, make_worker):
    script, log = checker(tmp_path, sleep=0.3)
    configure(central, script, batch=4)
    worker = make_worker("Apollo")
    start = central.rev("main")
    push_branches(worker, ["sprint/b1", "sprint/b2", "sprint/b3", "sprint/b4"])
    central.run_once()
    # one run for four merges: the intermediate merges were never verified alone
    assert [what for what, _ in runs(log)] == ["start", "pass"]
    assert merged_branches(central) == ["sprint/b1", "sprint/b2", "sprint/b3", "sprint/b4"]
    trees = first_parent_trees(central, start)
    assert runs(log)[1][1] == trees[0] and not set(trees[1:]) & {t for _, t in runs(log)}

    log.unlink()
    start = central.rev("main")
    push_branches(worker, ["sprint/c1", "sprint/c2", "sprint/bad-c3", "sprint/c4"])
    central.run_once()
    assert merged_branches(central)[-3:] == ["sprint/c1", "sprint/c2", "sprint/c4"]
    merges = {m["branch"]: m for m in central.json("log")["merges"]}
    assert merges["sprint/bad-c3"]["status"] == "failed"
    verdicts = [what for what, _ in runs(log) if what != "start"]
    # the batch fails, its first half passes, the culprit fails alone, the rest passes
    assert verdicts == ["fail", "pass", "fail", "pass"], verdicts
    assert set(first_parent_trees(central, start)) & {t for w, t in runs(log) if w == "pass"}
    assert central.rev("main^{tree}") == runs(log)[-1][1]
    assert "bad" not in central.git("ls-tree", "-r", "--name-only", "main").stdout


def test_parallel_batches_verify_at_once_and_pin_a_culprit(tmp_path, central, make_worker):
    branches = ["sprint/q1", "sprint/q2", "sprint/q3", "sprint/bad-q4", "sprint/q5", "sprint/q6"]
    log, _, _, _ = speculate(tmp_path, central, make_worker, branches, 1.0, parallel=2, batch=2)
    assert merged_branches(central) == [b for b in branches if "bad" not in b]
    assert {m["branch"]: m["status"] for m in central.json("log")["merges"]}["sprint/bad-q4"] == "failed"
    assert [what for what, _ in runs(log)][:2] == ["start", "start"]     # two batches at once
    assert central.rev("main^{tree}") in {t for w, t in runs(log) if w == "pass"}
    assert "bad" not in central.git("ls-tree", "-r", "--name-only", "main").stdout


# fails the first run on every tree, passes the next; {always} always fails
FLAKY = "#!/bin/sh\n" + TREE_ID_SH + """echo "$tree" >> '{runs}'
if ls work | grep -q {always}; then echo "always broken"; exit 1; fi
if test -e '{seen}/'"$tree"; then exit 0; fi
touch '{seen}/'"$tree"; echo "flaky failure on $tree"; exit 3
"""


def flaky_checker(tmp_path):
    seen = tmp_path / "seen"
    seen.mkdir()
    script = tmp_path / "flaky.sh"
    script.write_text(FLAKY.format(runs=tmp_path / "runs.log", seen=seen, always="broken"))
    script.chmod(0o755)
    return script, tmp_path / "runs.log"


def test_retries_land_a_flaky_pass_and_record_it(tmp_path, central, make_worker):
    script, runs_log = flaky_checker(tmp_path)
    configure(central, script, retries=2)
    worker = make_worker("Apollo")
    push_branches(worker, ["sprint/flaky", "sprint/broken"])
    central.run_once()
    merges = {m["branch"]: m for m in central.json("log")["merges"]}
    flaky = merges["sprint/flaky"]
    assert flaky["status"] == "merged"
    reason = flaky["reason"]
    assert reason["code"] == "flaky" and reason["runs"] == 2 and reason["failures"][0]["exit"] == 3
    assert "flaky failure" in reason["failures"][0]["tail"] and reason["commit"] == flaky["commit"]
    assert merges["sprint/broken"]["status"] == "failed"
    assert merges["sprint/broken"]["reason"]["code"] == "verify-failed"
    trees = runs_log.read_text().split()
    assert len(trees) == 5                  # flaky: 2 runs; broken: 1 + 2 retries
    assert "broken" not in central.git("ls-tree", "-r", "--name-only", "main").stdout


def test_retries_with_parallel_land_every_flaky_branch(tmp_path, central, make_worker):
    script, runs_log = flaky_checker(tmp_path)
    configure(central, script, retries=1, parallel=3)
    worker = make_worker("Apollo")
    branches = ["sprint/f1", "sprint/f2", "sprint/f3"]
    push_branches(worker, branches)
    central.run_once()
    assert merged_branches(central) == branches
    merges = {m["branch"]: m for m in central.json("log")["merges"]}
    assert all(merges[b]["reason"]["code"] == "flaky" and merges[b]["reason"]["runs"] == 2 for b in branches)


def test_settings_are_checked(central):
    text = (central.state / "config.toml").read_text()
    for bad, words in ((("parallel = 0",), "verify.parallel must be at least 1"),
                       (("batch = 100",), "verify.batch must be at least 1 and at most 64"),
                       (("retries = -1",), "verify.retries must be at least 0"),
                       (("parallel = 2", 'user = "root"'), "cannot be combined with verify.user")):
        central.set_config(text.replace("[verify]\n", "[verify]\n" + "\n".join(bad) + "\n", 1))
        proc = central.mc("start", "--once")
        assert proc.returncode == 1 and words in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def _journal(central):
    path = central.state / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _commit_of(central, merge_id):
    return {m["id"]: m for m in central.json("log")["merges"]}[merge_id]["commit"]


def _second_parent(central, commit):
    return central.rev(f"{commit}^2")
