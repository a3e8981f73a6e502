"""The structural tier of the built-in panelist: a file the line strategies could not settle
is merged by its syntax tree (`structural`); the result must keep every line git merged
cleanly exactly where git put it.

Rules and their fixed confidences (documented in the README); the transcript names the rule
that settled each hunk. Pure: never reads or writes anything.
"""

from __future__ import annotations

from typing import Optional, Sequence

from .changelog import is_changelog, merge_changelog
from .grammars import grammar_name
from .hunks import FileConflict
from .structural import Refusal, merge_structure

RULES = {
    "same": ("the same change on both sides", 0.95),
    "entries": ("entries added on both sides, main's first", 0.91),
    "definitions": ("definitions added on both sides, main's first", 0.90),
    "disjoint": ("different parts of the tree changed", 0.90),
    "superset": ("one side added what the other did, and more", 0.93),
    "layout": ("only blank lines or spaces at the start or end of a block differ: as the side that changed them", 0.90),
    "changelog": ("changelog entries added to the unreleased section", 0.90),
    "sections": ("released sections of both sides, newest version first", 0.90),
}

_SENTINEL = "\0mergecoord-hunk\0\n"


def merge_by_tree(conflict: FileConflict) -> tuple[Optional[str], float, str]:
    """(text, confidence, how) or (None, 0, why not): the conflicted file merged by its
    structure (a changelog's sections, else its syntax tree)."""
    grammar = grammar_name(conflict.path)
    try:
        if is_changelog(conflict.path):
            merged = merge_changelog(conflict.base, conflict.ours, conflict.theirs)
            label = "changelog sections"
        elif grammar is not None:
            merged = _merge_conflicts(conflict)
            label = f"syntax tree ({grammar})"
        else:
            return None, 0.0, ""
    except Refusal as exc:
        return None, 0.0, str(exc)
    if not keeps_segments(clean_segments(conflict), merged.text):
        return None, 0.0, "the merge changed text git had merged cleanly"
    rules = sorted(merged.rules, key=lambda r: RULES[r][1]) or ["disjoint"]
    confidence = min(RULES[r][1] for r in rules)
    per_hunk = _rule_per_hunk(conflict, merged.events, rules[0])
    how = "; ".join(f"hunk {i} by {label}: {RULES[r][0]}" for i, r in per_hunk)
    return merged.text, confidence, how


def _merge_conflicts(conflict: FileConflict):
    """The structural merge of git's conflicts alone, else of the whole file.

    First the three versions git's merge gives when every hunk takes the base's, ours' or
    theirs' lines: what git merged cleanly is then the same in all three, so only the
    conflicts are merged by tree, and a clean change of one side next to the other side's
    change is no longer a reason to refuse. The checks that need what each side really did
    (a line removed, a name renamed, a signature changed) still read the real sides. When
    that merge refuses, the whole file is merged by tree as before."""
    try:
        sides = [conflict.render({h.index: side for h in conflict.hunks}) for side in ("base", "ours", "theirs")]
    except ValueError:          # hunks that are not git's merge of the texts: the whole file only
        sides = None
    real = (conflict.base, conflict.ours, conflict.theirs)
    if sides is not None:
        try:
            return merge_structure(conflict.path, *sides, originals=real)
        except Refusal as refusal:
            try:
                return merge_structure(conflict.path, *real)
            except Refusal:
                raise refusal from None      # why git's conflicts themselves are not mechanical
    return merge_structure(conflict.path, *real)


def clean_segments(conflict: FileConflict) -> list[list[str]]:
    """What git merged cleanly: the file's lines between (and around) the conflict hunks."""
    text = conflict.render({h.index: [_SENTINEL] for h in conflict.hunks})
    segments: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if line == _SENTINEL:
            segments.append([])
        else:
            segments[-1].append(line)
    return segments


def keeps_segments(segments: Sequence[Sequence[str]], text: str) -> bool:
    """True when `text` starts with the first segment, ends with the last, and holds every
    other one, whole and in order, in between."""
    lines = text.splitlines(keepends=True)
    first, last = list(segments[0]), list(segments[-1])
    if len(segments) == 1:
        return lines == first
    if lines[:len(first)] != first or (last and lines[len(lines) - len(last):] != last):
        return False
    position, end = len(first), len(lines) - len(last)
    if end < position:
        return False
    for segment in segments[1:-1]:
        segment = list(segment)
        for i in range(position, end - len(segment) + 1):
            if lines[i:i + len(segment)] == segment:
                position = i + len(segment)
                break
        else:
            return False
    return True


def _rule_per_hunk(conflict: FileConflict, events, default: str) -> list[tuple[int, str]]:
    """The rule that settled each hunk: the least certain rule applied where the hunk is."""
    segments = clean_segments(conflict)
    spans, line = [], {1: 0, 2: 0}
    for hunk, segment in zip(conflict.hunks, segments):
        line = {side: n + len(segment) for side, n in line.items()}
        sizes = {1: len(hunk.ours), 2: len(hunk.theirs)}
        spans.append({side: (line[side], line[side] + sizes[side]) for side in (1, 2)})
        line = {side: line[side] + sizes[side] for side in (1, 2)}
    out = []
    for hunk, span in zip(conflict.hunks, spans):
        found = [rule for side, first, last, rule in events
                 if first <= span[side][1] and last >= span[side][0] - 1]
        # the least certain rule; on a tie the one that says more than "different parts"
        rule = min(found, key=lambda r: (RULES[r][1], r == "disjoint")) if found else default
        out.append((hunk.index, rule))
    return out
