"""The merge engine's public API: merge commits or trees the way git's merge-ort does.

Pure: works on a dulwich object store only (reads objects, adds the merged blobs and
trees), never on the file system or refs, never prints.  The verdict (clean or not), the
conflicted paths and, for clean merges, the tree id are meant to equal those of
``git merge-tree --write-tree``; ``bench/difftest`` measures how far that holds.

Conflict kinds (``PathConflict.kind``):
  content        both sides edited a text file incompatibly (markers are in the tree)
  add/add        both sides added a text file with different contents (markers in the tree)
  binary         both sides changed a binary file (NUL in the first 8000 bytes); ours kept
  symlink        both sides retargeted a symlink differently; ours kept
  submodule      both sides moved a gitlink differently; ours kept
  mode           both sides set different modes (content merged, ours' mode kept)
  type           file vs symlink vs submodule on the two sides; the regular file is moved
                 to ``path~<label>`` and both paths are listed
  modify/delete  one side deleted what the other changed; the changed version is kept
  rename/delete  one side renamed what the other deleted; kept at the new path
  rename/rename  both sides renamed one file differently; source and both targets listed
  file location  a file added into a directory the other side renamed was moved along
                 (git's default merge.directoryRenames=conflict)
  file/directory a file is where the merged tree needs a directory; it moves to
                 ``path~<label>``
  directory rename split
                 a directory renamed on one side went to several places in equal
                 numbers and the other side added files in it; ``path`` is the
                 directory, which git does not list as a conflicted path
Only ``content`` (and ``add/add`` text) conflicts are meant for hunk-level resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

from .bases import _Graph, merge_bases, merged_base_tree
from .treemerge import SPLIT, merge_tree_ids

__all__ = ["Side", "PathConflict", "MergeResult", "merge_bases", "merge_commits", "merge_trees"]


@dataclass(frozen=True)
class Side:
    path: str      # path of the entry on that side (differs from the merged path under renames)
    mode: int
    sha: bytes     # 40-char hex id as bytes (dulwich convention)


@dataclass(frozen=True)
class PathConflict:
    path: str            # the path git would list as conflicted in the merged tree
    kind: str            # see the module docstring for the set
    base: Side | None
    ours: Side | None
    theirs: Side | None

    @property
    def textual(self) -> bool:
        """Both sides hold a file whose lines conflict: resolvable hunk by hunk (by the
        panel or a human's per-hunk choice). Every other kind is about where or whether a
        file exists, and only a whole side can settle it."""
        return self.kind in ("content", "add/add") and bool(self.ours and self.theirs)


@dataclass(frozen=True)
class MergeResult:
    tree: bytes
    conflicts: tuple[PathConflict, ...]
    bases: tuple[bytes, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts

    @property
    def conflicted_paths(self) -> tuple[str, ...]:
        """Sorted distinct conflicted paths (what ``git merge-tree --name-only`` lists).

        A "directory rename split" names a directory but is not a conflicted path in git.
        """
        return tuple(sorted({c.path for c in self.conflicts if c.kind != SPLIT}))


def _decode(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def _side(value) -> Side | None:
    if value is None or value[1] is None:
        return None
    path, (mode, sha) = value
    return Side(_decode(path), mode, sha)


def _result(tree, raw, bases) -> MergeResult:
    conflicts = tuple(
        PathConflict(_decode(c.path), c.kind, _side(c.base), _side(c.ours), _side(c.theirs))
        for c in sorted(raw, key=lambda c: (c.path, c.kind)))
    return MergeResult(tree, conflicts, tuple(bases))


def merge_trees(object_store, base_tree, ours_tree, theirs_tree,
                labels=("ours", "theirs")) -> MergeResult:
    """Three-way merge of trees; labels name the sides in markers and ``path~label``."""
    tree, raw = merge_tree_ids(object_store, base_tree, ours_tree, theirs_tree, 0, labels)
    return _result(tree, raw, ())


def merge_commits(object_store, ours, theirs, labels=("ours", "theirs")) -> MergeResult:
    """Merge two commits over their merge base (a virtual one for criss-cross histories)."""
    graph = _Graph(object_store)
    bases = graph.lcas(ours, theirs)
    base_tree = merged_base_tree(object_store, bases, graph)
    tree, raw = merge_tree_ids(object_store, base_tree, graph.tree(ours), graph.tree(theirs),
                               0, labels)
    return _result(tree, raw, bases)
