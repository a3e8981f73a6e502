"""`mergecoord demo`: the seed's story runs in one command, and its end state is right."""

import json
import time

import pytest

from conftest import git, mergecoord

pytest.importorskip("mergecoord.panel.consensus", reason="the panel is not in this build")
pytest.importorskip("mergecoord.decisions.apply", reason="decisions are not in this build")


def test_demo_replays_the_seed_story(tmp_path):
    sandbox = tmp_path / "demo"
    began = time.monotonic()
    proc = mergecoord("demo", sandbox)
    took = time.monotonic() - began
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert took < 30
    out = proc.stdout
    for needle in ("queued sprint/optimize-vector-search as m-0001", "Clean merge to main",
                   "Applying AI consensus merge", "3 branches processed", "2 clean merges",
                   "1 AI-resolved conflict (1 round)", "HUMAN MERGE DECISION NEEDED", "1 human escalation",
                   "Applying human decision", "[Apollo Inbox] New refactor task", "Learning System Updates",
                   "Merge Coordinator Dashboard"):
        assert needle in out, needle

    central = sandbox / "Tekton.git"
    assert sorted(p.name for p in sandbox.iterdir()) == [
        "Tekton-setup", "Tekton-worker1", "Tekton-worker2", "Tekton-worker3", "Tekton.git"]

    def show(path):
        return git("--git-dir", str(central), "show", f"main:{path}").stdout

    vector = show("engram/core/memory/storage/vector_storage.py")
    assert "def parallel_search" in vector and "def batch_store" in vector     # consensus kept both
    assert "search_batch([query], limit, compressed=True)" in vector           # the human chose B
    assert "_cache" not in vector and "<<<<<<<" not in vector
    assert "def stream_memories" in show("engram/api/v1/endpoints.py")
    trailers = git("--git-dir", str(central), "log", "--first-parent",
                   "--format=%(trailers:key=Resolved-By,valueonly)", "main").stdout.split()
    assert list(reversed(trailers)) == ["clean", "consensus", "clean", "clean", "human"]

    decisions = json.loads(mergecoord("--repo", central, "decide", "list", "--json", check=True).stdout)
    listed = decisions["decisions"] if isinstance(decisions, dict) else decisions
    assert [(d["id"], d["status"]) for d in listed] == [("d-0001", "applied")]
    tasks = sorted((central / "mergecoord" / "inbox").glob("*/t-*.toml"))
    assert [p.relative_to(central / "mergecoord" / "inbox").as_posix() for p in tasks] == ["Apollo/t-0001.toml"]
    records = [json.loads(line) for line in (central / "mergecoord" / "learning.jsonl").read_text().splitlines()]
    human = [r for r in records if r.get("resolved_by") == "human"]
    assert len(human) == 1 and human[0]["human_decision"] == "B"
    assert human[0]["rationale"] == "storage efficiency prioritized over read speed"

    status = json.loads(mergecoord("--repo", central, "status", "--json", check=True).stdout)
    assert status["counts"]["merged"] == 5 and status["awaiting_human"] == 0
    assert status["today"]["human_decisions"] == 1 and status["learning"]["score"] is not None


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "something").write_text("x")
    proc = mergecoord("demo", tmp_path)
    assert proc.returncode == 2 and "not empty" in proc.stderr and "Traceback" not in proc.stderr
