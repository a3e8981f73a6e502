"""Three-way merge of one path's entries (mode + blob), with git's verdicts.

Given the base, ours and theirs entries of one merged path, decide the merged entry and
whether it is a conflict, and of which kind.  Text files are merged line by line
(``lines.merge_lines``); binary files, symlinks and submodules are never content-merged:
when both sides changed them differently it is a conflict and ours is kept, as git does.
Inside a virtual merge base (depth > 0) conflicts are not reported: text keeps its
conflict markers and other kinds fall back to the base version, like merge-ort.
"""
from __future__ import annotations

from dataclasses import dataclass

from dulwich.objects import Blob

from .lines import is_binary, merge_lines
from .trees import kind_of


@dataclass(frozen=True)
class EntryMerge:
    entry: tuple | None  # merged (mode, sha), or None when the path is deleted
    kind: str | None     # conflict kind, None when clean


def _blob(store, sha) -> bytes:
    return store[sha].as_raw_string()


def merge_entry(store, base, ours, theirs, depth=0, labels=("ours", "theirs")) -> EntryMerge:
    if ours == theirs:
        return EntryMerge(ours, None)
    if base == ours:
        return EntryMerge(theirs, None)
    if base == theirs:
        return EntryMerge(ours, None)
    if ours is None or theirs is None:
        kept = ours if theirs is None else theirs
        if depth:
            return EntryMerge(base, None)
        return EntryMerge(kept, "modify/delete")
    ko, kt = kind_of(ours[0]), kind_of(theirs[0])
    if ko != kt:
        if depth:
            return EntryMerge(base, None)
        return EntryMerge(ours, "type")
    mode, mode_conflict = _merge_mode(base, ours, theirs)
    if ours[1] == theirs[1]:
        sha = ours[1]
        content_kind = None
    elif base is not None and base[1] == ours[1] and kind_of(base[0]) == ko:
        sha, content_kind = theirs[1], None
    elif base is not None and base[1] == theirs[1] and kind_of(base[0]) == ko:
        sha, content_kind = ours[1], None
    elif ko == "gitlink":
        sha, content_kind = ours[1], "submodule"
    elif ko == "symlink":
        sha, content_kind = ours[1], "symlink"
    else:
        sha, content_kind = _merge_text(store, base, ours, theirs, depth, labels)
    if depth:
        if content_kind in ("submodule", "symlink", "binary") and base is not None:
            return EntryMerge(base, None)
        return EntryMerge((mode, sha), None)
    kind = content_kind
    if kind == "content" and base is None:
        kind = "add/add"
    if kind is None and mode_conflict:
        kind = "mode"
    return EntryMerge((mode, sha), kind)


def _merge_mode(base, ours, theirs):
    if ours[0] == theirs[0]:
        return ours[0], False
    if base is not None and base[0] == ours[0]:
        return theirs[0], False
    if base is not None and base[0] == theirs[0]:
        return ours[0], False
    return ours[0], True


def _merge_text(store, base, ours, theirs, depth, labels):
    b = _blob(store, base[1]) if base is not None and kind_of(base[0]) == "file" else b""
    o, t = _blob(store, ours[1]), _blob(store, theirs[1])
    if is_binary(b) or is_binary(o) or is_binary(t):
        return ours[1], "binary"
    marker = 7 + 2 * depth
    merged = merge_lines(b, o, t, labels=(labels[0], "base", labels[1]), marker_size=marker)
    blob = Blob.from_string(merged.content)
    store.add_object(blob)
    return blob.id, ("content" if merged.conflicts else None)
