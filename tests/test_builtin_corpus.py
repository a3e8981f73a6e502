"""The built-in panel against a corpus of real-looking conflicts.

Each case under tests/corpus/<case>/ holds base, ours (main) and theirs (the branch) of one
file, and either `expected.<ext>` (what a careful engineer writes) or an empty `ESCALATE`
(nothing mechanical is safe). Zero wrong resolutions is the bar; the summary of how many the
default panel settles is printed (and recorded as junit properties).
"""

from pathlib import Path

import pytest

from mergecoord.panel.builtin import BuiltinResolver
from mergecoord.panel.consensus import settle
from mergecoord.panel.hunks import ConflictContext, file_conflict
from mergecoord.panel.validate import validate_text

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def _side(case: Path, name: str) -> Path:
    (found,) = case.glob(f"{name}.*")
    return found


def run_case(case: Path):
    ext = _side(case, "base").suffix
    path = f"src/{case.name}{ext}"
    conflict = file_conflict(path, *(_side(case, n).read_text() for n in ("base", "ours", "theirs")))
    assert conflict.hunks, f"{case.name}: the corpus case does not conflict"
    context = ConflictContext(merge_id="m-0001", branch="sprint/x", ours_worker="apollo",
                              theirs_worker="athena", ours_message="ours", theirs_message="theirs",
                              files=(conflict,))
    outcome = settle(context, [BuiltinResolver()], validate=validate_text)
    return path, outcome


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case):
    path, outcome = run_case(case)
    if (case / "ESCALATE").exists():
        assert not outcome.resolved, f"guessed on a trap:\n{outcome.resolutions.get(path)}"
        assert outcome.resolutions == {}
    else:
        assert outcome.resolved, outcome.transcript()
        assert outcome.resolutions[path] == _side(case, "expected").read_text()
        assert outcome.confidence >= 0.85


def test_corpus_summary(capsys, record_property):
    settled = escalated = wrong = 0
    lines = []
    for case in CASES:
        path, outcome = run_case(case)
        expect_escalation = (case / "ESCALATE").exists()
        if outcome.resolved:
            ok = not expect_escalation and outcome.resolutions[path] == _side(case, "expected").read_text()
            settled += ok
            wrong += not ok
            verdict = "settled" if ok else "WRONG"
        else:
            escalated += 1
            verdict = "escalated" + ("" if expect_escalation else " (missed)")
        lines.append(f"{case.name:45} {verdict}")
    summary = (f"built-in panel on {len(CASES)} corpus cases: {settled} settled, {escalated} escalated, "
               f"{wrong} wrong")
    for name, value in (("settled", settled), ("escalated", escalated), ("wrong", wrong)):
        record_property(name, value)
    with capsys.disabled():
        print("\n" + "\n".join(lines) + "\n" + summary)
    assert wrong == 0
    assert settled == sum(1 for c in CASES if not (c / "ESCALATE").exists())


def _context(*files):
    return ConflictContext(merge_id="m-0002", branch="sprint/y", ours_worker="apollo", theirs_worker="athena",
                           ours_message="a", theirs_message="b", files=tuple(files))


def test_one_unsettled_file_leaves_the_whole_merge_to_the_panel():
    case = CASES[[c.name for c in CASES].index("py_imports_both_added")]
    settled = file_conflict("a.py", *(_side(case, n).read_text() for n in ("base", "ours", "theirs")))
    unsettled = file_conflict("b.py", "X = 1\n", "X = 2\n", "X = 3\n")
    outcome = settle(_context(settled, unsettled), [BuiltinResolver()])
    assert not outcome.resolved and outcome.resolutions == {}
    assert "b.py" in outcome.rounds[0].proposals[0].rationale


def test_a_file_settled_in_part_is_not_settled():
    base = "- one\n\ntitle\n"
    ours = "- one\n- two\n\ntitle A\n"
    theirs = "- one\n- three\n\ntitle B\n"
    conflict = file_conflict("NOTES.md", base, ours, theirs)
    assert len(conflict.hunks) == 2
    outcome = settle(_context(conflict), [BuiltinResolver()])
    assert not outcome.resolved
    assert "hunk 1" in outcome.rounds[0].proposals[0].rationale
