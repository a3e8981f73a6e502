"""Rename detection for one side of a merge, the way git's merge-ort does it.

git pairs deleted paths with added paths: exact renames first (same blob), then, for
regular files, by similarity (bytes in common counted over lines or 64-byte chunks, as
diffcore-delta does) with a 50% threshold; a source and a destination with the same
unique basename are tried first with a stricter 75% threshold.  Like ort, content
similarity is only computed for sources that matter to the merge: paths the other side
changed, or directories the other side added files into (for directory renames).

When several pairings tie (identical copies, equal scores), git's choice follows the
order in which ort's tree walk met the paths; ``OrtWalk`` reproduces that order.

Directory renames: a directory that no longer exists on one side and whose files mostly
went to one new directory is "renamed"; files the other side adds under the old
directory are moved to the new one and, as with git's default
``merge.directoryRenames=conflict``, reported as a conflict ("file location").
Never touches files or prints.
"""
from __future__ import annotations

import posixpath
import stat
from collections import Counter, defaultdict

MAX_SCORE = 60000
MIN_SCORE = 30000  # git's default -M50%
BASENAME_SCORE = MIN_SCORE + (MAX_SCORE - MIN_SCORE) // 2
_MATRIX_LIMIT = 7000 * 7000  # merge.renameLimit default is 7000 files


def _regular(entry) -> bool:
    return entry is not None and stat.S_ISREG(entry[0])


_EMPTY_BLOB = b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def _renamable(entry) -> bool:
    # exact renames cover files, symlinks and gitlinks alike; ort never pairs empty files
    return entry is not None and entry[1] != _EMPTY_BLOB


def _chunk_counts(data: bytes) -> dict:
    """Bytes per chunk, chunks ending at a newline or after 64 bytes (diffcore-delta)."""
    counts: dict = defaultdict(int)
    for line in data.splitlines(keepends=True):
        if line.endswith(b"\r\n"):  # git ignores the CR of CRLF in text files
            line = line[:-2] + b"\n"
        while len(line) > 64:
            counts[line[:64]] += 64
            line = line[64:]
        counts[line] += len(line)
    return counts


class _Scorer:
    def __init__(self, store):
        self.store = store
        self.cache: dict = {}

    def _load(self, sha):
        got = self.cache.get(sha)
        if got is None:
            data = self.store[sha].as_raw_string()
            got = self.cache[sha] = (len(data), _chunk_counts(data))
        return got

    def score(self, src_sha, dst_sha) -> int:
        (ls, cs), (ld, cd) = self._load(src_sha), self._load(dst_sha)
        big, small = max(ls, ld), min(ls, ld)
        if big == 0:
            return 0
        # git skips pairs whose size difference alone rules the threshold out
        if big * (MAX_SCORE - MIN_SCORE) < (big - small) * MAX_SCORE:
            return 0
        if len(cs) > len(cd):
            cs, cd = cd, cs
        common = sum(min(n, cd.get(k, 0)) for k, n in cs.items())
        return common * MAX_SCORE // big


def _strhash(path: bytes) -> int:
    """git's strhash (32-bit FNV-1), which orders the buckets of its hash maps."""
    h = 0x811C9DC5
    for c in path:
        h = ((h * 0x01000193) & 0xFFFFFFFF) ^ c
    return h


class OrtWalk:
    """The order in which merge-ort's tree walk meets one side's paths.

    ort walks base, ours and theirs together in path order, but it defers each directory
    that this side changed and the other side left as in the base (new directories
    included): those are walked afterwards, in the order of the hash map that holds them
    (git's strhash buckets; within a bucket the latest added first).  Experiments with
    git 2.39 agree with this model; it decides which of several identical copies of a
    deleted file counts as its rename.
    """

    def __init__(self, store, base, side, other):
        self.store, self.trees = store, (base, side, other)
        self._rank = None

    def _deferred(self):
        from .trees import entries, is_tree_mode
        found: list = []

        def walk(prefix, b, x, o):
            eb, ex, eo = entries(self.store, b), entries(self.store, x), entries(self.store, o)
            for name in sorted(eb.keys() | ex.keys() | eo.keys()):
                tb, tx, to = eb.get(name), ex.get(name), eo.get(name)
                if tb == tx == to:
                    continue
                path = prefix + b"/" + name if prefix else name
                trees = [t if t is not None and is_tree_mode(t[0]) else None
                         for t in (tb, tx, to)]
                if trees[1] is not None and tx != tb and to == tb:
                    found.append(path)
                elif any(trees):
                    walk(path, *(t[1] if t else None for t in trees))

        walk(b"", *self.trees)
        size = 64
        while len(found) > size * 80 // 100:
            size <<= 2
        return {d: (_strhash(d) & (size - 1), -i) for i, d in enumerate(found)}

    def key(self, path: bytes):
        if self._rank is None:
            self._rank = self._deferred()
        for anc in _ancestors(path):
            rank = self._rank.get(anc)
            if rank is not None:
                return (1, rank, path)
        return (0, (0, 0), path)


def _ancestors(path: bytes):
    while True:
        path = posixpath.dirname(path)
        if not path:
            return
        yield path


def detect_renames(store, changes: dict, other_changes: dict, walk_key=None) -> dict:
    """{source path: destination path} for one side's changes {path: (old, new)}.

    walk_key(path) sorts paths in the order ort's tree walk meets them (``OrtWalk``); it
    only matters for exact renames of a blob that was re-added at several paths.
    """
    deletes = {p: old for p, (old, new) in changes.items() if new is None and _renamable(old)}
    adds = {p: new for p, (old, new) in changes.items() if old is None and _renamable(new)}
    if not deletes or not adds:
        return {}
    renames: dict = {}
    # 1. exact renames, as diffcore-rename pairs them: each destination in turn takes the
    #    first unused source with the same blob, preferring the same basename.  The turn
    #    order is ort's tree walk (see OrtWalk).
    by_sha = defaultdict(list)
    for p in sorted(deletes):
        e = deletes[p]
        by_sha[(e[1], stat.S_IFMT(e[0]))].append(p)
    wanted = [d for d, e in adds.items() if (e[1], stat.S_IFMT(e[0])) in by_sha]

    for dst in sorted(wanted, key=walk_key if len(wanted) > 1 else None):
        e = adds[dst]
        cands = by_sha[(e[1], stat.S_IFMT(e[0]))]
        if not cands:
            continue
        base = posixpath.basename(dst)
        pick = next((s for s in cands if posixpath.basename(s) == base), cands[0])
        cands.remove(pick)
        renames[pick] = dst
    srcs = [p for p, e in deletes.items() if p not in renames and _regular(e)]
    used = set(renames.values())
    dsts = [p for p, e in adds.items() if p not in used and _regular(e)]
    if not srcs or not dsts:
        return renames
    # 2. only sources whose rename can change the merge result
    touched_dirs = set()
    for p in other_changes:
        touched_dirs.update(_ancestors(p))
    srcs = sorted(s for s in srcs if s in other_changes
                  or any(a in touched_dirs for a in _ancestors(s)))
    if not srcs or len(srcs) * len(dsts) > _MATRIX_LIMIT:
        return renames
    scorer = _Scorer(store)
    # 3. same unique basename, stricter threshold
    src_names = Counter(posixpath.basename(s) for s in srcs)
    dst_names = Counter(posixpath.basename(d) for d in dsts)
    dst_by_name = {posixpath.basename(d): d for d in dsts}
    for s in list(srcs):
        name = posixpath.basename(s)
        if src_names[name] != 1 or dst_names.get(name) != 1:
            continue
        d = dst_by_name[name]
        if scorer.score(deletes[s][1], adds[d][1]) >= BASENAME_SCORE:
            renames[s] = d
            srcs.remove(s)
            dsts.remove(d)
    # 4. the full matrix, best scores first; ties in the walk order (git's sort is stable)
    order = walk_key or (lambda p: p)
    cands = []
    for d in dsts:
        for s in srcs:
            sc = scorer.score(deletes[s][1], adds[d][1])
            if sc >= MIN_SCORE:
                same = posixpath.basename(s) == posixpath.basename(d)
                cands.append((-sc, -int(same), order(d), order(s), d, s))
    cands.sort()
    taken_s, taken_d = set(), set()
    for *_, d, s in cands:
        if s in taken_s or d in taken_d:
            continue
        taken_s.add(s)
        taken_d.add(d)
        renames[s] = d
    return renames


def directory_renames(renames: dict, dir_exists) -> dict:
    """{old dir: new dir} for directories this side removed and whose files mostly moved.

    A directory whose files went to several directories in equal numbers maps to None
    (git's "directory rename split" conflict).

    dir_exists(path) tells whether a directory still exists on this side.
    """
    counts: dict = defaultdict(Counter)
    for src, dst in renames.items():
        old, new = posixpath.dirname(src), posixpath.dirname(dst)
        while old and old != new:
            counts[old][new] += 1
            if new and posixpath.basename(old) == posixpath.basename(new):
                old, new = posixpath.dirname(old), posixpath.dirname(new)
            else:
                break
    result = {}
    for old, targets in counts.items():
        if dir_exists(old):
            continue
        ranked = targets.most_common(2)
        if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
            result[old] = None  # a split: git declines to guess, and says so
            continue
        result[old] = ranked[0][0]
    return result


def relevant_directory_renames(dir_renames: dict, other_changes: dict) -> dict:
    """Keep the directory renames that apply to the other side's changes.

    ort only treats a removed directory as renamed when the other side added files
    directly in it (its "relevant" directories); a file added in a brand-new
    subdirectory of a renamed directory therefore stays where it was added.
    """
    added_in = {posixpath.dirname(p) for p, (old, new) in other_changes.items()
                if old is None and new is not None}
    return {d: n for d, n in dir_renames.items() if d in added_in}


def relocate(path: bytes, dir_renames: dict):
    """New path of `path` under its deepest renamed ancestor directory, or None."""
    for anc in _ancestors(path):
        new = dir_renames.get(anc)
        if new is not None:  # None: a split, which moves nothing
            rest = path[len(anc) + 1:]
            return new + b"/" + rest if new else rest
    return None
