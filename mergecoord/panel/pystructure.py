"""Strategy for Python: both sides added or changed *different* functions, methods or
classes that the line merge happened to put in one hunk. Merged definition by definition
with the `ast` module; the result must parse and keep every definition of both sides.
Pure.
"""

from __future__ import annotations

import ast
from typing import Optional

from .hunks import file_conflict
from .insertions import _entries, _is_entry, _is_subsequence, _split_common

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# A skeleton line that stands for a definition. Not NUL (git would take the skeleton for
# a binary file); a control character no Python line starts with outside a string.
PLACEHOLDER = "\x1edef:"


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
        if line.startswith(PLACEHOLDER):
            name = line[len(PLACEHOLDER):].rstrip("\n")
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
            out.append(f"{PLACEHOLDER}{node.name}\n")
            i = _span(node)[1]
        else:
            out.append(lines[i])
            i += 1
    return out


def _merge_skeleton(base, ours, theirs) -> list[str]:
    """git's line merge of the three skeletons, with its conflicting hunks settled by
    `_placeholder_union`."""
    try:
        merged = file_conflict("skeleton.py", "".join(base), "".join(ours), "".join(theirs))
    except ValueError as exc:
        raise _NoMerge(str(exc)) from None
    out = []
    for piece in merged.pieces:
        if not isinstance(piece, int):
            out.extend(piece)
            continue
        hunk = merged.hunks[piece]
        lines = _placeholder_union(list(hunk.base), list(hunk.ours), list(hunk.theirs))
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
    if not all(x.startswith(PLACEHOLDER) or not x.strip() for x in o_new + t_new):
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
