"""Advocates, the seed's story: the workers on both sides of a conflict sit on the panel and
speak for their own work; a vote for one's own side counts only when a neutral panelist or
the synthesis agrees. The engine on plain data first, then real pushes."""

import json
import subprocess
import sys

import pytest

from decide_story import human_clone, merge_decide
from mergecoord.panel.consensus import settle
from mergecoord.panel.hunks import ConflictContext, file_conflict
from mergecoord.panel.resolver import Proposal, abstain
from standins import BASE, OURS, PATH, SPLIT, SPLIT_MAIN, THEIRS, answer, configure, conflict, panel

SECOND = "notes.md"
NOTES_BASE, NOTES_OURS, NOTES_THEIRS = "# Notes\n\n- one\n", "# Notes\n\n- one (parallel)\n", "# Notes\n\n- one (batched)\n"


def context(two_files=False):
    files = [file_conflict(PATH, BASE, OURS, THEIRS)]
    if two_files:
        files.append(file_conflict(SECOND, NOTES_BASE, NOTES_OURS, NOTES_THEIRS))
    return ConflictContext(merge_id="m-0002", branch="sprint/batch-search", ours_worker="Apollo",
                           theirs_worker="Athena", ours_message="Parallel search", theirs_message="Batch search",
                           files=tuple(files))


class Speaker:
    """A panelist that says the same thing every round: {path: text}, or None to abstain."""
    deterministic = False

    def __init__(self, name, texts, confidence=0.9, advocate=None):
        self.name, self.texts, self.confidence, self.advocate = name, texts, confidence, advocate

    def propose(self, context, history):
        if self.texts is None:
            return abstain(self.name, "unsure")
        return Proposal(self.name, dict(self.texts), self.confidence, f"{self.name} says so")


A = {PATH: OURS}
B = {PATH: THEIRS}
C = {PATH: BASE.replace("        return scan(q)\n", SPLIT)}


def test_two_workers_voting_for_their_own_work_land_nothing():
    outcome = settle(context(), [Speaker("Apollo", A, 0.99, "A"), Speaker("Athena", B, 0.99, "B")], threshold=0.01)
    assert not outcome.resolved and outcome.confidence == 0.0
    assert outcome.tally == {"A": 1, "B": 1}                  # shown and tallied...
    assert set(outcome.rounds[-1].uncounted) == {"Apollo", "Athena"}
    assert {c.label: c.confidence for c in outcome.rounds[-1].candidates} == {"A": 0.0, "B": 0.0}   # ...not counted


def test_a_neutral_panelist_agreeing_makes_the_vote_count():
    outcome = settle(context(), [Speaker("Apollo", A, 0.9, "A"), Speaker("Athena", B, 0.9, "B"),
                                 Speaker("Numa", A, 0.9)], threshold=0.5)
    assert outcome.resolved and outcome.winner == "A"
    assert outcome.confidence == pytest.approx(1.8 / 3)       # Athena stays in the denominator
    assert outcome.rounds[-1].uncounted == ("Athena",)
    votes = {v.panelist: v for v in outcome.votes()}
    assert (votes["Apollo"].vote, votes["Apollo"].advocate, votes["Apollo"].counted) == ("A", "A", True)
    assert (votes["Athena"].vote, votes["Athena"].counted) == ("B", False)
    assert (votes["Numa"].vote, votes["Numa"].advocate) == ("A", "")


def test_the_other_sides_concession_is_a_synthesis_that_agrees():
    outcome = settle(context(), [Speaker("Apollo", A, 0.9, "A"), Speaker("Athena", A, 0.8, "B")])
    assert outcome.resolved and outcome.winner == "A"
    assert outcome.confidence == pytest.approx((0.9 + 0.8) / 2) and outcome.rounds[-1].uncounted == ()


def test_an_advocate_proposing_a_synthesis_counts_like_anyone():
    outcome = settle(context(), [Speaker("Apollo", C, 0.9, "A"), Speaker("Athena", C, 0.9, "B"), Speaker("Numa", None)],
                     threshold=0.6)
    assert outcome.resolved and outcome.winner == "C" and outcome.confidence == pytest.approx(1.8 / 3)


def test_a_neutral_backing_something_else_leaves_the_own_side_vote_uncounted():
    outcome = settle(context(), [Speaker("Apollo", A, 0.99, "A"), Speaker("Numa", C, 0.9)], threshold=0.45)
    assert outcome.resolved and outcome.winner == "C" and outcome.confidence == pytest.approx(0.45)
    assert outcome.rounds[-1].uncounted == ("Apollo",)


def test_the_rule_holds_file_by_file():
    # Apollo keeps his side of the code but takes a new text for the notes: only the notes count.
    notes = "# Notes\n\n- one (parallel, batched)\n"
    apollo = {PATH: OURS, SECOND: notes}
    numa = {PATH: C[PATH], SECOND: notes}
    outcome = settle(context(two_files=True), [Speaker("Apollo", apollo, 0.9, "A"), Speaker("Numa", numa, 0.9)],
                     threshold=0.4)
    assert outcome.resolved
    assert outcome.resolutions == {PATH: C[PATH], SECOND: notes}
    assert outcome.confidence == pytest.approx(0.45)          # the code file: Numa alone, of two


def test_the_transcript_says_who_speaks_for_what():
    outcome = settle(context(), [Speaker("Apollo", A, 0.9, "A"), Speaker("Athena", B, 0.9, "B"), Speaker("Numa", A)],
                     max_rounds=1)
    transcript = outcome.transcript()
    assert "Advocates: Apollo speaks for A (main), Athena speaks for B (sprint/batch-search)" in transcript
    athena = transcript.split("[Athena]: ", 1)[1].splitlines()
    assert athena[0].startswith("proposes B (90%)")
    assert athena[1].strip() == ("not counted: a vote for its own side needs a neutral panelist or the "
                                 "synthesis to agree")


ADVOCATES = '''
    [[panel]]
    name = "claude"
    kind = "claude-code"
    neutral = false

    [[panel]]
    name = "codex"
    kind = "codex"
    neutral = false

    [[panel]]
    name = "Numa"
    kind = "gemini"
    '''
WORKERS = '''
    [workers.Apollo]
    panelist = "claude"

    [workers.Athena]
    panelist = "codex"
    '''
HOSTILE = "60% less storage\x1b]0;owned\x07\x9b31m"


def test_the_workers_speak_for_their_branches_and_the_box_shows_each_vote(central, make_worker, agents, tmp_path):
    agents.script({
        "Apollo": [{"answer": answer(None, 0.9, "Reads fan out to every shard: 5x faster", candidate="A")}],
        "Athena": [{"answer": answer(None, 0.9, HOSTILE, candidate="B"), "wrap": "fence"}],
        "Numa": [{"answer": answer(None, 0.7, "Reads dominate this workload", candidate="A"), "wrap": "prose"}],
    })
    configure(central, ADVOCATES, consensus="advocates = true\n", workers=WORKERS)
    conflict(make_worker)
    central.run_once()

    assert central.json("log")["merges"][1]["status"] == "escalated"
    # Each worker spoke through its own agent, as itself, with its own commit messages.
    apollo, athena, numa = (agents.calls(who=name) for name in ("Apollo", "Athena", "Numa"))
    assert {c["tool"] for c in apollo} == {"claude"} and {c["tool"] for c in athena} == {"codex"}
    assert {c["tool"] for c in numa} == {"gemini"}
    assert "You are Apollo, the worker who wrote main's side (candidate A)" in apollo[0]["prompt"]
    assert "- Parallel search\n    Reads fan out to every shard." in apollo[0]["prompt"]
    assert "You are Athena, the worker who wrote the branch sprint/batch-search (candidate B)" in athena[0]["prompt"]
    assert "- Batch search\n    Queries are batched and compressed." in athena[0]["prompt"]
    assert "neutral engineer" in numa[0]["prompt"] and "the worker who wrote" not in numa[0]["prompt"]
    transcript = central.json("show", "m-0002")["transcript"]
    assert "Advocates: Apollo speaks for A (main), Athena speaks for B (sprint/batch-search)" in transcript
    assert "[Synthesis]: A, backed by Apollo, Numa" in transcript
    shown = central.mc("show", "m-0002", check=True).stdout
    assert "[Athena]: endorses B (90%): 60% less storage\\x1b]0;owned\\x07\\x9b31m" in shown
    assert "\x1b" not in shown and "\x9b" not in shown

    doc = json.loads(central.mc("decide", "show", "d-0001", "--json", check=True).stdout)
    assert doc["vote"]["tally"] == {"A": 2, "B": 1, "abstain": 0}
    assert [(r["name"], r["vote"], r.get("advocate"), r.get("counted")) for r in doc["vote"]["panelists"]] == [
        ("Apollo", "A", "A", True), ("Athena", "B", "B", False), ("Numa", "A", None, None)]
    # The box, on the server and in a clone: every vote, its reason, nothing raw from a panelist.
    server = central.mc("decide", "show", "d-0001", check=True).stdout
    clone = merge_decide(human_clone(tmp_path, central), "show", "d-0001").stdout
    for box in (server, clone):
        flat = " ".join(line.strip("║ ") for line in box.splitlines())
        assert "AI Vote: 2 for A, 1 for B, 0 abstain" in flat
        assert "[Apollo] for A (own side, 90%): Reads fan out to every shard: 5x faster" in flat
        assert "[Athena] for B (own side, not counted, 90%): 60% less storage\\x1b]0;owned\\x07\\x9b31m" in flat
        assert "[Numa] for A (70%): Reads dominate this workload" in flat
        assert "\x1b" not in box and "\x9b" not in box and "\x07" not in box


def test_the_dashboard_shows_the_round_while_the_panel_sits(central, make_worker, agents, tmp_path):
    release = tmp_path / "release"
    agents.script({
        "claude": [{"answer": answer(SPLIT, 0.5, "split, maybe", path=PATH)},
                   {"answer": answer(SPLIT, 0.9, "split", path=PATH), "wait_for": str(release)}],
        "codex": [{"answer": answer(SPLIT, 0.9, "split", path=PATH)}],
    })
    configure(central, panel("claude", "codex"))
    conflict(make_worker)
    runner = subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def in_round_two():
            status = central.json("status")
            return status["discussions"] and status["discussions"][0]["round"] == 2 and status

        assert central.wait_for(in_round_two, timeout=60)
        status = central.json("status")
        assert status["in_discussion"] == 1
        assert status["discussions"] == [{"id": "m-0002", "branch": "sprint/batch-search", "round": 2,
                                          "max_rounds": 3}]
        assert status["current"][0]["phase"] == "AI discussion" and status["current"][0]["round"] == 2
        screen = central.mc("status", check=True).stdout
        assert "In AI Discussion:     m-0002, round 2/3" in screen
        assert "Status: AI discussion, round 2/3" in screen
    finally:
        release.write_text("go")
        runner.wait(timeout=60)
    assert runner.returncode == 0, runner.stderr.read()
    assert central.show(f"main:{PATH}") == SPLIT_MAIN
    assert central.json("status")["in_discussion"] == 0


def test_without_a_configured_agent_a_worker_does_not_sit(central, make_worker, agents):
    configure(central, ADVOCATES, consensus="advocates = true\n", workers='''
        [workers.Athena]
        panelist = "codex"
        ''')
    agents.script({"Numa": [{"answer": answer(SPLIT, 0.95, "split", path=PATH)}],
                   "Athena": [{"answer": answer(None, 0.9, "mine", candidate="B")}]})
    conflict(make_worker)
    central.run_once()
    assert {c["who"] for c in agents.calls()} == {"Athena", "Numa"}      # Apollo has no agent configured
    transcript = central.json("show", "m-0002")["transcript"]
    assert "Advocates: Athena speaks for B (sprint/batch-search)" in transcript
    assert central.json("log")["merges"][1]["status"] == "escalated"      # 0.95 of 2 voters: 48%
