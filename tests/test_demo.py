"""`mergecoord demo`: the seed's story runs in one command, and its end state is right."""

import json
import os
import subprocess

from conftest import git, mergecoord


def test_demo_replays_the_seed_story(tmp_path):
    sandbox = tmp_path / "demo"
    proc = mergecoord("demo", sandbox)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for needle in ("queued sprint/optimize-vector-search as m-0001", "Clean merge to main",
                   "Applying AI consensus merge", "3 branches processed", "2 clean merges",
                   "1 AI-resolved conflict (2 rounds)", "HUMAN MERGE DECISION NEEDED", "1 human escalation",
                   "Applying human decision", "[Apollo Inbox] New refactor task", "Learning System Updates",
                   "Merge Coordinator Dashboard"):
        assert needle in out, needle
    # The seed's discussion: scripted stand-ins, labelled so, speaking as the workers.
    assert "SCRIPTED" in out and "stand-ins for the Claude Code (Apollo), Codex (Athena) and Gemini" in out
    assert "Advocates: Apollo speaks for A (main), Athena speaks for B (sprint/optimize-memory-storage)" in out
    assert "[Numa]: proposes C (85%): Architecture perspective: we need both." in out
    assert "[Synthesis]: D, backed by Apollo, Athena, Numa" in out and "Confidence: 92% (above threshold)" in out
    # The escalation: a 2-1 vote, each panelist's vote in the decision box.
    assert "AI Vote: 2 for A, 1 for B" in out
    assert "[Athena] for B (own side, not counted, 90%)" in out and "[Numa] for A (75%)" in out

    # The last line tells the reader how to go on, in words a shell takes from anywhere
    # (the quick start runs .venv/bin/mergecoord, which is on no PATH).
    explore = out.rstrip().splitlines()[-1]
    assert explore.startswith("Explore: cd ")
    went_on = subprocess.run(["sh", "-c", explore.removeprefix("Explore: ")], cwd=tmp_path,
                             capture_output=True, text=True, env={**os.environ, "PATH": "/usr/bin:/bin"})
    assert went_on.returncode == 0, went_on.stderr
    assert "m-0005" in went_on.stdout and "sprint/store-batching" in went_on.stdout

    central = sandbox / "Tekton.git"
    assert sorted(p.name for p in sandbox.iterdir()) == [
        "Tekton-setup", "Tekton-worker1", "Tekton-worker2", "Tekton-worker3", "Tekton.git", "scripted-agents"]

    def show(path):
        return git("--git-dir", str(central), "show", f"main:{path}").stdout

    vector = show("engram/core/memory/storage/vector_storage.py")
    assert "def batch_search" in vector and "self.cache[query]" in vector      # the synthesis split search
    assert "self.backend.store_batch(self.pending)" in vector                  # the human chose B
    assert "self.cache.clear()" not in vector and "<<<<<<<" not in vector
    assert git("--git-dir", str(central), "log", "-1", "--format=%(trailers:key=Consensus-Rounds,valueonly)",
               "main~3").stdout.strip() == "2"      # m-0002, settled in round 2
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
