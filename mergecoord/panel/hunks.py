"""Conflicted files split into hunks, as plain data.

A `FileConflict` keeps the three whole texts and the hunks merge3 could not merge; `render`
rebuilds the file from a choice per hunk, keeping every non-conflicting change of both
sides exactly as merge3 merges them. Pure: no I/O, no git.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import merge3

CONTEXT_LINES = 3

Choice = Union[str, Sequence[str]]   # "ours" / "theirs" / "base" / "ours+theirs" / "theirs+ours" or replacement lines

_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".json": "json", ".toml": "toml",
    ".md": "markdown", ".markdown": "markdown", ".rst": "rst", ".txt": "text",
    ".yml": "yaml", ".yaml": "yaml", ".js": "javascript", ".mjs": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".go": "go", ".rs": "rust",
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".java": "java",
    ".sh": "shell", ".cfg": "ini", ".ini": "ini", ".html": "html", ".css": "css",
}
_NAMED = {"CHANGELOG": "markdown", "CHANGES": "markdown", "NEWS": "markdown", "Makefile": "make"}


def language_of(path: str) -> str:
    """The language of a file from its name; "text" when we cannot tell."""
    name = posixpath.basename(path)
    stem, ext = posixpath.splitext(name)
    if ext.lower() in _LANGUAGES:
        return _LANGUAGES[ext.lower()]
    return _NAMED.get(name, _NAMED.get(stem.upper(), "text"))


@dataclass(frozen=True)
class ConflictHunk:
    index: int
    base: tuple[str, ...]
    ours: tuple[str, ...]
    theirs: tuple[str, ...]
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class FileConflict:
    path: str
    language: str
    base: str
    ours: str      # main's side
    theirs: str    # the branch's side
    hunks: tuple[ConflictHunk, ...]

    def _groups(self) -> list[tuple]:
        return list(merge3.Merge3(_lines(self.base), _lines(self.ours), _lines(self.theirs)).merge_groups())

    def render(self, choices: Mapping[int, Choice]) -> str:
        """The whole file with hunk i replaced by `choices[i]`.

        A choice is "ours", "theirs", "base", "ours+theirs" / "theirs+ours" (both sides, in
        that order), or explicit replacement lines. Every hunk needs a choice: a missing one
        is a ValueError rather than a silently kept conflict.
        """
        out: list[str] = []
        index = 0
        for group in self._groups():
            if group[0] != "conflict":
                out.extend(group[1])
                continue
            if index not in choices:
                raise ValueError(f"{self.path}: no choice for hunk {index}")
            out.extend(_chosen(self.hunks[index], choices[index]))
            index += 1
        return "".join(out)

    def render_one(self, index: int, choice: Choice) -> str:
        """The file with hunk `index` as `choice` and every other hunk as main's side: what a
        strategy parses to judge one hunk on its own."""
        return self.render({h.index: (choice if h.index == index else "ours") for h in self.hunks})

    def marked(self) -> str:
        """The file with diff3-style conflict markers, as a human (or a model) reads it."""
        out: list[str] = []
        for group in self._groups():
            if group[0] != "conflict":
                out.extend(group[1])
                continue
            _, base, ours, theirs = group
            out.append("<<<<<<< ours (main)\n")
            out.extend(_terminated(ours))
            out.append("||||||| base\n")
            out.extend(_terminated(base))
            out.append("=======\n")
            out.extend(_terminated(theirs))
            out.append(">>>>>>> theirs (branch)\n")
        return "".join(out)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _terminated(lines: Sequence[str]) -> list[str]:
    lines = list(lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _chosen(hunk: ConflictHunk, choice: Choice) -> Sequence[str]:
    if isinstance(choice, str):
        sides = {"ours": hunk.ours, "theirs": hunk.theirs, "base": hunk.base,
                 "ours+theirs": _terminated(hunk.ours) + list(hunk.theirs),
                 "theirs+ours": _terminated(hunk.theirs) + list(hunk.ours)}
        if choice not in sides:
            raise ValueError(f"unknown choice {choice!r} for hunk {hunk.index}")
        return sides[choice]
    return tuple(choice)


def file_conflict(path: str, base: str, ours: str, theirs: str) -> FileConflict:
    """Split a three-way merge of one file into its conflicting hunks (possibly none)."""
    groups = list(merge3.Merge3(_lines(base), _lines(ours), _lines(theirs)).merge_groups())
    merged_before: list[str] = []
    hunks: list[ConflictHunk] = []
    for position, group in enumerate(groups):
        if group[0] != "conflict":
            merged_before.extend(group[1])
            continue
        after: list[str] = []
        for later in groups[position + 1:]:
            if later[0] == "conflict" or len(after) >= CONTEXT_LINES:
                break
            after.extend(later[1])
        _, g_base, g_ours, g_theirs = group
        hunks.append(ConflictHunk(
            index=len(hunks), base=tuple(g_base), ours=tuple(g_ours), theirs=tuple(g_theirs),
            before=tuple(merged_before[-CONTEXT_LINES:]), after=tuple(after[:CONTEXT_LINES])))
        merged_before.extend(g_ours)   # context for the next hunk reads as main's side
    return FileConflict(path=path, language=language_of(path), base=base, ours=ours,
                        theirs=theirs, hunks=tuple(hunks))


@dataclass(frozen=True)
class ConflictContext:
    """What the panel needs to judge intent."""
    merge_id: str
    branch: str
    ours_worker: str
    theirs_worker: str
    ours_message: str
    theirs_message: str
    files: tuple[FileConflict, ...]
    lessons: tuple[str, ...] = ()
    ours_log: tuple[str, ...] = ()      # messages of main's changes to these files since the base, newest first
    theirs_log: tuple[str, ...] = ()    # messages of the branch's commits since the base, newest first
    workdir: str = ""                   # a checkout of the merge (markers in the conflicted files) to copy, or ""
