"""Deterministic strategies (panel kind `builtin`): the conflicts a careful engineer settles
mechanically, and nothing else.

Per hunk: changes that are equal once whitespace is ignored, and independent insertions
where order does not matter (import lines, entries of list/dict/set literals, bullet lists,
TOML keys) — the union, each entry once, checked by parsing that no entry of either side was
lost or fused with another. Per Python file: both sides changed *different* definitions that
the line merge put in one hunk — merged definition by definition with the `ast` module.

Never resolves a hunk where both sides changed the same lines differently, and never leaves
a file half resolved: when any hunk of any file is beyond these strategies the panelist
recuses itself for the whole conflict.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
import tomllib
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import merge3

from ..validate import validate_text
from .hunks import ConflictContext, ConflictHunk, FileConflict
from .resolver import Proposal, Round, abstain

WHITESPACE_CONFIDENCE = 0.97
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
                                     (union_of_insertions, "union of independent insertions", UNION_CONFIDENCE)):
            lines = strategy(conflict, hunk)
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
        # definition by definition: the settled regions are then equal on both sides.
        settled = {i: lines for i, lines in choices.items()}
        ours = conflict.render({h.index: settled.get(h.index, "ours") for h in conflict.hunks})
        theirs = conflict.render({h.index: settled.get(h.index, "theirs") for h in conflict.hunks})
        merged, why = merge_python_definitions(conflict.base, ours, theirs)
        if merged is not None and validate_text(conflict.path, merged) is None:
            how = ", ".join(hows + ["the rest merged definition by definition"])
            return FileResolution(merged, min(confidence, STRUCTURE_CONFIDENCE), how)
    hunks = ", ".join(unresolved)
    return (f"hunk{'s' if len(unresolved) > 1 else ''} {hunks} need{'' if len(unresolved) > 1 else 's'} judgement, "
            f"no mechanical strategy applies" + (f" ({why})" if why else ""))


# --- equal once whitespace is ignored ---------------------------------------------------------

_WORDS = re.compile(r"\w+|[^\w\s]")
# Two operator characters with a blank between them may fuse into another operator once
# the blank goes ("a + +b" vs "a ++b"): free-form languages with those are not compared.
_FUSIBLE = re.compile(r"[-+*/%=<>!&|:.^?]\s+[-+*/%=<>!&|:.^?]")


_FREE_FORM = {"c", "cpp", "java", "javascript", "typescript", "go", "rust", "css"}


def whitespace_equal(conflict: FileConflict, hunk: ConflictHunk) -> Optional[tuple[str, ...]]:
    """Main's side when both sides differ only in whitespace that cannot change meaning."""
    ours, theirs = "".join(hunk.ours), "".join(hunk.theirs)
    if _WORDS.findall(ours) != _WORDS.findall(theirs):
        return None
    language = conflict.language
    quoted = re.search(r"[\"'`]", ours + theirs) is not None
    if language == "python":
        a = _python_tokens(_render_one(conflict, hunk, "ours"))
        same = a is not None and a == _python_tokens(_render_one(conflict, hunk, "theirs"))
    elif language in ("json", "toml"):
        a = _data(language, _render_one(conflict, hunk, "ours"))
        same = a is not None and a == _data(language, _render_one(conflict, hunk, "theirs"))
    elif language in _FREE_FORM and not quoted:
        same = not (_FUSIBLE.search(ours) or _FUSIBLE.search(theirs))
    elif len(hunk.ours) != len(hunk.theirs):
        same = False
    elif quoted:
        # Whitespace inside quotes is data: only indentation and trailing blanks may differ
        # (and indentation only where it carries no meaning).
        same = all(x.strip() == y.strip() and (language in _FREE_FORM or _indent(x) == _indent(y))
                   for x, y in zip(hunk.ours, hunk.theirs))
    else:
        # Indentation can be meaning (Markdown lists, YAML, make), and so can a blank
        # between words in a shell line: only runs of blanks and trailing blanks may differ.
        same = all(_indent(x) == _indent(y) and x.split() == y.split()
                   for x, y in zip(hunk.ours, hunk.theirs))
    return hunk.ours if same else None


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _render_one(conflict: FileConflict, hunk: ConflictHunk, choice) -> str:
    return conflict.render({h.index: (choice if h.index == hunk.index else "ours") for h in conflict.hunks})


def _python_tokens(text: str) -> Optional[list[tuple[int, str]]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    out = []
    for tok in tokens:
        if tok.type in (tokenize.NL, tokenize.ENDMARKER):
            continue
        keep_text = tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
        out.append((tok.type, tok.string if keep_text else ""))
    return out


def _data(language: str, text: str):
    try:
        if language == "json":
            return json.loads(text, object_pairs_hook=_no_duplicates)
        return tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError):
        return None


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


# --- union of independent insertions ----------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")


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
    render = lambda lines: _render_one(conflict, hunk, lines)
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
        data = _data("json" if kind.startswith("json") else "toml", text)
        return None if data is None else Counter(_flatten(data, ""))
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


# --- Python, definition by definition -----------------------------------------------------------

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def merge_python_definitions(base: str, ours: str, theirs: str) -> tuple[Optional[str], str]:
    """(the merged module, "") or (None, the reason there is none).

    Each side's module is seen as a skeleton (everything but the definitions, each definition
    replaced by a placeholder line) plus its definitions by name. The skeletons are merged
    line by line (placeholders inserted by both sides at one spot are kept, main's first);
    each definition is taken from the side that changed it, or merged the same way when both
    changed different members of one class. Deleting a definition, two definitions of one
    name, or both sides changing one definition: no resolution.
    """
    try:
        trees = [ast.parse(t) for t in (base, ours, theirs)]
    except SyntaxError as exc:
        return None, f"one side does not parse (line {exc.lineno})"
    texts = [t.splitlines(keepends=True) for t in (base, ours, theirs)]
    try:
        merged = _merge_block(texts, [tree.body for tree in trees], [(0, len(t)) for t in texts])
    except _NoMerge as exc:
        return None, str(exc)
    try:
        result_tree = ast.parse(merged)
    except SyntaxError as exc:
        return None, f"merged module does not parse (line {exc.lineno})"
    if _names(result_tree.body) != _names(trees[1].body) | _names(trees[2].body):
        return None, "merged module lost a definition"
    if _entries("python-import", merged) is None:
        return None, "two imports bind one name to different things"
    return merged, ""


class _NoMerge(Exception):
    pass


def _names(body, prefix="") -> set[str]:
    names = set()
    for node in body:
        if isinstance(node, _DEFS):
            names.add(prefix + node.name)
            if isinstance(node, ast.ClassDef):
                names |= _names(node.body, prefix + node.name + ".")
    return names


def _span(node) -> tuple[int, int]:
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return start - 1, node.end_lineno


def _merge_block(texts, bodies, regions) -> str:
    defs = []
    for body in bodies:
        found = {}
        for node in body:
            if isinstance(node, _DEFS):
                if node.name in found:
                    raise _NoMerge(f"{node.name} is defined twice in one scope")
                found[node.name] = node
        defs.append(found)
    skeletons = [_skeleton(lines, region, found) for lines, region, found in zip(texts, regions, defs)]
    skeleton = _merge_skeleton(*skeletons)
    merged_defs = {}
    for name in set().union(*defs):
        b, o, t = (d.get(name) for d in defs)
        text = [None if n is None else "".join(lines[slice(*_span(n))]) for n, lines in zip((b, o, t), texts)]
        if o is None or t is None:
            if b is not None or (o is None and t is None):
                raise _NoMerge(f"{name} was deleted on one side")
        if text[1] == text[2] or text[2] is None:
            merged_defs[name] = text[1]
        elif text[1] is None or text[1] == text[0]:
            merged_defs[name] = text[2]
        elif text[2] == text[0]:
            merged_defs[name] = text[1]
        elif all(isinstance(n, ast.ClassDef) for n in (b, o, t)):
            merged_defs[name] = _merge_block(texts, [n.body for n in (b, o, t)], [_span(n) for n in (b, o, t)])
        else:
            raise _NoMerge(f"both sides changed {name}")
    out = []
    placed = set()
    for line in skeleton:
        if line.startswith("\0def:"):
            name = line[5:].rstrip("\n")
            if name in placed:
                raise _NoMerge(f"{name} would be defined twice")
            placed.add(name)
            out.append(merged_defs[name])
        else:
            out.append(line)
    return "".join(out)


def _skeleton(lines, region, defs) -> list[str]:
    starts = {_span(node)[0]: node for node in defs.values()}
    out, i = [], region[0]
    while i < region[1]:
        node = starts.get(i)
        if node is not None:
            out.append(f"\0def:{node.name}\n")
            i = _span(node)[1]
        else:
            out.append(lines[i])
            i += 1
    return out


def _merge_skeleton(base, ours, theirs) -> list[str]:
    out = []
    for group in merge3.Merge3(base, ours, theirs).merge_groups():
        if group[0] != "conflict":
            out.extend(group[1])
            continue
        _, b, o, t = group
        lines = _placeholder_union(list(b), list(o), list(t))
        if lines is None:
            raise _NoMerge("changes outside the definitions conflict")
        out.extend(lines)
    return out


def _placeholder_union(base, ours, theirs) -> Optional[list[str]]:
    prefix, o_new, t_new, suffix = _split_common(ours, theirs)
    if not _is_subsequence(base, prefix + suffix):
        return None
    if all(_is_entry("python-import", x) for x in o_new + t_new):
        seen = set(o_new)
        return prefix + o_new + [x for x in t_new if x not in seen] + suffix
    if not all(x.startswith("\0def:") or not x.strip() for x in o_new + t_new):
        return None
    # Keep definitions apart the way main's side separates them.
    first = next((i for i, x in enumerate(o_new) if x.strip()), len(o_new))
    gap = _trailing_blank(prefix + o_new[:first]) or ["\n"]
    o_core = _strip_blank(o_new)
    t_core = _strip_blank(t_new)
    if not o_core or not t_core:
        return prefix + o_new + t_new + suffix
    return prefix + o_new + (gap if o_new[-1].strip() else []) + t_core + _trailing_blank(t_new) + suffix


def _strip_blank(lines: list[str]) -> list[str]:
    i, j = 0, len(lines)
    while i < j and not lines[i].strip():
        i += 1
    while j > i and not lines[j - 1].strip():
        j -= 1
    return lines[i:j]


def _trailing_blank(lines: list[str]) -> list[str]:
    out = []
    for x in reversed(lines):
        if x.strip():
            break
        out.append(x)
    return out
