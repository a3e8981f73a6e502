"""Every entry that leaves the queue says why, in `log --json` (and `queue --json` while it
is verified): real pushes that escalate, are withdrawn, are superseded by a newer tip, are
rolled back, fail verification; the same object on the status document and the dashboard;
a journal from before reasons still reads."""

import json
import subprocess
import sys

from conftest import ROOT
from decide_story import configure, escalate, human_clone, merge_decide

ATHENA_BRANCH = "sprint/optimize-memory-storage"


def set_verify(central, command, extra=""):
    text = (central.state / "config.toml").read_text().replace(
        "[verify]\n", f"[verify]\ncommand = {json.dumps(command)}\n{extra}", 1)
    central.set_config(text)


def reasons(central):
    return {m["id"]: m["reason"] for m in central.json("log")["merges"]}


def test_a_merge_says_merged_and_an_escalation_names_its_decision(central, make_worker):
    apollo, numa = make_worker("Apollo"), make_worker("Numa")
    base = central.rev("main")
    apollo.work("sprint/limit-2", {"cfg.py": "LIMIT = 2\n"})
    numa.branch("sprint/limit-3", start=base)
    numa.commit("limit", {"cfg.py": "LIMIT = 3\n"})
    numa.push()
    central.run_once()
    got = reasons(central)
    assert got["m-0001"] == {"code": "merged", "resolved_by": "clean"}
    assert got["m-0002"] == {"code": "escalated", "decision": "d-0001"}
    assert central.show("main:cfg.py") == "LIMIT = 2\n"
    assert central.json("queue")["entries"] == []
    [ejected] = central.json("status")["ejections"]
    assert ejected["id"] == "m-0002" and ejected["reason"] == got["m-0002"]


def test_a_deleted_branch_is_withdrawn_with_the_hooks_words(central, make_worker):
    apollo = make_worker("Apollo")
    apollo.work("sprint/x", {"x.txt": "x\n"})
    assert [e["reason"] for e in central.json("queue")["entries"]] == [None]       # waiting: no reason yet
    apollo.push(":sprint/x")
    assert central.json("queue")["entries"] == []
    assert reasons(central) == {"m-0001": {"code": "withdrawn", "detail": "branch deleted"}}
    central.run_once()
    assert "x.txt" not in central.git("ls-tree", "--name-only", "main").stdout


def test_an_answer_overtaken_by_a_newer_tip_is_superseded_by_that_tip(central, make_worker, tmp_path):
    configure(central)
    _apollo, athena, _numa = escalate(central, make_worker)
    assert merge_decide(human_clone(tmp_path, central), "d-0001", "B").returncode == 0   # queued first
    athena.git("fetch", "-q", "origin")
    athena.git("reset", "-q", "--hard", "origin/main")
    newer = athena.commit("Batch storage, again", {"notes.txt": "newer\n"})
    athena.push("--force", f"HEAD:{ATHENA_BRANCH}")
    central.run_once()
    assert central.rev("main^2") == newer
    reason = reasons(central)["m-0002"]
    assert reason["code"] == "superseded" and reason["by"] == newer
    assert "pushed again" in reason["detail"]


def test_a_rolled_back_merge_names_the_rollback(central, make_worker):
    apollo = make_worker("Apollo")
    apollo.work("sprint/x", {"x.txt": "x\n"})
    central.run_once()
    central.mc("rollback", "m-0001", check=True)
    central.run_once()
    assert "x.txt" not in central.git("ls-tree", "--name-only", "main").stdout
    got = reasons(central)
    assert got["m-0001"] == {"code": "rolled-back", "by": "m-0002", "commit": central.rev("main")}
    assert got["m-0002"] == {"code": "merged", "resolved_by": "clean"}
    assert [e["id"] for e in central.json("status")["ejections"]] == ["m-0001"]


def test_a_failed_verification_keeps_the_printable_tail_and_its_base(central, make_worker):
    apollo = make_worker("Apollo")
    set_verify(central, ["sh", "-c", "printf 'ran 3 tests\\n\\033]0;owned\\007FAILED test_b\\n'; "
                                     "! test -e broken.txt"])
    apollo.work("sprint/good", {"good.txt": "good\n"})
    apollo.work("sprint/broken", {"broken.txt": "oops\n"})
    central.run_once()
    main = central.rev("main")
    reason = reasons(central)["m-0002"]
    assert reason["code"] == "verify-failed" and reason["base"] == main and reason["exit"] == 1
    assert reason["timed_out"] is False
    assert reason["tail"] == "ran 3 tests\n\\x1b]0;owned\\x07FAILED test_b"            # escaped, not obeyed
    assert reason["commit"] and central.git("merge-base", "--is-ancestor", reason["commit"], "main",
                                            check=False).returncode == 1              # never landed
    assert central.json("log")["merges"][1]["commit"] is None
    text = central.mc("status", check=True).stdout
    assert "Recent Ejections:" in text and "\x1b]" not in text
    assert f"verify-failed (base {main[:10]}, exit 1): \\x1b]0;owned\\x07FAILED test_b" in text


def test_queue_shows_what_is_verified_on_which_base_while_it_runs(central, make_worker, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    set_verify(central, ["sh", "-c", f"touch {started}; while ! test -e {release}; do sleep 0.05; done"],
               extra="timeout = 60\n")
    apollo = make_worker("Apollo")
    apollo.work("sprint/slow", {"slow.txt": "slow\n"})
    base = central.rev("main")
    runner = subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert central.wait_for(started.exists, timeout=60)
        [entry] = central.json("queue")["entries"]
        reason = entry["reason"]
        assert entry["status"] == "merging" and reason["code"] == "verifying" and reason["base"] == base
        [current] = central.json("status")["current"]
        assert current["phase"] == "verifying" and current["reason"] == reason
        assert f"Base: {base[:10]}, candidate {reason['commit'][:10]}" in central.mc("status", check=True).stdout
    finally:
        release.touch()
        assert runner.wait(timeout=60) == 0
    assert central.rev("main") == reason["commit"]                 # the verified commit is the one that landed
    assert reasons(central)["m-0001"] == {"code": "merged", "resolved_by": "clean"}


def test_a_journal_from_before_reasons_still_reads(central, make_worker):
    apollo = make_worker("Apollo")
    set_verify(central, ["sh", "-c", "! test -e broken.txt"])
    apollo.work("sprint/good", {"good.txt": "good\n"})
    apollo.work("sprint/broken", {"broken.txt": "oops\n"})
    central.run_once()
    journal = central.state / "journal.jsonl"
    old = []
    for line in journal.read_text().splitlines():
        event = json.loads(line)
        if event["event"] != "verifying":
            event.pop("why", None)
            old.append(json.dumps(event))
    journal.write_text("\n".join(old) + "\n")
    got = reasons(central)
    assert got["m-0001"] == {"code": "merged", "resolved_by": "clean"}
    assert got["m-0002"]["code"] == "failed" and "verify command exited 1" in got["m-0002"]["detail"]
    assert "Recent Ejections:" in central.mc("status", check=True).stdout
