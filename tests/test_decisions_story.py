"""The seed's human-escalation story end to end, over real pushes and a human's own clone."""

import json
import tomllib

from conftest import git
from decide_story import (APOLLO_STORAGE, ATHENA_STORAGE, ENDPOINTS, EXPECTED_MAIN, NUMA_ENDPOINTS, STORAGE, configure,
                          escalate, human_clone, merge_decide)


def test_a_human_in_a_clone_decides_b_and_the_runner_applies_it(central, make_worker, tmp_path):
    # No always_human here: the built-in panel sits, cannot agree, and escalates.
    apollo, athena, numa = escalate(central, make_worker)

    # Apollo's and Numa's work is on main; Athena's waits for a human.
    log = {row["branch"]: row for row in central.json("log")["merges"]}
    assert log["sprint/optimize-vector-search"]["status"] == "merged"
    assert log["sprint/optimize-api-performance"]["status"] == "merged"
    assert log["sprint/optimize-memory-storage"]["status"] == "escalated"
    assert log["sprint/optimize-memory-storage"]["decision"] == "d-0001"
    assert central.show(f"main:{ENDPOINTS}") == NUMA_ENDPOINTS

    # The decision file on the server, in the layout of templates/decision.toml.
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["status"] == "pending" and doc["files"] == [STORAGE]
    assert doc["merge_id"] == log["sprint/optimize-memory-storage"]["id"]
    assert doc["options"]["A"]["worker"] == "Apollo"
    assert doc["options"]["B"]["worker"] == "Athena"
    assert doc["options"]["A"]["summary"] == "Optimized vector search with parallel processing"
    assert doc["options"]["B"]["summary"] == "Optimized memory storage with batch operations"
    assert doc["kinds"] == {STORAGE: "content"}
    assert doc["reason"].startswith("no confident consensus after 1 round(s)")
    assert doc["vote"]["tally"] == {"A": 0, "B": 0, "abstain": 1}
    assert "both sides changed search" in doc["vote"]["comment"]
    assert doc["options"]["A"]["pros"][0] == "already on main"
    assert any(p.startswith("smaller change: ") and p.endswith("lines in the conflicted hunks")
               for p in doc["options"]["B"]["pros"])

    # A human, in their own clone, sees it and answers B.
    clone = human_clone(tmp_path, central)
    listed = json.loads(merge_decide(clone, "list", "--json").stdout)["decisions"]
    assert [(d["id"], d["status"]) for d in listed] == [("d-0001", "pending")]
    shown = merge_decide(clone, "show", "d-0001")
    assert "HUMAN MERGE DECISION NEEDED" in shown.stdout
    assert f"File: {STORAGE}" in shown.stdout
    assert "[A] Apollo's approach:" in shown.stdout and "[B] Athena's approach:" in shown.stdout
    diff = merge_decide(clone, "show", "d-0001", "--diff").stdout
    assert "+        batch = self.backend.query_batch([query])" in diff

    answered = merge_decide(clone, "d-0001", "B", "-m", "Storage efficiency weighted higher than read speed")
    assert answered.returncode == 0, answered.stderr
    assert "decision d-0001 answered B" in answered.stdout

    # The queue did not wait meanwhile; now the runner applies the answer.
    central.run_once()
    assert central.show(f"main:{STORAGE}") == EXPECTED_MAIN
    assert central.show(f"main:{ENDPOINTS}") == NUMA_ENDPOINTS
    trailers = central.trailers("main")
    assert trailers["Resolved-By"] == "human"
    assert trailers["Decision"] == "d-0001"
    assert trailers["Worker"] == "Athena"
    assert central.git("rev-parse", "main^2").stdout.strip() == athena.git("rev-parse", "HEAD").stdout.strip()

    decision = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert decision["status"] == "applied"
    assert decision["applied_commit"] == central.rev("main")
    assert decision["answer"]["choice"] == "B"
    assert decision["answer"]["files"] == {STORAGE: "B"}

    # Apollo's inbox has the refactor task, also published for clones.
    git("fetch", "-q", "origin", "+refs/mergecoord/*:refs/mergecoord/*", cwd=apollo.path)
    names = git("ls-tree", "-r", "--name-only", "refs/mergecoord/state", cwd=apollo.path).stdout.split()
    assert "inbox/Apollo/t-0001.toml" in names
    task = tomllib.loads(git("show", "refs/mergecoord/state:inbox/Apollo/t-0001.toml", cwd=apollo.path).stdout)
    assert task["worker"] == "Apollo" and task["file"] == STORAGE and task["priority"] == "low"
    assert "Athena's approach" in task["feedback"]
    assert task["learning"] == "Storage efficiency weighted higher than read speed"
    assert task["decision"] == "d-0001"
    assert not any(n.startswith("inbox/Athena/") for n in names)
    status = json.loads(git("show", "refs/mergecoord/state:status.json", cwd=apollo.path).stdout)
    assert [(d["id"], d["status"]) for d in status["decisions"]] == [("d-0001", "applied")]


def test_choosing_a_keeps_main_and_still_takes_the_branchs_other_changes(central, make_worker, tmp_path):
    configure(central)
    escalate(central, make_worker)
    proc = merge_decide(central.path, "d-0001", "A", "-m", "reads matter more")
    assert proc.returncode == 0, proc.stderr
    central.run_once()
    merged = central.show(f"main:{STORAGE}")
    assert "if query in self.cache:" in merged          # Apollo's hunk
    assert "import zlib" in merged                      # Athena's non-conflicting change
    assert "query_batch" not in merged
    assert merged == APOLLO_STORAGE.replace('"""Vector storage."""\n', '"""Vector storage."""\n\nimport zlib\n')
    tasks = sorted(p.relative_to(central.state / "inbox").as_posix()
                   for p in (central.state / "inbox").rglob("*.toml"))
    assert tasks == ["Athena/t-0001.toml"]


def test_answer_applies_on_a_main_that_moved_meanwhile(central, make_worker, tmp_path):
    """The queue never waits for the human: work lands after the escalation, and the
    answer is applied on top of it."""
    configure(central)
    _apollo, _athena, numa = escalate(central, make_worker)
    numa.work("sprint/readme", {"README.md": "# engram\n"}, "Document engram")
    central.run_once()
    assert central.show("main:README.md") == "# engram\n"

    proc = merge_decide(human_clone(tmp_path, central), "d-0001", "B")
    assert proc.returncode == 0, proc.stderr
    central.run_once()
    assert central.show(f"main:{STORAGE}") == EXPECTED_MAIN
    assert central.show("main:README.md") == "# engram\n"
    assert central.trailers()["Resolved-By"] == "human"
    assert ATHENA_STORAGE.splitlines()[2] in central.show(f"main:{STORAGE}")
