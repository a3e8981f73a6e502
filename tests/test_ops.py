"""Operating the queue: pause and resume, rolling back one merge by its id."""



def land(central, worker, branch, files, message="work"):
    worker.work(branch, files, message)
    central.run_once()


def test_pause_holds_merges_while_pushes_keep_queueing(central, make_worker):
    apollo = make_worker("Apollo")
    out = central.mc("pause", "-m", "release freeze until 5pm", check=True).stdout
    assert "paused by" in out and "release freeze until 5pm" in out

    push = apollo.work("sprint/fast", {"fast.txt": "fast\n"}, push=False)
    assert "queued sprint/fast as m-0001" in apollo.push().stderr
    run = central.run_once().stdout
    assert "paused" in run
    assert central.merge_ids() == []                       # nothing merged
    assert [e["branch"] for e in central.json("queue")["entries"]] == ["sprint/fast"]

    status = central.json("status")
    assert status["paused"] is True
    assert status["pause"]["reason"] == "release freeze until 5pm"
    assert status["pending_merges"] == 1
    text = central.mc("status", check=True).stdout
    assert "PAUSED" in text and "release freeze until 5pm" in text

    assert "resumed (1 entry waiting)" in central.mc("resume", check=True).stdout
    central.run_once()
    assert central.merge_ids() == ["m-0001"]
    assert central.rev("main^2") == push
    assert central.json("status")["paused"] is False
    assert "was not paused" in central.mc("resume", check=True).stdout


def test_rollback_in_the_middle_of_history_keeps_later_merges(central, make_worker):
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    land(central, apollo, "sprint/a", {"a.txt": "a\n"})
    land(central, athena, "sprint/b", {"b.txt": "b\n", "README.md": "# project\n\nwith b\n"})
    land(central, apollo, "sprint/c", {"c.txt": "c\n"})
    before = central.rev("main")
    b_merge = central.rev("main~1")

    out = central.mc("rollback", "m-0002", check=True).stdout
    assert "queued the rollback of m-0002 as m-0004" in out
    central.run_once()

    # a single-parent revert commit on top of the old main, with the trailers
    assert central.git("rev-list", "--parents", "-n1", "main").stdout.split()[1:] == [before]
    trailers = central.git("log", "-1", "--format=%(trailers:only,unfold)", "main").stdout
    assert "Merge-Id: m-0004" in trailers and "Resolved-By: clean" in trailers
    assert "Reverts: m-0002" in trailers
    assert b_merge in central.git("log", "-1", "--format=%B", "main").stdout
    # exactly m-0002's changes are gone; earlier and later merges stay
    files = central.git("ls-tree", "--name-only", "main").stdout.split()
    assert sorted(files) == ["README.md", "a.txt", "c.txt"]
    assert central.show("main:README.md") == "# project\n"
    assert central.git("diff", "main", f"{b_merge}^1", "--", "README.md", "b.txt").stdout == ""

    log = {m["id"]: m for m in central.json("log")["merges"]}
    assert log["m-0004"]["status"] == "merged" and log["m-0004"]["branch"] == "rollback/m-0002"
    assert central.json("status")["counts"]["rollbacks"] == 1

    # rolling back the same merge again: nothing left to undo
    again = central.mc("rollback", "m-0002")
    assert again.returncode == 1 and "no longer on main" in again.stderr


def test_rollback_that_conflicts_with_later_work_is_refused_naming_it(central, make_worker):
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    land(central, apollo, "sprint/one", {"x.py": "VALUE = 1\n"})
    land(central, athena, "sprint/two", {"x.py": "VALUE = 2\n"})
    main = central.rev("main")

    proc = central.mc("rollback", "m-0001")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "cannot roll back m-0001" in proc.stderr and "m-0002 (sprint/two)" in proc.stderr
    assert central.json("queue")["entries"] == []
    assert central.rev("main") == main

    # rolling back the later one first is fine
    central.mc("rollback", "m-0002", check=True)
    central.run_once()
    assert central.show("main:x.py") == "VALUE = 1\n"


def test_rollback_refused_at_run_time_when_later_work_landed_first(central, make_worker):
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    land(central, apollo, "sprint/one", {"x.py": "VALUE = 1\n"})
    central.mc("pause", check=True)
    athena.work("sprint/two", {"x.py": "VALUE = 2\n"})          # m-0002, queued first
    central.mc("rollback", "m-0001", check=True)                # m-0003: fine on today's main
    central.mc("resume", check=True)
    run = central.run_once().stdout
    assert "cannot roll back m-0001: m-0002 (sprint/two)" in run
    log = {m["id"]: m for m in central.json("log")["merges"]}
    assert log["m-0002"]["status"] == "merged"
    assert log["m-0003"]["status"] == "failed" and "m-0002" in log["m-0003"]["detail"]
    assert central.show("main:x.py") == "VALUE = 2\n"
    assert central.merge_ids() == ["m-0001", "m-0002"]


def test_rollback_bad_input_is_one_line(central, make_worker):
    for args, code, needle in ((["rollback", "7"], 2, "not a merge id"),
                               (["rollback", "m-0042"], 1, "unknown merge id m-0042")):
        proc = central.mc(*args)
        assert proc.returncode == code, proc.stderr
        assert needle in proc.stderr and "Traceback" not in proc.stderr
    apollo = make_worker("Apollo")
    apollo.work("sprint/x", {"x.txt": "x\n"})
    proc = central.mc("rollback", "m-0001")
    assert proc.returncode == 1 and "m-0001 is queued, not merged" in proc.stderr
