"""Changelogs: new entries go into the unreleased section, and an entry that would land under
an already released version is never settled mechanically. Pure.

A changelog is recognised by its name (CHANGELOG, CHANGES, HISTORY, NEWS, RELEASE-NOTES,
with any extension). Its sections start at headings: Markdown `#` headings, setext or
reStructuredText underlines, and version lines such as `2.17.0 (not yet released)`. A section
is *unreleased* when its heading, or the first line of text under it, says so (Unreleased,
not yet released, upcoming, in development, TBD, ...); a section whose heading names a
version and says nothing of the kind is released; a section we cannot read is treated as
released.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from dataclasses import dataclass
from typing import Sequence

from .structural import Merged, Refusal, check_lines, three_way

_NAMES = re.compile(r"^(change[-_]?(s|log)|history|news|release[-_ ]?notes|version[-_]\S+)([-_.].*)?$", re.I)
_UNDERLINE = re.compile(r"^([=\-~^*+#`'\".:_])\1{2,}\s*$")
_ATX = re.compile(r"^#{1,6}\s+\S")
_VERSION_LINE = re.compile(r"^(version\s+|v|\[)?\d+\.\d+[\w.\-]*\]?(\s|:|$)", re.I)
_UNRELEASED = re.compile(r"unreleased|not\s+(yet\s+)?released|upcoming|in\s+(development|progress)|"
                         r"\btbd\b|\btba\b|\bnext\b|work\s+in\s+progress", re.I)


def is_changelog(path: str) -> bool:
    return bool(_NAMES.match(posixpath.basename(path)))


def heading_at(lines: Sequence[str], index: int) -> tuple[int, str] | None:
    """(line, heading text) of the section that holds line `index`, or None before the first."""
    for i in range(min(index, len(lines)) - 1, -1, -1):
        line = lines[i].rstrip("\r\n")
        if _ATX.match(line):
            return i, line.lstrip("#").strip()
        if _UNDERLINE.match(line) and i > 0 and lines[i - 1].strip() and not _UNDERLINE.match(lines[i - 1]):
            return i, lines[i - 1].strip()
        if _VERSION_LINE.match(line) and (i + 1 >= len(lines) or not _UNDERLINE.match(lines[i + 1])):
            return i, line.strip()
    return None


def unreleased_at(lines: Sequence[str], index: int) -> bool:
    """True when line `index` lies in a section that is plainly not released yet."""
    found = heading_at(lines, index)
    if found is None:
        return False
    at, heading = found
    if _UNRELEASED.search(heading) or _DEVELOPMENT.match(heading):
        return True
    for line in lines[at + 1:index]:
        text = line.strip()
        if not text or _UNDERLINE.match(text):
            continue
        return bool(_UNRELEASED.search(text)) and len(text) < 60
    return False


# -- merging a changelog by sections and entries -------------------------------------------

_BULLET = re.compile(r"^(\s*)([-*+]|\d+[.)]|#\d+:?)\s+\S")
_VERSION = re.compile(r"\d+(?:\.\d+)+(?:[-+]?[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*)?")
_NUMERIC = re.compile(r"\d+(?:\.\d+)+")
_LINK = re.compile(r"^\[[^\]]+\]:\s+\S")      # a Markdown link definition: "[#123]: https://..."


@dataclass(frozen=True)
class _Section:
    sig: str
    heading: tuple[str, ...]
    body: tuple[str, ...]

    @property
    def lines(self) -> tuple[str, ...]:
        return self.heading + self.body


def merge_changelog(base: str, ours: str, theirs: str) -> Merged:
    """The changelog with both sides' new entries and sections, or Refusal.

    Sections are matched by the version their heading names (else by the heading). A
    section changed by one side is taken from it; one changed by both only when it is
    unreleased on both sides and both only added entries (main's first); new sections added
    by both at one place only when each names a version and they fall into the
    newest-first order of their neighbours. A section one side released (or removed) while
    the other added to it is a conflict: the entry would land under a released version.
    """
    parts = [_sections(text) for text in (base, ours, theirs)]
    preamble = three_way(*(p[0] for p in parts), what="the changelog's preamble")
    if any(_BULLET.match(line) for line in set(preamble) - set(parts[0][0])):
        raise Refusal("an entry was added above the first version: which release it belongs to is a judgement")
    merged = Merged("")
    sections = _merge_sequence([p[1] for p in parts], merged)
    merged.text = "".join(preamble) + "".join(line for s in sections for line in s.lines)
    check_lines([t.encode("utf-8") for t in (base, ours, theirs)], merged.text.encode("utf-8"),
                once=lambda line: bool(_BULLET.match(line.decode("utf-8", "replace")) or _LINK.match(line.decode("utf-8", "replace"))))
    return merged


def _sections(text: str) -> tuple[tuple[str, ...], list[_Section]]:
    lines = text.splitlines(keepends=True)
    starts = [i for i in range(len(lines)) if _heading_starts(lines, i)]
    if not starts:
        raise Refusal("no version headings in the changelog")
    sections = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        size = 2 if start + 1 < len(lines) and _UNDERLINE.match(lines[start + 1]) else 1
        title = lines[start].strip().lstrip("#").strip()
        version = _VERSION.search(title)
        sig = version.group(0) if version else title.lower()
        sections.append(_Section(sig, tuple(lines[start:start + size]), tuple(lines[start + size:end])))
    sigs = [s.sig for s in sections]
    if len(set(sigs)) != len(sigs):
        # two headings name one version ("2.9.10", "[2.9.10.x micro-patches omitted]"): the
        # whole heading tells them apart, else the file is not read
        sections = [_Section(s.heading[0].strip().lower(), s.heading, s.body) if sigs.count(s.sig) > 1 else s
                    for s in sections]
        if len({s.sig for s in sections}) != len(sections):
            raise Refusal("two sections with one heading")
    return tuple(lines[:starts[0]]), sections


_DEVELOPMENT = re.compile(r"^[#\s]*\[?(head|master|main|trunk|development|dev)\]?\s*$", re.I)


def _heading_starts(lines, i) -> bool:
    """A heading that names a version or says "unreleased" starts a section; other headings
    ("### Fixed", the file's title) belong to the section or preamble they are in."""
    line = lines[i].rstrip("\r\n")
    if not line.strip() or _BULLET.match(line) or line[0].isspace():
        return False
    names = any(p.search(line) for p in (_VERSION, _UNRELEASED, _DEVELOPMENT))
    if _ATX.match(line):
        return names
    if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) and not _UNDERLINE.match(line):
        return names
    return bool(_VERSION_LINE.match(line)) and (i == 0 or not lines[i - 1].strip())


def _released(section: _Section) -> bool:
    lines = list(section.lines)
    return not unreleased_at(lines + ["\n"], len(lines))


def _merge_sequence(seqs, merged: Merged) -> list[_Section]:
    base, ours, theirs = seqs
    by_sig = [{s.sig: s for s in seq} for seq in seqs]
    new = {s.sig: s for seq in seqs[1:] for s in seq}
    order = _merge_order([[s.sig for s in seq] for seq in seqs], merged, lambda sig: _released(new[sig]))
    out = []
    for sig, inserted in order:
        b, o, t = (d.get(sig) for d in by_sig)
        if inserted:
            out.append(o or t)
            continue
        if o is None or t is None:
            # A released section does not go away: a side without it renamed it (released
            # it) or has another history; either way not mechanical.
            raise Refusal(f"one side removed or renamed the section {sig}")
        if o == t or t == b:
            out.append(o)
        elif o == b:
            out.append(t)
        else:
            if _released(o) or _released(t):
                raise Refusal(f"both sides changed the section {sig}, and it is released")
            if o.heading != t.heading and o.heading != b.heading and t.heading != b.heading:
                raise Refusal(f"both sides changed the heading of {sig}")
            heading = o.heading if t.heading == b.heading else t.heading
            out.append(_Section(sig, heading, _union_entries(b.body, o.body, t.body, sig)))
            merged.rules["changelog"] += 1
    return out


def _merge_order(sigs, merged: Merged, released=lambda sig: True):
    """[(sig, inserted by one or both sides)] in merged order; new sections added by both at
    one place go newest first and must fit between their neighbours."""
    base, ours, theirs = sigs
    slots: dict[int, list[list[str]]] = {}
    for side in (ours, theirs):
        known = [s for s in side if s in base]
        if known != [s for s in base if s in side]:
            raise Refusal("a side moved a section")
        gap = 0
        for s in side:
            if s in base:
                gap = base.index(s) + 1
            else:
                slots.setdefault(gap, [[], []])[side is theirs].append(s)
    out = []
    for gap in range(len(base) + 1):
        o_new, t_new = slots.get(gap, [[], []])
        new = o_new + [s for s in t_new if s not in o_new]
        if o_new and t_new:
            versions = [_version_key(s) for s in new]
            if None in versions:
                raise Refusal("both sides added sections at one place, not all named by a version")
            if not all(released(sig) for sig in new):
                raise Refusal("both sides added sections at one place, and one is not released")
            if len({v[0] for v in versions}) > 1:
                # releases of two major lines met: a forward port, whose entries people rewrite
                raise Refusal("both sides added releases of different major versions")
            new = sorted(new, key=_version_key, reverse=True)
            around = [_version_key(base[gap - 1]) if gap else None, _version_key(base[gap]) if gap < len(base) else None]
            if (around[0] is not None and around[0] <= _version_key(new[0])) or \
                    (around[1] is not None and around[1] >= _version_key(new[-1])):
                raise Refusal("the new sections do not fit the changelog's order")
        if o_new and t_new:
            merged.rules["sections"] += 1
        out.extend((s, True) for s in new)
        if gap < len(base):
            out.append((base[gap], False))
    return out


def _version_key(sig: str):
    """The numbers of a plain release version; None for a pre-release or anything else."""
    return tuple(int(x) for x in sig.split(".")) if _NUMERIC.fullmatch(sig) else None


def _entries(body) -> list[tuple[str, ...]]:
    """A section's body as entries: a bullet with its indented continuation, or a line."""
    out: list[list[str]] = []
    for line in body:
        bullet = _BULLET.match(line)
        if out and not bullet and line.strip() and line[0].isspace() and _BULLET.match(out[-1][0]):
            out[-1].append(line)
        else:
            out.append([line])
    return [tuple(e) for e in out]


def _union_entries(base, ours, theirs, sig):
    """Both sides only added entries to one unreleased section: each side's entries where it
    put them; at one place, main's first; an entry both added, once."""
    b, o, t = _entries(base), _entries(ours), _entries(theirs)
    gaps: dict[int, list[list]] = {}
    for side, entries in ((0, o), (1, t)):
        matcher = difflib.SequenceMatcher(None, b, entries, autojunk=False)
        for op, b1, b2, s1, s2 in matcher.get_opcodes():
            if op == "equal":
                continue
            if op != "insert" or not all(_is_entry(e) for e in entries[s1:s2]):
                raise Refusal(f"a side changed or removed what {sig} said, or added something other than entries")
            gaps.setdefault(b1, [[], []])[side] = list(entries[s1:s2])
    ours_added = [e for pair in gaps.values() for e in pair[0] if e[0].strip()]
    out: list = []
    for k in range(len(b) + 1):
        o_new, t_new = gaps.get(k, [[], []])
        t_new = [e for e in t_new if not e[0].strip() or e not in ours_added]   # added by both: once
        if o_new and t_new:
            o_core, o_blank = _split_blank(o_new)
            t_core, _ = _split_blank(t_new)
            out.extend(o_core + [e for e in t_core if e not in o_core] + o_blank)
        else:
            out.extend(o_new or t_new)
        if k < len(b):
            out.append(b[k])
    return tuple(line for entry in out for line in entry)


def _is_entry(entry) -> bool:
    first = entry[0]
    return not first.strip() or bool(_BULLET.match(first)) or bool(_LINK.match(first))


def _split_blank(entries):
    """(entries up to the last non-blank one, the blank ones after it)."""
    end = len(entries)
    while end and not entries[end - 1][0].strip():
        end -= 1
    return entries[:end], entries[end:]
