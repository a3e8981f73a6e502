"""What happens to a decision around it: the queue goes on, a re-push supersedes it, the
runner starts by itself for an answer, and a new conflict goes back to the panel."""

import tomllib

from decide_story import (ATHENA_STORAGE, STORAGE, configure, escalate, human_clone, merge_decide,
                          mergecoord_lines, push_answer)


def decision(central, decision_id="d-0001"):
    return tomllib.loads((central.state / "decisions" / f"{decision_id}.toml").read_text())


def test_a_branch_that_lands_after_a_rework_supersedes_its_pending_decision(central, make_worker, tmp_path):
    configure(central)
    _apollo, athena, _numa = escalate(central, make_worker)
    # Athena reworks her branch on top of the new main and it merges cleanly.
    athena.git("fetch", "-q", "origin")
    athena.git("reset", "-q", "--hard", "origin/main")
    athena.commit("Batch storage on top of the cache", {"engram/batch.py": "BATCH = True\n"})
    athena.push("--force", "HEAD:sprint/optimize-memory-storage")
    central.run_once()
    assert central.show("main:engram/batch.py") == "BATCH = True\n"
    doc = decision(central)
    assert doc["status"] == "superseded"
    assert "sprint/optimize-memory-storage was pushed again" in doc["superseded_by"]
    assert "the latest tip wins" in doc["superseded_by"]
    proc = push_answer(human_clone(tmp_path, central), "d-0001", 'choice = "B"\n')
    assert proc.returncode != 0
    [line] = mergecoord_lines(proc.stderr)
    assert line.startswith("rejected refs/mergecoord/answers/d-0001: decision d-0001 is superseded")


def test_with_autostart_an_answer_is_applied_without_anyone_running_the_runner(central, make_worker, tmp_path):
    configure(central)
    escalate(central, make_worker)
    text = (central.state / "config.toml").read_text().replace("autostart = false", "autostart = true")
    central.set_config(text)
    proc = merge_decide(human_clone(tmp_path, central), "d-0001", "B")
    assert proc.returncode == 0, proc.stderr
    assert central.wait_for(lambda: decision(central)["status"] == "applied", timeout=30)
    assert "query_batch" in central.show(f"main:{STORAGE}")


def test_a_new_conflict_the_answer_does_not_cover_goes_to_the_panel(central, make_worker, tmp_path):
    """Athena's branch also adds notes.md; after the escalation Numa lands another notes.md. The answer covers the storage file only: the new conflict goes to the panel,
    which cannot settle it either, so a new decision covering both files replaces d-0001."""
    configure(central)
    apollo, athena, numa = escalate(central, make_worker)
    athena.commit("and the notes", {"notes.md": "status: batching\n"})
    athena.push()
    central.run_once()
    assert decision(central, "d-0002")["files"] == [STORAGE]
    assert decision(central)["status"] == "superseded"          # d-0002 replaced d-0001 (re-push)
    numa.work("sprint/notes", {"notes.md": "status: streaming\n"}, "Notes on streaming")
    central.run_once()
    assert central.show("main:notes.md") == "status: streaming\n"

    assert merge_decide(central.path, "d-0002", "B").returncode == 0
    central.run_once()
    old, new = decision(central, "d-0002"), decision(central, "d-0003")
    assert old["status"] == "superseded" and old["superseded_by"] == "d-0003"
    assert new["previous"] == "d-0002"
    assert sorted(new["files"]) == ["engram/core/memory/storage/vector_storage.py", "notes.md"]
    assert central.show("main:notes.md") == "status: streaming\n"

    assert merge_decide(central.path, "d-0003", "B").returncode == 0
    central.run_once()
    assert central.show("main:notes.md") == "status: batching\n"
    assert central.show(f"main:{STORAGE}").startswith(ATHENA_STORAGE.splitlines()[0])
    assert decision(central, "d-0003")["status"] == "applied"
