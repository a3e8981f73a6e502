"""Strategy: both sides inserted lines into a list a project keeps sorted, one entry a line
(the test scripts of a `meson.build`, `LIB_OBJS += …` in a Makefile). The result is the
union in sorted order, as whoever keeps the list sorted would write it. Pure.

For files no grammar parses (build files), never for changelogs; confidence 0.92. The hunk's
lines and the lines next to it that git merged cleanly form a *run*: consecutive lines of
one shape (a quoted string with the same indentation and comma, or one variable's `+=`), at
least two of them in the base and four in the result. Settled only when each side only
inserted lines into that run (the whole list as the side has it: a side that also removed
or renamed an entry rewrote the list), the run is sorted and free of repeats in the base, in
ours and in theirs, and no entry is both sides'. Anything else — a line removed or changed, a
line of another shape, an unsorted list — is not this rule's.
"""

from __future__ import annotations

import difflib
import re
from typing import Optional

from .changelog import is_changelog
from .grammars import grammar_name
from .hunks import ConflictHunk, FileConflict

CONFIDENCE = 0.92

# A line that is one entry of a list: (shape, sort key). Only lines of one shape form a run.
_QUOTED = re.compile(r"""^(?P<indent>[ \t]*)(?P<q>['"])(?P<value>[^'"\\\s]+)(?P=q)(?P<comma>,?)(?P<eol>\r?\n)$""")
_APPEND = re.compile(r"^(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?P<op>[ \t]*\+=[ \t]*)(?P<value>[^\s#\\$]\S*)(?P<eol>\r?\n)$")
# Lines in order by chance are no evidence that anyone keeps them sorted: at least two in
# the base and four in the result.
_MIN_BASE, _MIN_RESULT = 2, 4
_SENTINEL = "\0mergecoord-sorted-hunk-{}\0\n"


def _entry(line: str) -> Optional[tuple[tuple, str]]:
    for pattern in (_QUOTED, _APPEND):
        found = pattern.match(line)
        if found:
            parts = found.groupdict()
            value = parts.pop("value")
            return (pattern.pattern, tuple(sorted(parts.items()))), value
    return None


def sorted_insertions(conflict: FileConflict, hunk: ConflictHunk) -> Optional[tuple[str, ...]]:
    """The hunk's lines in sorted order when both sides only inserted entries into a sorted run."""
    if grammar_name(conflict.path) is not None or is_changelog(conflict.path):
        return None
    sides = [list(hunk.base), list(hunk.ours), list(hunk.theirs)]
    for side in sides[1:]:
        matcher = difflib.SequenceMatcher(None, sides[0], side, autojunk=False)
        if any(op not in ("equal", "insert") for op, *_ in matcher.get_opcodes()):
            return None
    entries = [_entry(line) for line in sides[1] + sides[2]]
    if any(e is None for e in entries) or len({shape for shape, _ in entries}) != 1:
        return None
    shape = entries[0][0]
    before, after = _clean_neighbours(conflict, hunk, shape)
    runs = []
    for side in sides:
        keys = [_entry(line)[1] for line in before + side + after]
        if keys != sorted(keys) or len(keys) != len(set(keys)):
            return None
        runs.append(keys)
    if len(runs[0]) < _MIN_BASE or len(set(runs[1]) | set(runs[2])) < _MIN_RESULT:
        return None
    # The whole list as each side has it, beside the hunk too: a side that removed or renamed
    # an entry anywhere in it rewrote the list (a list synced from elsewhere, a renamed test
    # script), and that is a judgement, not an insertion.
    anchors = {_entry(line)[1] for line in before + sides[0] + after}
    lists = [_run_with(text, shape, anchors) for text in (conflict.base, conflict.ours, conflict.theirs)]
    if any(found is None for found in lists) or not (lists[0] <= lists[1] and lists[0] <= lists[2]):
        return None
    added = [set(runs[i]) - set(runs[0]) for i in (1, 2)]
    if not added[0] or not added[1] or added[0] & added[1]:
        return None
    by_key = {_entry(line)[1]: line for line in sides[0] + sides[1] + sides[2]}
    return tuple(by_key[key] for key in sorted(set(by_key)))


def _run_with(text: str, shape: tuple, anchors: set) -> Optional[set]:
    """The entries of the one run of `shape` in `text` that holds any of `anchors`; None
    when no run or several do."""
    runs, current = [], []
    for line in text.splitlines(keepends=True) + [""]:
        entry = _entry(line)
        if entry is not None and entry[0] == shape:
            current.append(entry[1])
        elif current:
            runs.append(set(current))
            current = []
    found = [run for run in runs if run & anchors]
    return found[0] if len(found) == 1 else None


def _clean_neighbours(conflict: FileConflict, hunk: ConflictHunk, shape: tuple) -> tuple[list[str], list[str]]:
    """The entries of `shape` git merged cleanly right before and right after the hunk, up to
    the first line that is not one (another hunk, a blank line, another variable)."""
    text = conflict.render({h.index: [_SENTINEL.format(h.index)] for h in conflict.hunks})
    lines = text.splitlines(keepends=True)
    at = lines.index(_SENTINEL.format(hunk.index))
    start = at
    same = lambda line: (_entry(line) or (None,))[0] == shape
    while start > 0 and same(lines[start - 1]):
        start -= 1
    end = at + 1
    while end < len(lines) and same(lines[end]):
        end += 1
    return lines[start:at], lines[at + 1:end]
