"""The consensus engine over scripted panelists: rounds, grouping, weighted confidence,
synthesis, the threshold, feedback between rounds, and the transcript."""

import time

import pytest

from mergecoord.panel.consensus import settle
from mergecoord.panel.hunks import ConflictContext, file_conflict
from mergecoord.panel.resolver import Proposal, abstain

BASE = "def search(q):\n    return scan(q)\n"
OURS = "def search(q):\n    return parallel_scan(q)\n"
THEIRS = "def search(q):\n    return batch_scan(q)\n"
UNIFIED = "def search(q):\n    return batch_scan(q) if q.batch else parallel_scan(q)\n"
SPLIT = "def search(q):\n    return parallel_scan(q)\n\n\ndef batch_search(q):\n    return batch_scan(q)\n"


def context(*files):
    files = files or (file_conflict("vector_storage.py", BASE, OURS, THEIRS),)
    return ConflictContext(merge_id="m-0007", branch="sprint/optimize-memory-storage",
                           ours_worker="Apollo", theirs_worker="Athena",
                           ours_message="Optimized vector search with parallel processing\n\nREADY_TO_MERGE",
                           theirs_message="Optimized memory storage with batch operations\n\nREADY_TO_MERGE",
                           files=files)


class Scripted:
    """Answers round n with script[n-1] (the last entry repeats): a text, None to abstain,
    "recuse", or an exception to raise. Records what history it saw."""

    def __init__(self, name, *script, confidence=0.9, delay=0.0, weight=1.0, path="vector_storage.py"):
        self.name, self.script, self.confidence, self.delay, self.weight = name, script, confidence, delay, weight
        self.path = path
        self.seen = []

    def propose(self, ctx, history):
        self.seen.append(history)
        time.sleep(self.delay)
        answer = self.script[min(len(history), len(self.script) - 1)]
        if isinstance(answer, Exception):
            raise answer
        if answer == "recuse":
            return abstain(self.name, "not mechanical", recused=True)
        if answer is None:
            return abstain(self.name, "unsure")
        texts = answer if isinstance(answer, dict) else {self.path: answer}
        return Proposal(self.name, texts, self.confidence, f"{self.name} thinks so",
                        objections=("too complex",) if answer == UNIFIED else ())


def test_unanimous_panel_settles_in_round_one():
    outcome = settle(context(), [Scripted("a", UNIFIED), Scripted("b", UNIFIED, confidence=0.8)])
    assert outcome.resolved and outcome.resolutions == {"vector_storage.py": UNIFIED}
    assert outcome.confidence == pytest.approx((0.9 + 0.8) / 2)
    assert len(outcome.rounds) == 1 and outcome.winner == "C"


def test_a_lone_panelist_cannot_push_a_guess_through():
    outcome = settle(context(), [Scripted("gpt", UNIFIED, confidence=0.99), Scripted("claude", None),
                                 Scripted("agent", RuntimeError("boom"))])
    assert not outcome.resolved and outcome.resolutions == {}
    assert outcome.confidence == pytest.approx(0.99 / 3)
    assert len(outcome.rounds) == 2          # round 2 repeated round 1: no point in a third
    assert outcome.tally == {"C": 1, "abstain": 2}


def test_a_recusal_leaves_the_vote_an_abstention_does_not():
    recused = settle(context(), [Scripted("builtin", "recuse"), Scripted("gpt", UNIFIED), Scripted("claude", UNIFIED)])
    assert recused.resolved and recused.confidence == pytest.approx(0.9)
    abstained = settle(context(), [Scripted("other", None), Scripted("gpt", UNIFIED), Scripted("claude", UNIFIED)])
    assert not abstained.resolved and abstained.confidence == pytest.approx(1.8 / 3)


def test_weights_shift_the_vote():
    panel = [Scripted("senior", UNIFIED, confidence=1.0), Scripted("junior", SPLIT, confidence=1.0)]
    assert not settle(context(), panel).resolved
    weighted = settle(context(), panel, weights={"senior": 9.0})
    assert weighted.resolved and weighted.resolutions["vector_storage.py"] == UNIFIED
    assert weighted.confidence == pytest.approx(0.9)


def test_disagreement_in_round_one_consensus_in_round_two_with_feedback():
    a = Scripted("Apollo", UNIFIED, SPLIT)
    b = Scripted("Athena", SPLIT, SPLIT)
    c = Scripted("Numa", OURS, SPLIT)
    outcome = settle(context(), [a, b, c])
    assert outcome.resolved and len(outcome.rounds) == 2
    assert outcome.resolutions["vector_storage.py"] == SPLIT
    first = outcome.rounds[0]
    assert first.confidence < 0.85 and {c.label for c in first.candidates} == {"A", "C", "D"}
    # Round 2 saw round 1: its proposals, objections and candidates.
    assert len(a.seen[1]) == 1 and a.seen[1][0].proposals[0].objections == ("too complex",)
    assert outcome.tally == {"D": 3}
    assert [c.label for c in outcome.candidates] == ["C", "D"]      # A (main's side) is option A already


def test_invalid_candidates_are_never_chosen():
    broken = "def search(q):\n<<<<<<< ours\n    return 1\n=======\n    return 2\n>>>>>>> theirs\n"
    bad_syntax = "def search(q)\n    return 1\n"
    outcome = settle(context(), [Scripted("loud", broken, weight=10, confidence=1.0),
                                 Scripted("louder", bad_syntax, weight=10, confidence=1.0),
                                 Scripted("quiet", UNIFIED, confidence=0.9)], threshold=0.01)
    assert outcome.resolved and outcome.resolutions["vector_storage.py"] == UNIFIED
    notes = outcome.rounds[0].notes
    assert any("conflict markers at line 2" in n for n in notes)
    assert any("python syntax error line 1" in n for n in notes)
    assert "rejected" in outcome.transcript()


def test_nothing_valid_means_no_resolution_whatever_the_threshold():
    outcome = settle(context(), [Scripted("x", "def f(:\n")], threshold=0.0, max_rounds=2)
    assert not outcome.resolved and outcome.resolutions == {}


def test_synthesis_takes_each_file_from_its_best_supported_text():
    f1 = file_conflict("a.py", "A = 0\n", "A = 1\n", "A = 2\n")
    f2 = file_conflict("b.py", "B = 0\n", "B = 1\n", "B = 2\n")
    panel = [Scripted("p1", {"a.py": "A = 3\n", "b.py": "B = 3\n"}),
             Scripted("p2", {"a.py": "A = 3\n", "b.py": "B = 5\n"}),
             Scripted("p3", {"a.py": "A = 6\n", "b.py": "B = 4\n"}),
             Scripted("p4", {"a.py": "A = 7\n", "b.py": "B = 4\n"})]
    outcome = settle(context(f1, f2), panel, threshold=0.4, max_rounds=1)
    assert outcome.resolved
    assert outcome.resolutions == {"a.py": "A = 3\n", "b.py": "B = 4\n"}   # no single panelist proposed this
    assert outcome.confidence == pytest.approx(1.8 / 4)
    assert outcome.rounds[0].synthesis.supporters == ("p1", "p2", "p3", "p4")
    assert outcome.winner not in {c.label for c in outcome.rounds[0].candidates}


def test_proposals_differing_in_trailing_blanks_are_one_candidate():
    outcome = settle(context(), [Scripted("a", UNIFIED), Scripted("b", UNIFIED.replace("\n", "  \n") + "\n")])
    assert outcome.resolved and len(outcome.rounds[0].candidates) == 1


def test_a_round_costs_the_slowest_panelist():
    panel = [Scripted(f"p{i}", UNIFIED, delay=0.3) for i in range(4)]
    started = time.monotonic()
    outcome = settle(context(), panel)
    assert outcome.resolved
    assert time.monotonic() - started < 0.9          # the sum would be 1.2 s


def test_a_panel_that_repeats_itself_stops_early():
    outcome = settle(context(), [Scripted("a", UNIFIED, confidence=0.5), Scripted("b", UNIFIED, confidence=0.5)],
                     max_rounds=5)
    assert not outcome.resolved and len(outcome.rounds) == 2


def test_panelist_errors_are_redacted_in_the_transcript():
    class Leaky(Scripted):
        def redact(self, text):
            return text.replace("sk-secret-123", "[redacted]")
    outcome = settle(context(), [Leaky("gpt", RuntimeError("auth failed for sk-secret-123"))], max_rounds=1)
    transcript = outcome.transcript()
    assert "sk-secret-123" not in transcript and "[redacted]" in transcript


def test_transcript_reads_like_the_team_chat():
    outcome = settle(context(), [Scripted("Apollo", UNIFIED, SPLIT), Scripted("Athena", SPLIT),
                                 Scripted("Numa", OURS, SPLIT)])
    text = outcome.transcript()
    assert text.startswith("[Team Chat] MERGE CONFLICT RESOLUTION - Round 1\n")
    assert "File: vector_storage.py (python, 1 hunk)" in text
    assert "Apollo (main): Optimized vector search with parallel processing" in text
    assert "Athena (sprint/optimize-memory-storage): Optimized memory storage with batch operations" in text
    assert "[Apollo]: proposes C (90%): Apollo thinks so" in text
    assert "Confidence: 30% (below threshold)" in text
    assert "[Team Chat] MERGE CONFLICT RESOLUTION - Round 2" in text
    assert "Concern: Apollo: too complex" in text
    assert "Confidence: 90% (above threshold)" in text
    assert text.rstrip().endswith("✓ Applying AI consensus merge (D, 2 round(s))")


def test_escalation_transcript_has_the_vote_and_comment():
    outcome = settle(context(), [Scripted("a", OURS, confidence=1.0), Scripted("b", THEIRS, confidence=1.0)])
    assert not outcome.resolved
    assert outcome.tally == {"A": 1, "B": 1}
    assert outcome.comment.startswith("Panel split (A 1, B 1)")
    text = outcome.transcript()
    assert "AI Vote: A 1, B 1" in text and "escalating to a human" in text
