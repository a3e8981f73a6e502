"""Three-way merge of commits over a dulwich object store (placeholder on dulwich's Merger)."""

from dataclasses import dataclass

from dulwich.merge import Merger


@dataclass(frozen=True)
class Side:
    path: str
    mode: int
    sha: bytes


@dataclass(frozen=True)
class PathConflict:
    path: str
    kind: str
    base: Side | None
    ours: Side | None
    theirs: Side | None


@dataclass(frozen=True)
class MergeResult:
    tree: bytes
    conflicts: tuple
    bases: tuple = ()

    @property
    def clean(self):
        return not self.conflicts


def merge_bases(object_store, a, b):
    from dulwich.graph import _find_lcas

    def parents(c):
        return object_store[c].parents

    def commit_time(c):
        return object_store[c].commit_time

    return _find_lcas(parents, a, [b], commit_time)


def merge_trees(object_store, base_tree, ours_tree, theirs_tree):
    merger = Merger(object_store)
    tree, paths = merger.merge_trees(
        object_store[base_tree] if base_tree else None, object_store[ours_tree], object_store[theirs_tree])
    object_store.add_object(tree)

    def side(info, path):
        mode, sha = info
        return Side(path, mode, sha) if sha else None

    conflicts = []
    for p in paths:
        info = merger.conflict_info.get(p)
        path = p.decode("utf-8", "surrogateescape")
        if info is None:
            conflicts.append(PathConflict(path, "content", None, None, None))
        else:
            kind = "content" if all(x[1] for x in (info.ancestor, info.ours, info.theirs)) else "modify/delete"
            conflicts.append(PathConflict(path, kind, side(info.ancestor, path), side(info.ours, path),
                                          side(info.theirs, path)))
    return MergeResult(tree.id, tuple(conflicts))


def merge_commits(object_store, ours, theirs):
    bases = merge_bases(object_store, ours, theirs)
    base_tree = object_store[bases[0]].tree if bases else None
    result = merge_trees(object_store, base_tree, object_store[ours].tree, object_store[theirs].tree)
    return MergeResult(result.tree, result.conflicts, tuple(bases))
