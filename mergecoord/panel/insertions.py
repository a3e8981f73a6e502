"""Strategy: both sides only inserted entries at one place where order does not matter —
import lines, entries of list/dict/set literals (Python, JSON, TOML arrays), TOML keys,
bullet lists such as changelogs. The union, main's entries first, each entry once, with the
separators a careful engineer would add; then checked by parsing that no entry of either
side was lost, fused with another or given a second value. Pure.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections import Counter
from typing import Optional

from .hunks import ConflictHunk, FileConflict
from .validate import parse_data

_BULLET = re.compile(r"^\s*[-*+]\s+\S")   # numbered items would need renumbering: not mechanical


def union_of_insertions(conflict: FileConflict, hunk: ConflictHunk) -> Optional[tuple[str, ...]]:
    """Both sides only inserted entries at the same place: keep both, main's first, each once."""
    ours, theirs, base = list(hunk.ours), list(hunk.theirs), list(hunk.base)
    prefix, ours_new, theirs_new, suffix = _split_common(ours, theirs)
    # Every base line must survive, unchanged by either side (up to a separator both added):
    # otherwise a side replaced something, and replacing is not inserting.
    if not _is_subsequence([_bare(x) for x in base], [_bare(x) for x in prefix + suffix]):
        return None
    kind = _entry_kind(conflict.language, ours_new + theirs_new)
    if kind is None:
        return None
    seen = {_bare(x) for x in ours_new}
    added = [x for x in theirs_new if _bare(x) not in seen]
    if len({_bare(x) for x in added}) != len(added) or len(seen) != len(ours_new):
        return None      # a side repeating an entry is not something to guess about
    union = ours_new + added
    if kind in ("python-entry", "json-entry", "toml-array"):
        # Entries now followed by another need a separator; the last keeps its own.
        union = [_with_comma(x) for x in union[:-1]] + union[-1:]
    lines = tuple(prefix + union + suffix)
    exact = kind in ("python-entry", "bullet")
    if not _keeps_every_entry(conflict, hunk, kind, tuple(prefix + suffix), tuple(ours), tuple(theirs), lines,
                              (len(ours_new), len(theirs_new)), exact):
        return None
    return lines


def _split_common(ours: list[str], theirs: list[str]):
    """(common prefix, ours' middle, theirs' middle, common suffix) of two line lists."""
    p = 0
    while p < min(len(ours), len(theirs)) and ours[p] == theirs[p]:
        p += 1
    s = 0
    while s < min(len(ours), len(theirs)) - p and ours[-1 - s] == theirs[-1 - s]:
        s += 1
    return ours[:p], ours[p:len(ours) - s], theirs[p:len(theirs) - s], ours[len(ours) - s:]


def _bare(line: str) -> str:
    return line.rstrip().rstrip(",").rstrip()


def _with_comma(line: str) -> str:
    body = line.rstrip("\r\n")
    stripped = body.rstrip()
    return line if stripped.endswith(",") else stripped + "," + line[len(body):]


def _is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


def _entry_kind(language: str, lines: list[str]) -> Optional[str]:
    if not lines:
        return None
    kinds = {"python": ("python-import", "python-entry"), "json": ("json-entry",),
             "toml": ("toml-key", "toml-array"), "markdown": ("bullet",), "rst": ("bullet",),
             "text": ("bullet",)}.get(language, ())
    for kind in kinds:
        if all(_is_entry(kind, line) for line in lines):
            return kind
    return None


def _is_entry(kind: str, line: str) -> bool:
    text = _bare(line).strip()
    if not text:
        return False
    try:
        if kind == "python-import":
            body = ast.parse(line.strip()).body
            return len(body) == 1 and isinstance(body[0], (ast.Import, ast.ImportFrom))
        if kind == "python-entry":
            for wrapped, node_type, size in ((f"[{text}]", ast.List, lambda n: len(n.elts)),
                                             (f"{{{text}}}", ast.Dict, lambda n: len(n.keys))):
                try:
                    node = ast.parse(wrapped, mode="eval").body
                except SyntaxError:
                    continue
                if isinstance(node, node_type) and size(node) == 1 and "#" not in text:
                    return True
            return False
        if kind == "json-entry":
            for wrapped in (f"[{text}]", f"{{{text}}}"):
                try:
                    if len(json.loads(wrapped)) == 1:
                        return True
                except ValueError:
                    continue
            return False
        if kind == "toml-key":
            return "#" not in text and len(tomllib.loads(line.strip())) == 1
        if kind == "toml-array":
            return "#" not in text and len(tomllib.loads(f"x = [{text}]")["x"]) == 1
        if kind == "bullet":
            return bool(_BULLET.match(line))
    except (SyntaxError, ValueError, tomllib.TOMLDecodeError, TypeError):
        return False
    return False


def _keeps_every_entry(conflict, hunk, kind, neither, ours, theirs, union, inserted, exact) -> bool:
    """What the union adds over "neither side's insertions" must be exactly what ours adds
    plus what theirs adds: no entry lost, none fused with another (a missing comma makes
    Python concatenate two strings), no key given two values. And every inserted line must
    really be an entry of a collection: lines that look like entries but are arguments of a
    call or members of a tuple, whose order is meaning, add no entry and fail here."""
    render = lambda lines: conflict.render_one(hunk.index, lines)
    counts = [_entries(kind, render(x)) for x in (neither, ours, theirs, union)]
    if counts[0] is None:     # "a", with the entry after it gone, leaves a dangling comma
        counts[0] = _entries(kind, render(hunk.base))
    if any(c is None for c in counts):
        return False
    c_neither, c_ours, c_theirs, c_union = counts
    added_ours, added_theirs = c_ours - c_neither, c_theirs - c_neither
    for added, lines in ((added_ours, inserted[0]), (added_theirs, inserted[1])):
        total = sum(added.values())
        if total < lines or (exact and total != lines):
            return False
    return (c_union - c_neither) == (added_ours | added_theirs)


def _entries(kind: str, text: str) -> Optional[Counter]:
    if kind == "bullet":
        return Counter(line.strip() for line in text.splitlines() if _BULLET.match(line))
    if kind.startswith("json") or kind.startswith("toml"):
        try:
            data = parse_data("json" if kind.startswith("json") else "toml", text)
        except ValueError:
            return None
        return Counter(_flatten(data, ""))
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    found: Counter = Counter()
    bound: dict[str, tuple] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Set)):
            found.update(("elt", ast.dump(e)) for e in node.elts if not isinstance(e, (ast.List, ast.Set, ast.Dict)))
        elif isinstance(node, ast.Dict):
            keys = [ast.dump(k) for k in node.keys if k is not None]
            if len(keys) != len(set(keys)):
                return None        # a key given twice: one value would silently win
            found.update(("item", ast.dump(k) if k else "**", ast.dump(v)) for k, v in zip(node.keys, node.values))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, "module", None)
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                source = (module, alias.name, node.level if isinstance(node, ast.ImportFrom) else 0)
                if bound.setdefault(name, source) != source and node.col_offset == 0:
                    return None    # two imports binding one name to different things
                found[("import", *source, alias.asname)] += 1
    return found


def _flatten(value, path: str):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flatten(item, f"{path}/{key}")
    elif isinstance(value, list):
        for item in value:
            yield (f"{path}[]", json.dumps(item, sort_keys=True, default=str))
    else:
        yield (path, json.dumps(value, default=str))
