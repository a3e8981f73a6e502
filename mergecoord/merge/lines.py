"""Three-way line merge that reaches git's verdicts and writes git's conflict markers.

Why not merge3 directly: merge3 merges changes that touch *adjacent* base lines, where
git's ``xdl_merge`` calls them a conflict, and its difflib alignment differs from git's.
This module diffs base against each side as xdiff does (``xdiff.changed_lines`` plus the
change compaction below), walks the two hunk lists as ``xdl_do_merge`` does at level
ZEALOUS (identical changes are not a conflict), narrows each conflict to the lines where
the sides differ and joins conflicts at most three lines apart, as git does.
It never touches files or prints; inputs and outputs are bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from .xdiff import changed_lines

MARKER_SIZE = 7


@dataclass(frozen=True)
class Hunk:
    """A change of one side against the base: base[b0:b1] became side[s0:s1]."""

    b0: int
    b1: int
    s0: int
    s1: int


def split_lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def is_binary(data: bytes) -> bool:
    """git's buffer_is_binary: a NUL byte in the first 8000 bytes."""
    return b"\0" in data[:8000]


class _Groups:
    """A cursor over the groups of changed lines of one file (xdiff's struct xdlgroup)."""

    def __init__(self, recs, rchg):
        self.recs, self.rchg, self.n = recs, rchg, len(recs)
        self.start = self.end = 0
        while self.end < self.n and rchg[self.end]:
            self.end += 1

    def _chg(self, i):
        return 0 <= i < self.n and self.rchg[i]

    def next(self) -> bool:
        if self.end == self.n:
            return False
        self.start = self.end = self.end + 1
        while self._chg(self.end):
            self.end += 1
        return True

    def previous(self) -> bool:
        if self.start == 0:
            return False
        self.end = self.start = self.start - 1
        while self._chg(self.start - 1):
            self.start -= 1
        return True

    def slide_down(self) -> bool:
        if self.end < self.n and self.recs[self.start] == self.recs[self.end]:
            self.rchg[self.start] = False
            self.rchg[self.end] = True
            self.start += 1
            self.end += 1
            while self._chg(self.end):
                self.end += 1
            return True
        return False

    def slide_up(self) -> bool:
        if self.start > 0 and self.recs[self.start - 1] == self.recs[self.end - 1]:
            self.start -= 1
            self.end -= 1
            self.rchg[self.start] = True
            self.rchg[self.end] = False
            while self._chg(self.start - 1):
                self.start -= 1
            return True
        return False


def _compact(recs, rchg, orecs, orchg) -> None:
    """git's xdl_change_compact without the indent heuristic: slide each group of changed
    lines as far down as it goes, merging groups it meets, unless it can line up with a
    change in the other file, in which case it goes back up to the last such position."""
    g, go = _Groups(recs, rchg), _Groups(orecs, orchg)
    while True:
        if g.end != g.start:
            while True:
                size = g.end - g.start
                end_matching_other = -1
                while g.slide_up():
                    go.previous()
                earliest_end = g.end
                if go.end > go.start:
                    end_matching_other = g.end
                while g.slide_down():
                    go.next()
                    if go.end > go.start:
                        end_matching_other = g.end
                if size == g.end - g.start:
                    break
            if g.end != earliest_end and end_matching_other != -1:
                while go.end == go.start:
                    g.slide_up()
                    go.previous()
        if not g.next():
            break
        go.next()


def diff_hunks(base: list, side: list) -> list[Hunk]:
    cb, cs = changed_lines(base, side)
    _compact(base, cb, side, cs)
    _compact(side, cs, base, cb)
    hunks = []
    i = j = 0
    nb, ns = len(base), len(side)
    while i < nb or j < ns:
        if i < nb and j < ns and not cb[i] and not cs[j]:
            i += 1
            j += 1
            continue
        i0, j0 = i, j
        while i < nb and cb[i]:
            i += 1
        while j < ns and cs[j]:
            j += 1
        if i == i0 and j == j0:  # defensive: desynchronised flags
            i += 1 if i < nb else 0
            j += 1 if j < ns else 0
        hunks.append(Hunk(i0, i, j0, j))
    return hunks


@dataclass(frozen=True)
class LineMerge:
    content: bytes
    conflicts: int  # number of conflict regions written with markers


def merge_lines(base: bytes, ours: bytes, theirs: bytes, labels=("ours", "base", "theirs"),
                marker_size: int = MARKER_SIZE) -> LineMerge:
    b, o, t = split_lines(base), split_lines(ours), split_lines(theirs)
    chunks = _refine(_regions(b, o, t, diff_hunks(b, o), diff_hunks(b, t)))
    chunks = _simplify(chunks)
    out: list[bytes] = []
    conflicts = 0
    for chunk in chunks:
        if chunk[0] == "conflict":
            conflicts += 1
            _emit_conflict(out, chunk[1], chunk[2], labels, marker_size)
        else:
            out.extend(chunk[1])
    return LineMerge(b"".join(out), conflicts)


def _regions(b, o, t, h1, h2) -> list:
    """Walk both sides' hunks like xdl_do_merge: ("keep", lines) for unchanged lines,
    ("change", lines) for a one-sided change, ("conflict", ours, theirs) where the sides'
    changes overlap or touch (adjacent base lines count as touching, as in git)."""
    chunks: list = []
    pos = 0  # next base line to copy
    i1 = i2 = 0
    while i1 < len(h1) or i2 < len(h2):
        x = h1[i1] if i1 < len(h1) else None
        y = h2[i2] if i2 < len(h2) else None
        if y is None or (x is not None and x.b1 < y.b0):
            chunks += [("keep", b[pos:x.b0]), ("change", o[x.s0:x.s1])]
            pos = x.b1
            i1 += 1
            continue
        if x is None or y.b1 < x.b0:
            chunks += [("keep", b[pos:y.b0]), ("change", t[y.s0:y.s1])]
            pos = y.b1
            i2 += 1
            continue
        # Overlapping or adjacent: grow the region until neither side has a hunk touching it.
        lo, hi = min(x.b0, y.b0), max(x.b1, y.b1)
        xs, ys = [x], [y]
        i1 += 1
        i2 += 1
        grown = True
        while grown:
            grown = False
            if i1 < len(h1) and h1[i1].b0 <= hi:
                xs.append(h1[i1]); hi = max(hi, h1[i1].b1); i1 += 1; grown = True
            if i2 < len(h2) and h2[i2].b0 <= hi:
                ys.append(h2[i2]); hi = max(hi, h2[i2].b1); i2 += 1; grown = True
        chunks.append(("keep", b[pos:lo]))
        ours_part = _side_region(b, o, xs, lo, hi)
        theirs_part = _side_region(b, t, ys, lo, hi)
        pos = hi
        same_hunk = (len(xs) == len(ys) == 1 and (x.b0, x.b1) == (y.b0, y.b1))
        if ours_part == theirs_part and same_hunk:
            chunks.append(("keep", ours_part))  # the very same change: git records nothing
        else:
            chunks.append(("conflict", ours_part, theirs_part))
    chunks.append(("keep", b[pos:]))
    return chunks


def _refine(chunks) -> list:
    """xdl_refine_conflicts: diff the two sides of each conflict and keep as conflicts only
    the hunks where they differ (identical sides stop being a conflict at all)."""
    out: list = []
    for chunk in chunks:
        if chunk[0] != "conflict" or not chunk[1] or not chunk[2]:
            out.append(chunk)
            continue
        ours, theirs = chunk[1], chunk[2]
        hunks = diff_hunks(ours, theirs)
        if not hunks:
            out.append(("change", ours))
            continue
        p = 0
        for h in hunks:
            out.append(("keep", ours[p:h.b0]))
            out.append(("conflict", ours[h.b0:h.b1], theirs[h.s0:h.s1]))
            p = h.b1
        out.append(("keep", ours[p:]))
    return out


def _simplify(chunks) -> list:
    """xdl_simplify_non_conflicts: two conflicts with at most three unchanged lines and no
    other change between them become one conflict."""
    out: list = []
    for chunk in chunks:
        if chunk[0] == "keep" and not chunk[1]:
            continue
        if chunk[0] == "conflict":
            # find the previous conflict with only "keep" chunks after it
            j = len(out) - 1
            while j >= 0 and out[j][0] == "keep":
                j -= 1
            if j >= 0 and out[j][0] == "conflict":
                gap = [line for c in out[j + 1:] for line in c[1]]
                if len(gap) <= 3:
                    prev = out[j]
                    del out[j:]
                    chunk = ("conflict", prev[1] + gap + chunk[1], prev[2] + gap + chunk[2])
        out.append(chunk)
    return out


def _side_region(base, side, hunks, lo, hi):
    """The side's lines replacing base[lo:hi], given its hunks inside that range."""
    res = []
    p = lo
    for h in hunks:
        res.extend(base[p:h.b0])
        res.extend(side[h.s0:h.s1])
        p = h.b1
    res.extend(base[p:hi])
    return res


def _emit_conflict(out, ours, theirs, labels, size) -> None:
    out.append(b"<" * size + b" " + labels[0].encode() + b"\n")
    out.extend(_ensure_nl(ours))
    out.append(b"=" * size + b"\n")
    out.extend(_ensure_nl(theirs))
    out.append(b">" * size + b" " + labels[2].encode() + b"\n")


def _ensure_nl(lines):
    if lines and not lines[-1].endswith(b"\n"):
        return lines[:-1] + [lines[-1] + b"\n"]
    return lines
