"""Deterministic strategies (panel kind `builtin`): the conflicts a careful engineer settles
mechanically, and nothing else.

Per hunk: changes that are equal once whitespace is ignored, and independent insertions
where order does not matter (import lines, entries of list/dict/set literals, bullet lists,
TOML keys) — the union, each entry once, checked by parsing that no entry of either side was
lost or fused with another; entries inserted into a list a build file keeps sorted — the
union in sorted order (`sortedlines`). Per Python file: both sides changed *different* definitions that
the line merge put in one hunk — merged definition by definition with the `ast` module.

Never resolves a hunk where both sides changed the same lines differently, and never leaves
a file half resolved: when any hunk of any file is beyond these strategies the panelist
recuses itself for the whole conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .bytree import merge_by_tree
from .changelog import is_changelog, unreleased_at
from .hunks import ConflictContext, FileConflict
from .insertions import union_of_insertions
from .pystructure import merge_python_definitions
from .resolver import Proposal, Round, abstain
from .sortedlines import CONFIDENCE as SORTED_CONFIDENCE, sorted_insertions
from .validate import validate_text
from .whitespace import whitespace_equal

WHITESPACE_CONFIDENCE = 0.97
CHANGELOG_CONFIDENCE = 0.90
UNION_CONFIDENCE = 0.93
STRUCTURE_CONFIDENCE = 0.92


@dataclass(frozen=True)
class FileResolution:
    text: str
    confidence: float
    how: str


class BuiltinResolver:
    """The built-in panelist. Proposes only when every hunk of every file is settled."""

    deterministic = True     # asking again gives the same answer: one round is enough

    def __init__(self, name: str = "builtin", weight: float = 1.0):
        self.name = name
        self.weight = weight

    def propose(self, context: ConflictContext, history: tuple[Round, ...]) -> Proposal:
        resolutions, notes, confidence = {}, [], 1.0
        for conflict in context.files:
            result = resolve_file(conflict)
            if isinstance(result, str):
                return abstain(self.name, f"{conflict.path}: {result}", recused=True)
            resolutions[conflict.path] = result.text
            notes.append(f"{conflict.path}: {result.how}")
            confidence = min(confidence, result.confidence)
        return Proposal(panelist=self.name, resolutions=resolutions, confidence=confidence,
                        rationale="; ".join(notes))


def resolve_file(conflict: FileConflict) -> FileResolution | str:
    """A full resolution of one file, or the reason there is none."""
    choices: dict[int, Sequence[str]] = {}
    hows: list[str] = []
    confidence = 1.0
    unresolved: list[str] = []
    for hunk in conflict.hunks:
        for strategy, how, level in ((whitespace_equal, "equal ignoring whitespace", WHITESPACE_CONFIDENCE),
                                     (union_of_insertions, "union of independent insertions", UNION_CONFIDENCE),
                                     (sorted_insertions, "insertions into a sorted list, in sorted order",
                                      SORTED_CONFIDENCE)):
            lines = strategy(conflict, hunk)
            if lines is not None and strategy is union_of_insertions and is_changelog(conflict.path):
                if not _lands_unreleased(conflict, hunk.index):
                    unresolved.append(f"{hunk.index} (entries would go under a released version)")
                    break
                how, level = "changelog entries added to the unreleased section", CHANGELOG_CONFIDENCE
            if lines is not None:
                choices[hunk.index] = lines
                hows.append(f"hunk {hunk.index} {how}")
                confidence = min(confidence, level)
                break
        else:
            unresolved.append(str(hunk.index))
    if not unresolved:
        text = conflict.render(choices)
        if validate_text(conflict.path, text) is None:
            return FileResolution(text, confidence, ", ".join(hows) or "no conflict")
    why = ""
    if conflict.language == "python":
        # Settle what the hunk strategies could on both sides alike, then merge the rest
        # by definition: the settled regions are then equal on both sides.
        ours = conflict.render({h.index: choices.get(h.index, "ours") for h in conflict.hunks})
        theirs = conflict.render({h.index: choices.get(h.index, "theirs") for h in conflict.hunks})
        merged, why = merge_python_definitions(conflict.base, ours, theirs)
        if merged is not None and validate_text(conflict.path, merged) is None:
            how = ", ".join(hows + ["the rest merged definition by definition"])
            return FileResolution(merged, min(confidence, STRUCTURE_CONFIDENCE), how)
    merged, level, tree_why = merge_by_tree(conflict)
    if merged is not None and validate_text(conflict.path, merged) is None:
        return FileResolution(merged, min(confidence, level), ", ".join(hows + [tree_why]))
    why = why or tree_why
    hunks = ", ".join(unresolved)
    return (f"hunk{'s' if len(unresolved) > 1 else ''} {hunks} need{'' if len(unresolved) > 1 else 's'} judgement, "
            f"no mechanical strategy applies" + (f" ({why})" if why else ""))


def _lands_unreleased(conflict: FileConflict, index: int) -> bool:
    """Whether hunk `index` of a changelog lies in a section that is not released yet."""
    marker = "\0mergecoord-hunk\0\n"
    lines = conflict.render({h.index: ([marker] if h.index == index else "ours") for h in conflict.hunks})
    lines = lines.splitlines(keepends=True)
    return unreleased_at(lines, lines.index(marker))
