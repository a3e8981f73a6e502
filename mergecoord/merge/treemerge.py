"""Path-level three-way merge of trees, with renames, as git's merge-ort does it.

The merge only looks at paths that changed on either side (``trees.tree_changes`` skips
identical subtrees), pairs each side's deletes and adds into renames, follows every base
path to where each side put it, merges the entries that land on one path, and writes the
result as the base tree with those paths replaced.  Returns raw conflict records; the
public dataclasses live in ``engine``.  Never touches files, refs or output.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from .blobs import merge_entry
from .renames import (OrtWalk, detect_renames, directory_renames,
                      relevant_directory_renames, relocate)
from .trees import apply_changes, is_dir, kind_of, tree_changes


SPLIT = "directory rename split"  # a conflict git reports without a conflicted path


@dataclass
class Item:
    """What lands on one merged path: (path, entry) per side, plus why it is special."""

    base: tuple | None = None     # (path, entry)
    ours: tuple | None = None
    theirs: tuple | None = None
    flags: set = field(default_factory=set)
    collide: tuple | None = None  # (role, (path, entry)) of a second entry for that side
    renamed_both: tuple = (None, None)    # rename/rename: (ours entry, theirs entry)


@dataclass(frozen=True)
class RawConflict:
    path: bytes
    kind: str
    base: tuple | None  # (path, (mode, sha)) or None
    ours: tuple | None
    theirs: tuple | None


def merge_tree_ids(store, base, ours, theirs, depth=0, labels=("ours", "theirs")):
    """(merged tree id, [RawConflict]) for three tree ids (base may be None)."""
    if ours == theirs:
        return ours, []
    if base == ours:
        return theirs, []
    if base == theirs:
        return ours, []
    co = tree_changes(store, base, ours)
    ct = tree_changes(store, base, theirs)
    ro = detect_renames(store, co, ct, OrtWalk(store, base, ours, theirs).key)
    rt = detect_renames(store, ct, co, OrtWalk(store, base, theirs, ours).key)
    dro, drt = {}, {}
    if not depth:  # ort skips directory renames inside a virtual merge base
        dro = directory_renames(ro, lambda d: is_dir(store, ours, d))
        drt = directory_renames(rt, lambda d: is_dir(store, theirs, d))
    for d in dro.keys() & drt.keys():  # renamed on both sides: git applies neither
        del dro[d], drt[d]
    # "Avoiding applying A -> B rename to C, because B itself was renamed": a directory
    # rename into a directory the other side renamed away is not applied (ort)
    dro, drt = ({d: n for d, n in dro.items() if n not in drt},
                {d: n for d, n in drt.items() if n not in dro})
    dro = relevant_directory_renames(dro, ct)
    drt = relevant_directory_renames(drt, co)
    items = _place(co, ct, ro, rt, dro, drt)
    changes: dict = {p: None for p in co.keys() | ct.keys()}
    conflicts: list = [RawConflict(d, SPLIT, None, None, None)
                       for d, new in (dro | drt).items() if new is None and not depth]
    final: dict = {}
    for path, item in sorted(items.items()):
        _resolve(store, path, item, depth, labels, final, conflicts)
    _file_directory(store, (base, ours, theirs), final, items, depth, labels, conflicts)
    changes.update(final)
    return apply_changes(store, base, changes), conflicts


def _place(co, ct, ro, rt, dro, drt) -> dict:
    """Follow every changed base path and every added path to its merged path."""
    items: dict = {}

    def put(path, role, value, flag=None):
        item = items.setdefault(path, Item())
        if getattr(item, role) is not None and role != "base":
            item.collide = (role, value)  # e.g. a rename onto a path the same side added
        else:
            setattr(item, role, value)
        if flag:
            item.flags.add(flag)
        return item

    dst_o, dst_t = set(ro.values()), set(rt.values())
    for p in co.keys() | ct.keys():
        b = co[p][0] if p in co else ct[p][0]
        if b is None:
            continue
        op, oe = (ro[p], co[ro[p]][1]) if p in ro else (p, co[p][1] if p in co else b)
        tp, te = (rt[p], ct[rt[p]][1]) if p in rt else (p, ct[p][1] if p in ct else b)
        if op == tp:
            put(op, "base", (p, b))
            put(op, "ours", (op, oe))
            put(op, "theirs", (tp, te))
        elif tp == p:
            _renamed_on_one_side(put, p, b, ("ours", op, oe), ("theirs", te), drt)
        elif op == p:
            _renamed_on_one_side(put, p, b, ("theirs", tp, te), ("ours", oe), dro)
        else:  # renamed differently on both sides; each target follows the other's dir renames
            op2, tp2 = relocate(op, drt) or op, relocate(tp, dro) or tp
            if op2 == tp2:  # a directory rename brought them together: one file, misplaced
                it = put(op2, "base", (p, b), "file location")
                put(op2, "ours", (op, oe))
                put(op2, "theirs", (tp, te))
                continue
            op, tp = op2, tp2
            it = put(op, "base", (p, b), "rename/rename")
            it.ours, it.renamed_both = (op, oe), (oe, te)
            it = put(tp, "base", (p, b), "rename/rename")
            it.theirs, it.renamed_both = (tp, te), (oe, te)
            put(p, "base", (p, b), "rename/rename-source")
    for role, changes, own_dsts, other_dir_renames in (("ours", co, dst_o, drt),
                                                       ("theirs", ct, dst_t, dro)):
        for p, (old, new) in changes.items():
            if old is None and p not in own_dsts:  # a plain add
                dest = relocate(p, other_dir_renames) or p
                put(dest, role, (p, new), "file location" if dest != p else None)
    return items


def _renamed_on_one_side(put, p, b, renamed, other, other_dir_renames):
    """Base path p was renamed by one side only: the other side's version follows it."""
    role, path, entry = renamed
    other_role, other_entry = other
    dest = relocate(path, other_dir_renames) or path
    item = put(dest, "base", (p, b), "file location" if dest != path else None)
    put(dest, role, (path, entry))
    if _gone(b, other_entry):
        item.flags.add("rename/delete")
        if other_entry is not None:  # a type change is a delete plus an add to git
            put(p, other_role, (p, other_entry))
    else:
        put(dest, other_role, (p, other_entry))


def _gone(base, entry) -> bool:
    """The other side deleted the renamed file, or replaced it by another type."""
    return entry is None or kind_of(entry[0]) != kind_of(base[0])


def _entry(side):
    return None if side is None else side[1]


def _resolve(store, path, item, depth, labels, final, conflicts):
    flags = item.flags
    b, o, t = _entry(item.base), _entry(item.ours), _entry(item.theirs)
    if "rename/rename-source" in flags:
        final[path] = None
        if not depth:
            conflicts.append(RawConflict(path, "rename/rename", item.base, None, None))
        return
    if "rename/rename" in flags:
        if depth:  # a virtual base records the merged content at both targets (ort)
            final[path] = merge_entry(store, b, *item.renamed_both, depth, labels).entry
            return
        final[path] = o if o is not None else t
        if not depth:
            conflicts.append(RawConflict(path, "rename/rename", item.base, item.ours, item.theirs))
        return
    if "rename/delete" in flags:
        final[path] = b if depth else o if o is not None else t
        if not depth:
            conflicts.append(RawConflict(path, "rename/delete", item.base, item.ours, item.theirs))
        return
    merged = merge_entry(store, b, o, t, depth, labels)
    kind = merged.kind
    if item.collide is not None:
        # rename/add: a side added a file where the other side renamed one.  If the add
        # is the very file the rename put there, ort already saw both sides agree on that
        # path and the rename's merge stands; otherwise the two meet as an add/add.
        role, added = item.collide
        renamed_there = _entry(item.theirs if role == "ours" else item.ours)
        if added[1] != renamed_there:
            o, t = (added[1], merged.entry) if role == "ours" else (merged.entry, added[1])
            merged = merge_entry(store, None, o, t, depth, labels)
            kind = kind or merged.kind
    final[path] = merged.entry
    if kind is None and "file location" in flags:
        kind = "file location"
    if depth or kind is None:
        return
    if kind == "type":
        # ort moves ours aside when it is the regular file, else theirs when it is, else
        # both: to path~<label of that side>
        move = ("ours",) if kind_of(o[0]) == "file" else \
            ("theirs",) if kind_of(t[0]) == "file" else ("ours", "theirs")
        for side in move:
            label = labels[0] if side == "ours" else labels[1]
            aside = path + b"~" + label.encode()
            final[aside] = o if side == "ours" else t
            conflicts.append(RawConflict(aside, kind, item.base, item.ours, item.theirs))
        final[path] = None if len(move) == 2 else (t if move == ("ours",) else o)
        if len(move) == 2:
            return
    conflicts.append(RawConflict(path, kind, item.base, item.ours, item.theirs))


def _file_directory(store, trees, final, items, depth, labels, conflicts):
    """A file where the merged tree needs a directory moves to path~<side>, as in git."""
    blocked = set()
    for path, entry in final.items():
        if entry is None:
            continue
        for anc in _ancestors(path):
            if final.get(anc) is not None:
                blocked.add(anc)
    # a rename/rename source where the merged tree has a directory is simply gone (ort)
    dirs = {anc for path, entry in final.items() if entry is not None
            for anc in _ancestors(path)}
    conflicts[:] = [c for c in conflicts
                    if not (c.kind == "rename/rename" and c.ours is None and c.theirs is None
                            and c.path in dirs)]
    for path in sorted(blocked):
        entry = final.pop(path)
        item = items.get(path)
        side = 0
        if item is not None and _entry(item.ours) != entry:
            side = 1
        new = path + b"~" + labels[side].encode()
        final[path] = None
        final[new] = entry
        if depth:
            continue
        if not any(is_dir(store, t, path) for t in trees):
            # ort only sees a file/directory conflict where one of the three trees has a
            # directory; one made by renames is recorded as conflict stages beside the
            # file, which keeps listing its own conflicts (the tree holds it at path~label)
            continue
        old = [c for c in conflicts if c.path == path]
        conflicts[:] = [c for c in conflicts if c.path != path]
        conflicts.append(RawConflict(new, "file/directory",
                                     item.base if item else None,
                                     item.ours if item else None,
                                     item.theirs if item else None))
        conflicts.extend(RawConflict(new, c.kind, c.base, c.ours, c.theirs) for c in old)


def _ancestors(path):
    while True:
        path = posixpath.dirname(path)
        if not path:
            return
        yield path
