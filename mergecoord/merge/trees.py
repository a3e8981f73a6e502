"""Tree plumbing for the merge: what changed between two trees, and writing a changed tree.

Both directions only descend into subtrees whose ids differ, so the cost of a merge follows
the size of the change, not the size of the repository (a 20,000-file tree with three edited
files costs a handful of tree reads).  Works on a dulwich object store only.
"""
from __future__ import annotations

import stat
import threading
from collections import OrderedDict

from dulwich.objects import Tree

Entry = tuple  # (mode: int, sha: bytes) of a non-tree entry

S_IFGITLINK = 0o160000


def is_tree_mode(mode: int) -> bool:
    return stat.S_ISDIR(mode)


def kind_of(mode: int) -> str:
    if mode == S_IFGITLINK:
        return "gitlink"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "file"


def _join(prefix: bytes, name: bytes) -> bytes:
    return prefix + b"/" + name if prefix else name


# Parsed trees by id.  A tree id names its content, so the cache is right for any store;
# it saves re-reading the same directories for both sides and for writing the result.
_TREES: OrderedDict = OrderedDict()
_TREES_MAX = 8192
_TREES_LOCK = threading.Lock()


def _items(store, tree_id):
    """{name: (mode, sha)} of a tree (a fresh dict the caller may change)."""
    if tree_id is None:
        return {}
    with _TREES_LOCK:
        items = _TREES.get(tree_id)
        if items is not None:
            _TREES.move_to_end(tree_id)
            return dict(items)
    items = {e.path: (e.mode, e.sha) for e in store[tree_id].iteritems()}
    with _TREES_LOCK:
        _TREES[tree_id] = items
        if len(_TREES) > _TREES_MAX:
            _TREES.popitem(last=False)
    return dict(items)


def entries(store, tree_id) -> dict:
    """{name: (mode, sha)} of a tree, or {} for None."""
    return _items(store, tree_id)


def all_blobs(store, tree_id, prefix=b"", out=None):
    """Every non-tree entry under tree_id, as {path: (mode, sha)}."""
    out = {} if out is None else out
    for name, (mode, sha) in _items(store, tree_id).items():
        path = _join(prefix, name)
        if is_tree_mode(mode):
            all_blobs(store, sha, path, out)
        else:
            out[path] = (mode, sha)
    return out


def tree_changes(store, old_tree, new_tree, prefix=b"", out=None):
    """{path: (old_entry | None, new_entry | None)} for every non-tree path that differs.

    A path that is a file on one side and a directory on the other shows up as a delete or
    add of the file plus adds or deletes of everything under the directory.
    """
    out = {} if out is None else out
    if old_tree == new_tree:
        return out
    old, new = _items(store, old_tree), _items(store, new_tree)
    for name in old.keys() | new.keys():
        o, n = old.get(name), new.get(name)
        if o == n:
            continue
        path = _join(prefix, name)
        o_tree = o is not None and is_tree_mode(o[0])
        n_tree = n is not None and is_tree_mode(n[0])
        if o_tree or n_tree:
            tree_changes(store, o[1] if o_tree else None, n[1] if n_tree else None, path, out)
        if o is not None and not o_tree:
            out[path] = (o, n if not n_tree else None)
        elif n is not None and not n_tree:
            out[path] = (None, n)
    return out


def is_dir(store, tree_id, path: bytes) -> bool:
    for part in path.split(b"/"):
        if tree_id is None:
            return False
        entry = _items(store, tree_id).get(part)
        if entry is None or not is_tree_mode(entry[0]):
            return False
        tree_id = entry[1]
    return True


def apply_changes(store, tree_id, changes: dict) -> bytes:
    """Write a new tree: tree_id with {path: (mode, sha) | None} applied.

    Only the directories on the way to a changed path are rewritten; directories that end
    up empty disappear, as in git.
    """
    nested: dict = {}
    for path, entry in changes.items():
        parts = path.split(b"/")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError("conflicting change paths at %r" % path)
        node[(parts[-1],)] = entry
    new_id = _apply(store, tree_id, nested)
    if new_id is None:
        empty = Tree()
        store.add_object(empty)
        return empty.id
    return new_id


def _apply(store, tree_id, nested):
    items = _items(store, tree_id)
    # directories first, so that a file replacing an emptied directory survives
    for key, value in nested.items():
        if isinstance(key, tuple):
            continue
        cur = items.get(key)
        sub = cur[1] if cur is not None and is_tree_mode(cur[0]) else None
        new_sub = _apply(store, sub, value)
        if new_sub is not None:
            items[key] = (stat.S_IFDIR, new_sub)
        elif sub is not None:
            del items[key]
    for key, value in nested.items():
        if not isinstance(key, tuple):
            continue
        name = key[0]
        cur = items.get(name)
        if value is not None:
            if cur is not None and is_tree_mode(cur[0]):
                raise ValueError("file %r would replace a directory" % name)
            items[name] = value
        elif cur is not None and not is_tree_mode(cur[0]):
            del items[name]
    if not items:
        return None
    tree = Tree()
    for name, (mode, sha) in items.items():
        tree.add(name, mode, sha)
    if tree_id is not None and tree.id == tree_id:
        return tree_id
    store.add_object(tree)
    return tree.id
