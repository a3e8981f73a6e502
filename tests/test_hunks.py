"""Conflicted files as hunks, and rebuilding them from per-hunk choices."""

import pytest

from mergecoord.panel.hunks import file_conflict, language_of

BASE = "header\none\ntwo\nthree\nmiddle\nfour\nfive\nfooter\n"
OURS = "HEADER by main\none\nTWO main\nthree\nmiddle\nfour\nFIVE main\nfooter\n"
THEIRS = "header\none\nTWO branch\nthree\nmiddle\nfour\nFIVE branch\nfooter\nappended by branch\n"


def test_hunks_carry_base_ours_theirs_and_context():
    conflict = file_conflict("notes.txt", BASE, OURS, THEIRS)
    assert conflict.language == "text"
    assert [h.index for h in conflict.hunks] == [0, 1]
    first, second = conflict.hunks
    assert (first.base, first.ours, first.theirs) == (("two\n",), ("TWO main\n",), ("TWO branch\n",))
    assert first.before == ("HEADER by main\n", "one\n")
    assert first.after == ("three\n", "middle\n", "four\n")
    assert second.ours == ("FIVE main\n",) and second.theirs == ("FIVE branch\n",)


def test_render_keeps_every_non_conflicting_change_of_both_sides():
    conflict = file_conflict("notes.txt", BASE, OURS, THEIRS)
    option_a = conflict.render({0: "ours", 1: "ours"})
    option_b = conflict.render({0: "theirs", 1: "theirs"})
    for text in (option_a, option_b):
        assert text.startswith("HEADER by main\n")          # main's clean change
        assert text.endswith("appended by branch\n")         # the branch's clean change
    assert "TWO main" in option_a and "FIVE main" in option_a and "branch\nfooter" not in option_a
    assert "TWO branch" in option_b and "FIVE branch" in option_b


def test_render_with_base_explicit_lines_and_both_sides():
    conflict = file_conflict("notes.txt", BASE, OURS, THEIRS)
    text = conflict.render({0: "base", 1: ("five, reconciled\n",)})
    assert "\ntwo\n" in text and "five, reconciled\n" in text
    both = conflict.render({0: "ours+theirs", 1: "theirs+ours"})
    assert "TWO main\nTWO branch\n" in both and "FIVE branch\nFIVE main\n" in both


def test_render_refuses_a_missing_choice():
    conflict = file_conflict("notes.txt", BASE, OURS, THEIRS)
    with pytest.raises(ValueError, match="hunk 1"):
        conflict.render({0: "ours"})


def test_marked_shows_diff3_markers():
    conflict = file_conflict("notes.txt", BASE, OURS, THEIRS)
    marked = conflict.marked()
    assert marked.count("<<<<<<< ours (main)") == 2
    assert "||||||| base\ntwo\n=======\nTWO branch\n>>>>>>> theirs (branch)\n" in marked


def test_clean_merge_has_no_hunks():
    conflict = file_conflict("a.py", "a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n")
    assert conflict.hunks == ()
    assert conflict.render({}) == "A\nb\nC\n"


def test_file_without_final_newline():
    conflict = file_conflict("a.txt", "x", "y", "z")
    assert conflict.hunks[0].ours == ("y",)
    assert conflict.render({0: "theirs"}) == "z"
    assert conflict.marked().endswith(">>>>>>> theirs (branch)\n")


@pytest.mark.parametrize("path,language", [
    ("pkg/mod.py", "python"), ("package.json", "json"), ("pyproject.toml", "toml"),
    ("docs/README.md", "markdown"), ("CHANGELOG", "markdown"), ("notes.txt", "text"),
    ("Makefile", "make"), ("LICENSE", "text"), ("src/app.ts", "typescript")])
def test_language_from_the_file_name(path, language):
    assert language_of(path) == language
