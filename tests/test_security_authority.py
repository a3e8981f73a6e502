"""Who may steer the coordinator, and what a damaged or hostile answer can do: a
half-written decision file is reported and hides nothing else; answers pushed
under look-alike refs, oversized or binary are refused at push time; with
protect_main nobody but the coordinator moves main (not by force, not by deleting)."""

import tomllib

from conftest import git
from decide_story import configure, escalate, human_clone, merge_decide, mergecoord_lines, push_answer
from reliability_checks import RunnerKiller, assert_no_stale_lock


def decision(central):
    return central.state / "decisions" / "d-0001.toml"


def test_a_half_written_decision_file_is_reported_and_the_rest_keeps_working(tmp_path, central, make_worker):
    configure(central)
    apollo, athena, numa = escalate(central, make_worker)
    clone = human_clone(tmp_path, central)
    whole = decision(central).read_bytes()
    decision(central).write_bytes(whole[: len(whole) // 2])          # a write cut in half

    listed = merge_decide(central.path, "list")
    assert "Traceback" not in listed.stderr and "d-0001" in listed.stdout + listed.stderr
    proc = merge_decide(central.path, "d-0001", "B")
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1 and "d-0001" in lines[0], proc.stderr
    proc = push_answer(clone, "d-0001", 'choice = "B"\n')
    assert proc.returncode != 0 and len(mergecoord_lines(proc.stderr)) == 1
    assert "Traceback" not in proc.stderr

    status = central.mc("status")
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert "warning: decision file d-0001.toml is damaged" in status.stdout
    assert any("d-0001.toml is damaged" in w for w in central.json("status")["warnings"])
    numa.work("sprint/more-endpoints", {"engram/api/v1/extra.py": "X = 1\n"})
    central.run_once()
    assert central.merge_ids()[-1] == "m-0004"                         # the queue goes on
    git("fetch", "-q", "origin", "+refs/mergecoord/*:refs/mergecoord/*", cwd=clone)
    assert git("show", "refs/mergecoord/state:status.json", cwd=clone).stdout   # still published
    assert decision(central).read_bytes() == whole[: len(whole) // 2]    # never "repaired" by guessing


def test_answers_under_look_alike_refs_or_oversized_or_binary_are_refused(tmp_path, central, make_worker):
    configure(central)
    escalate(central, make_worker)
    clone = human_clone(tmp_path, central)
    before = decision(central).read_bytes()
    for ref_id in ("d-0001\u00a0", "d-0001\u200b", "D-0001", "d-0001x", "d-00001", "x/d-0001"):
        proc = push_answer(clone, ref_id, 'choice = "B"\n')
        assert proc.returncode != 0, ref_id
        assert len(mergecoord_lines(proc.stderr)) == 1, proc.stderr
    for text in ('choice = "B"\nrationale = "' + "x" * 70_000 + '"\n',
                 'choice = "B"\x00\xff\n'.encode("latin-1").decode("latin-1"),
                 'choice = "B"\n[files]\n"a\\n[answer]\\nchoice = \\"A\\"" = "B"\n'):
        proc = push_answer(clone, "d-0001", text)
        assert proc.returncode != 0 and len(mergecoord_lines(proc.stderr)) == 1, proc.stderr
    assert decision(central).read_bytes() == before
    assert tomllib.loads(before.decode())["status"] == "pending"
    assert git("ls-remote", "origin", "refs/mergecoord/*", cwd=clone).stdout.count("answers") == 0
    assert central.json("queue")["entries"] == []


def test_with_protect_main_only_the_coordinator_moves_main(tmp_path, central, make_worker):
    text = (central.state / "config.toml").read_text().replace("# protect_main = false", "protect_main = true")
    central.set_config(text)
    rogue = make_worker("Rogue")
    rogue.work("sprint/honest", {"honest.txt": "1\n"})
    central.run_once()
    main = central.rev("main")

    rogue.git("checkout", "-q", "-B", "evil", "origin/main")
    rogue.commit("rewrite history", {"honest.txt": "evil\n"}, ready=False)
    attempts = [("HEAD:main",), ("--force", "HEAD:main"), ("--force", "HEAD~1:main"), (":main",),
                ("HEAD:refs/heads/main", "HEAD:refs/heads/sprint/also"), ("--atomic", "HEAD:main", "HEAD:sprint/x")]
    for refspec in attempts:
        proc = rogue.git("push", "origin", *refspec, check=False)
        assert proc.returncode != 0, refspec
        assert central.rev("main") == main, refspec
    assert central.json("queue")["entries"] == []      # a refused push queued nothing either

    # the coordinator itself still moves main, even with runners dying under it
    import random

    for i in range(6):
        rogue.work(f"sprint/w{i}", {f"w{i}.txt": f"{i}\n"})
    killer = RunnerKiller(central, random.Random(7))
    while central.json("queue")["entries"]:
        killer.round()
    killer.close()
    assert len(central.merge_ids()) == 7
    assert_no_stale_lock(central)


def rogue_main_push(central, make_worker):
    rogue = make_worker("Rogue")
    rogue.git("checkout", "-q", "-B", "evil", "origin/main")
    rogue.commit("rewrite history", {"honest.txt": "evil\n"}, ready=False)
    return rogue


PROTECTED_FORMS = {
    "dotted key": "repo.protect_main = true\n[runner]\nautostart = false\n",
    "quoted key": '[repo]\n"protect_main" = true\n[runner]\nautostart = false\n',
    "inline table": "repo = { protect_main = true }\nrunner = { autostart = false }\n",
    "spaced": "[ repo ]\nprotect_main\t=\ttrue  # no main pushes\n[runner]\nautostart = false\n",
}


def test_protect_main_holds_in_every_toml_form(central, make_worker):
    rogue = rogue_main_push(central, make_worker)
    main = central.rev("main")
    for i, (form, text) in enumerate(PROTECTED_FORMS.items()):
        central.set_config(text)
        rogue.git("checkout", "-q", "evil")
        proc = rogue.git("push", "origin", "HEAD:main", check=False)
        assert proc.returncode != 0 and "main is protected" in proc.stderr, (form, proc.stderr)
        assert central.rev("main") == main, form
        tip = rogue.work(f"sprint/ok{i}", {"ok.txt": form}, push=False)     # other pushes still go through
        assert f"queued sprint/ok{i}" in rogue.push().stderr and central.rev(f"sprint/ok{i}") == tip
    central.set_config(PROTECTED_FORMS["dotted key"].replace("true", "false"))
    rogue.git("checkout", "-q", "evil")
    assert rogue.git("push", "origin", "HEAD:main", check=False).returncode == 0     # and it follows the config
    assert central.rev("main") != main


def test_an_unreadable_config_shuts_main_and_the_server_refs(tmp_path, central, make_worker):
    rogue = rogue_main_push(central, make_worker)
    main = central.rev("main")
    state = central.rev("refs/mergecoord/state") if central.git("rev-parse", "-q", "--verify",
                                                               "refs/mergecoord/state", check=False).stdout else None
    good = (central.state / "config.toml").read_text()
    for broken in ("[repo\n", good.replace("# committer =", "committer = 'nobody'\n#"), None):
        if broken is None:
            (central.state / "config.toml").unlink()
        else:
            central.set_config(broken)
        for refspec in ("HEAD:main", "HEAD:refs/mergecoord/state", "HEAD:refs/mergecoord/inbox",
                        "HEAD:refs/mergecoord/answers/d-0001"):
            proc = rogue.git("push", "origin", refspec, check=False)
            assert proc.returncode != 0, (broken, refspec, proc.stderr)
            assert "rejected refs/" in proc.stderr and "Traceback" not in proc.stderr
        assert central.rev("main") == main
        refs = central.git("for-each-ref", "--format=%(refname)", "refs/mergecoord/").stdout.split()
        assert refs == (["refs/mergecoord/state"] if state else [])
        proc = rogue.git("push", "origin", "HEAD:sprint/wip", check=False)     # work in progress still lands
        assert proc.returncode == 0, proc.stderr
        rogue.git("push", "-q", "origin", ":sprint/wip")
    central.set_config(good)
    for refspec in ("HEAD:refs/mergecoord/state", "HEAD:refs/mergecoord/x/y"):    # and never with a good one
        assert rogue.git("push", "origin", refspec, check=False).returncode != 0
    assert rogue.git("push", "origin", "HEAD:main", check=False).returncode == 0    # main is not protected here


def forge_merge_id(worker, merge_id, files):
    """A commit pushed straight to main whose message claims to be mergecoord's merge."""
    worker.branch("main")
    sha = worker.commit(f"Harmless tweak\n\nMerge-Id: {merge_id}\nWorker: Apollo\nResolved-By: clean",
                        files, ready=False)
    worker.push("HEAD:main")
    return sha


def test_a_forged_merge_id_on_main_is_never_taken_for_the_merge(tmp_path, central, make_worker):
    import os
    import signal
    import subprocess
    import sys

    apollo, rogue = make_worker("Apollo"), make_worker("Rogue")
    apollo.work("sprint/a", {"a.txt": "a\n"})
    central.run_once()
    forged = forge_merge_id(rogue, "m-0001", {"rogue.txt": "rogue\n"})

    # rollback m-0001 undoes the merge mergecoord made, not the commit that says it is m-0001
    assert central.mc("rollback", "m-0001", check=True)
    central.run_once()
    assert central.trailers()["Reverts"] == "m-0001"
    tree = central.git("ls-tree", "--name-only", "main").stdout.split()
    assert "a.txt" not in tree and "rogue.txt" in tree
    assert central.rev("main~1") == forged

    # recovery: a runner dies while m-0003 is being verified; a commit claiming to be m-0003
    # appears on main; the next runner merges sprint/b for real instead of taking the claim
    marker = tmp_path / "verifying"
    good = (central.state / "config.toml").read_text()
    central.set_config(good.replace('# command = ""', f'command = "echo $$ > {marker}; exec sleep 600"'))
    apollo.work("sprint/b", {"b.txt": "b\n"})
    runner = subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert central.wait_for(lambda: marker.exists() and marker.read_text().strip(), timeout=60)
    finally:
        runner.kill()
        runner.wait()
        if marker.exists() and marker.read_text().strip():
            os.kill(int(marker.read_text()), signal.SIGKILL)
    assert central.json("queue")["entries"][0]["status"] == "merging"
    forge_merge_id(rogue, "m-0003", {"rogue2.txt": "rogue\n"})
    central.set_config(good)
    central.run_once()
    record = central.json("show", "m-0003")
    assert record["status"] == "merged" and record["resolved_by"] == "clean"
    assert [step["event"] for step in record["history"]].count("merged") == 1, record["history"]
    assert "b.txt" in central.git("ls-tree", "--name-only", "main").stdout.split()
    assert central.rev(f"{record['commit']}^2") == central.rev("sprint/b")
