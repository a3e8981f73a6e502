"""The latest tip wins, for decisions too: an answer about a commit its branch has moved
away from (pushed again, pushed without the marker, deleted) never lands; the decision
is closed and says why."""

import tomllib

from decide_story import (APOLLO_STORAGE, STORAGE, configure, escalate, human_clone, merge_decide,
                          mergecoord_lines, push_answer)

BRANCH = "sprint/optimize-memory-storage"
NEWER = APOLLO_STORAGE.replace("parallel_query(self.backend, query)", "parallel_query(self.backend, query, batch=True)")


def decision(central, decision_id="d-0001"):
    return tomllib.loads((central.state / "decisions" / f"{decision_id}.toml").read_text())


def rework(athena, ready=True):
    """Athena's newer tip: her approach again, on top of today's main."""
    athena.git("fetch", "-q", "origin")
    athena.git("reset", "-q", "--hard", "origin/main")
    sha = athena.commit("Batch storage, on top of the cache", {STORAGE: NEWER}, ready=ready)
    athena.push("--force", f"HEAD:{BRANCH}")
    return sha


def test_an_answer_about_an_old_tip_never_reverts_the_newer_tip_that_landed(central, make_worker, tmp_path):
    configure(central)
    _apollo, athena, _numa = escalate(central, make_worker)
    clone = human_clone(tmp_path, central)
    newer = rework(athena)                              # queued before anyone answers
    proc = merge_decide(clone, "d-0001", "B", "-m", "batching wins")
    assert proc.returncode == 1
    assert "d-0001 is superseded" in proc.stderr and "the latest tip wins" in proc.stderr, proc.stderr
    central.run_once()
    assert central.show(f"main:{STORAGE}") == NEWER
    assert central.rev("main^2") == newer
    assert decision(central)["status"] == "superseded"


def test_an_answer_given_before_a_newer_tip_was_pushed_is_closed_not_applied(central, make_worker, tmp_path):
    configure(central)
    _apollo, athena, _numa = escalate(central, make_worker)
    assert merge_decide(human_clone(tmp_path, central), "d-0001", "B").returncode == 0   # queued first
    newer = rework(athena)
    central.run_once()
    assert central.show(f"main:{STORAGE}") == NEWER          # the newer tip, not the answer's B
    assert central.rev("main^2") == newer
    doc = decision(central)
    assert doc["status"] == "superseded" and "the latest tip wins" in doc["superseded_by"], doc
    record = central.json("show", "m-0002")
    assert record["status"] == "withdrawn" and "pushed again" in record["detail"]
    assert not any(d["id"] == "d-0001" for d in central.json("status")["pending_decisions"])


def test_a_deleted_branch_closes_its_decision_and_an_answer_is_refused(central, make_worker, tmp_path):
    configure(central)
    _apollo, athena, _numa = escalate(central, make_worker)
    main = central.rev("main")
    athena.push(f":{BRANCH}")
    proc = push_answer(human_clone(tmp_path, central), "d-0001", 'choice = "B"\n')
    assert proc.returncode != 0
    [line] = mergecoord_lines(proc.stderr)
    assert "d-0001 is superseded" in line and f"{BRANCH} was deleted" in line
    proc = merge_decide(central.path, "d-0001", "B")
    assert proc.returncode == 1 and "was deleted" in proc.stderr
    central.run_once()
    assert central.rev("main") == main
    doc = decision(central)
    assert doc["status"] == "superseded" and "was deleted" in doc["superseded_by"]


def test_a_branch_withdrawn_after_the_answer_does_not_land(central, make_worker, tmp_path):
    configure(central)
    _apollo, athena, _numa = escalate(central, make_worker)
    main = central.rev("main")
    assert merge_decide(human_clone(tmp_path, central), "d-0001", "B").returncode == 0
    athena.commit("not ready after all", {"notes.txt": "more to do\n"}, ready=False)
    pushed = athena.push(f"HEAD:{BRANCH}")
    assert "withdrew" not in pushed.stderr or BRANCH in pushed.stderr
    central.run_once()
    assert central.rev("main") == main                      # Athena's B side never landed
    assert central.show(f"main:{STORAGE}") == APOLLO_STORAGE
    doc = decision(central)
    assert doc["status"] == "superseded" and "pushed again" in doc["superseded_by"], doc
    assert central.json("show", "m-0002")["status"] == "withdrawn"
    assert central.json("queue")["entries"] == []
