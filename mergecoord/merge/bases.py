"""Merge bases, and the virtual base git builds when there is more than one (criss-cross).

``merge_bases`` answers like ``git merge-base --all``.  With several bases, merge-ort merges
them pairwise, oldest first, into a virtual commit whose tree keeps the inner conflicts
(with markers) and whose parents are the two merged commits, so that the next pairwise
merge finds its own bases through it.  Works on an object store only.
"""
from __future__ import annotations

import itertools

from dulwich.graph import _find_lcas
from dulwich.objects import Commit

from .treemerge import merge_tree_ids

_virtual_ids = itertools.count(1)


class _Graph:
    """Parents and dates of real commits from the store, plus virtual commits."""

    def __init__(self, store):
        self.store = store
        self.virtual: dict = {}  # id -> (tree, parents, stamp)

    def commit(self, cid) -> Commit:
        obj = self.store[cid]
        if not isinstance(obj, Commit):
            raise ValueError(f"{cid!r} is not a commit")
        return obj

    def parents(self, cid):
        if cid in self.virtual:
            return list(self.virtual[cid][1])
        return list(self.commit(cid).parents)

    def stamp(self, cid) -> int:
        if cid in self.virtual:
            return self.virtual[cid][2]
        return self.commit(cid).commit_time

    def tree(self, cid):
        if cid in self.virtual:
            return self.virtual[cid][0]
        return self.commit(cid).tree

    def add_virtual(self, tree, parents) -> bytes:
        vid = b"virtual-%d" % next(_virtual_ids)
        self.virtual[vid] = (tree, tuple(parents), max(self.stamp(p) for p in parents))
        return vid

    def lcas(self, a, b) -> list:
        if a == b:
            return [a]
        found = _find_lcas(self.parents, a, [b], self.stamp)
        # oldest first, as merge-ort merges them (ties in a stable order)
        return sorted(dict.fromkeys(found), key=lambda c: (self.stamp(c), c))


def merge_bases(store, a: bytes, b: bytes) -> list:
    """All best common ancestors of commits a and b, like ``git merge-base --all``."""
    return _Graph(store).lcas(a, b)


def merged_base_tree(store, bases, graph=None, depth=1):
    """Tree id of the (possibly virtual) merge base of `bases`, or None without bases."""
    graph = graph or _Graph(store)
    if not bases:
        return None
    merged = bases[0]
    for nxt in bases[1:]:
        inner = graph.lcas(merged, nxt)
        inner_base = merged_base_tree(store, inner, graph, depth + 1)
        tree, _ = merge_tree_ids(store, inner_base, graph.tree(merged), graph.tree(nxt),
                                 depth=depth, labels=("Temporary merge branch 1",
                                                      "Temporary merge branch 2"))
        merged = graph.add_virtual(tree, (merged, nxt))
    return graph.tree(merged)
