"""Conflicted files split into hunks, as plain data: git's hunks.

git computes every merge (`mergecoord.merge`); the file it writes for a conflicted path
carries diff3-style markers around each conflicting region, with the base text between
them. `from_markers` reads those regions back into `ConflictHunk`s and the text between
them, and keeps the result only if it is faithful: taking "ours" in every hunk must give
stage 2 byte for byte and "theirs" stage 3. When it is not (a file whose own lines look like
markers, say), there are no hunks and the caller escalates: a file git calls conflicted is
never "no conflict" here. `render` rebuilds the file from a choice per hunk, keeping every
non-conflicting change of both sides exactly as git merged them.

Under zdiff3 the lines that both sides share at the start or end of a region are moved out
of it, so a hunk's `base` is the base of the whole region: choosing "base" puts those shared
lines around it. Lines are split on "\n" only, as git splits them. Pure, except
`file_conflict`, which asks git to merge three texts.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

CONTEXT_LINES = 3
MARKER_SIZE = 7

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


Piece = Union[tuple, int]    # lines git merged cleanly, or the index of a hunk


@dataclass(frozen=True)
class FileConflict:
    path: str
    language: str
    base: str
    ours: str      # main's side
    theirs: str    # the branch's side
    hunks: tuple[ConflictHunk, ...]
    pieces: tuple = field(default=(), repr=False, compare=False)   # git's merge: lines and hunk indexes

    def _pieces(self) -> tuple:
        if self.pieces:
            return self.pieces
        # Built by hand from texts and hunks: ask git for the regions between them.
        derived = file_conflict(self.path, self.base, self.ours, self.theirs)
        if derived.hunks != self.hunks:
            raise ValueError(f"{self.path}: these hunks are not git's merge of the three texts")
        return derived.pieces

    def render(self, choices: Mapping[int, Choice]) -> str:
        """The whole file with hunk i replaced by `choices[i]`.

        A choice is "ours", "theirs", "base", "ours+theirs" / "theirs+ours" (both sides, in
        that order), or explicit replacement lines. Every hunk needs a choice: a missing one
        is a ValueError rather than a silently kept conflict.
        """
        out: list[str] = []
        for piece in self._pieces():
            if not isinstance(piece, int):
                out.extend(piece)
                continue
            if piece not in choices:
                raise ValueError(f"{self.path}: no choice for hunk {piece}")
            out.extend(_chosen(self.hunks[piece], choices[piece]))
        return "".join(out)

    def render_one(self, index: int, choice: Choice) -> str:
        """The file with hunk `index` as `choice` and every other hunk as main's side: what a
        strategy parses to judge one hunk on its own."""
        return self.render({h.index: (choice if h.index == index else "ours") for h in self.hunks})

    def marked(self) -> str:
        """The file with diff3-style conflict markers, as a human (or a model) reads it."""
        out: list[str] = []
        for piece in self._pieces():
            if not isinstance(piece, int):
                out.extend(piece)
                continue
            hunk = self.hunks[piece]
            out.append("<<<<<<< ours (main)\n")
            out.extend(_terminated(hunk.ours))
            out.append("||||||| base\n")
            out.extend(_terminated(hunk.base))
            out.append("=======\n")
            out.extend(_terminated(hunk.theirs))
            out.append(">>>>>>> theirs (branch)\n")
        return "".join(out)


def _lines(text: str) -> list[str]:
    """Lines with their endings, split on "\n" only (git's lines: a lone "\r" or a form
    feed does not end a line)."""
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


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


def _is_marker(line: str, char: str) -> bool:
    """A conflict marker of git's size: exactly seven `char`s, then a space or the end of
    the line (markers of a virtual merge base are longer and stay content)."""
    return line.startswith(char * MARKER_SIZE) and line[MARKER_SIZE:MARKER_SIZE + 1] in ("", " ", "\r", "\n")


def _run_at(stage: list, run: list, start: int):
    """Where `run` lies in `stage` as one contiguous run at or after `start`: (position,
    the run as the stage has it), or None. git ends a region's last line with a newline
    when the file had none, so a run ending at the end of a file may lack it there."""
    n = len(run)
    if n == 0:
        return start, run
    last = stage[-1] if stage else ""
    bare = None
    if not last.endswith("\n"):
        for ending in ("\r\n", "\n"):
            if run[-1].endswith(ending) and run[-1][:-len(ending)] == last:
                bare = run[:-1] + [last]
                break
    for pos in range(start, len(stage) - n + 1):
        if stage[pos:pos + n] == run:
            return pos, run
    if bare is not None and len(stage) >= n and stage[len(stage) - n:] == bare and len(stage) - n >= start:
        return len(stage) - n, bare
    return None


def _regions(merged: list, stages: tuple) -> Optional[list]:
    """git's conflicted file as pieces: lists of clean lines and (base, ours, theirs)
    regions; None when it cannot be read back faithfully.

    A marker is only taken as one when the side it closes is a contiguous run of that
    side's file, after the previous region's run: a line of the file's own that looks
    like a marker (an rst underline "=======", say) stays content, and when no reading
    fits, the file has no hunks."""
    pieces: list = [[]]
    at = [0, 0, 0]                       # where the next region may start in base, ours, theirs
    closing = ((1, "|", 0), (0, "=", 2), (2, ">", None))   # (side being read, marker, next side)
    i = 0
    while i < len(merged):
        line = merged[i]
        region = _region(merged, i, stages, at, closing) if _is_marker(line, "<") else None
        if region is None:
            pieces[-1].append(line)
            i += 1
            continue
        i, sides, found = region
        if not _from_gaps(pieces[-1], stages, at):
            return None
        pieces.append(sides)
        pieces.append([])
        for side in (0, 1, 2):
            at[side] = found[side] + len(sides[side])
    if not any(isinstance(p, tuple) for p in pieces):
        return None
    if not _from_gaps(pieces[-1], stages, at):
        return None
    return pieces


def _from_gaps(clean, stages, start) -> bool:
    """git copies every line it merges cleanly from ours or theirs: each clean line after
    a region must be among the lines of one side after it. (A side's run is placed at its
    first fit, which may be early in a file of repeated lines, so only where the gap
    starts is known.)"""
    if not clean:
        return True
    seen = set(stages[1][start[1]:]) | set(stages[2][start[2]:])
    return all(line in seen for line in clean)


def _region(merged, i, stages, at, closing):
    """(index after the region, (base, ours, theirs), their positions) for a region that
    starts at merged[i], or None."""
    sides: list = [[], [], []]
    found = [0, 0, 0]
    step = 0
    side, marker, _next = closing[0]
    i += 1
    while i < len(merged):
        line = merged[i]
        if _is_marker(line, marker):
            hit = _run_at(stages[side], sides[side], at[side])
            if hit is not None:
                found[side], sides[side] = hit[0], list(hit[1])
                step += 1
                if step == len(closing):
                    return i + 1, tuple(tuple(s) for s in sides), found
                side, marker, _next = closing[step]
                i += 1
                continue
        sides[side].append(line)
        i += 1
    return None


def from_markers(path: str, base: str, ours: str, theirs: str, merged: str) -> Optional[FileConflict]:
    """The FileConflict of git's conflicted file `merged` (the three stages' texts given),
    or None when its hunks cannot be derived faithfully."""
    stages = (_lines(base), _lines(ours), _lines(theirs))
    raw = _regions(_lines(merged), stages)
    if raw is None:
        return None
    pieces: list = []
    hunks: list[ConflictHunk] = []
    merged_before: list[str] = []
    for position, piece in enumerate(raw):
        if isinstance(piece, list):
            if piece:
                pieces.append(tuple(piece))
                merged_before.extend(piece)
            continue
        b, o, t = piece
        if o == t:
            # both sides made the same change, aligned differently against the base: git's
            # default style merges that cleanly, diff3 keeps it as a region
            pieces.append(o)
            merged_before.extend(o)
            continue
        after: list[str] = []
        for later in raw[position + 1:]:
            if isinstance(later, tuple) and later[1] != later[2] or len(after) >= CONTEXT_LINES:
                break
            after.extend(later[1] if isinstance(later, tuple) else later)
        hunks.append(ConflictHunk(
            index=len(hunks), base=b, ours=o, theirs=t,
            before=tuple(merged_before[-CONTEXT_LINES:]), after=tuple(after[:CONTEXT_LINES])))
        pieces.append(len(hunks) - 1)
        merged_before.extend(o)   # context for the next hunk reads as main's side
    return FileConflict(path=path, language=language_of(path), base=base, ours=ours,
                        theirs=theirs, hunks=tuple(hunks), pieces=tuple(pieces))


def file_conflict(path: str, base: str, ours: str, theirs: str) -> FileConflict:
    """git's merge of three texts of one file, split into its conflicting hunks (none when
    git merges it cleanly). A ValueError when git conflicts but its hunks cannot be
    derived faithfully."""
    from ..merge import merge_texts

    encode = lambda text: text.encode("utf-8", "surrogateescape")
    result, merged = merge_texts(encode(base), encode(ours), encode(theirs))
    text = merged.decode("utf-8", "surrogateescape")
    if result.clean:
        return FileConflict(path=path, language=language_of(path), base=base, ours=ours,
                            theirs=theirs, hunks=(), pieces=(tuple(_lines(text)),))
    conflict = from_markers(path, base, ours, theirs, text)
    if conflict is None:
        raise ValueError(f"{path}: git's conflict hunks cannot be read back faithfully")
    return conflict


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
