"""Rolling back one merge: a revert commit on main that undoes exactly that merge's changes.

The revert is the three-way merge of the current main with base = the merge commit and
theirs = its first parent: every change the merge brought is taken back, every later change
stays. When later work changed the same lines, the revert conflicts and is refused (naming
the later merges in the way) rather than guessed. Pure over the object store: it never
moves main; the runner lands the commit by compare-and-swap like any merge. The CLI's
`rollback` refuses with the same checks before it queues the entry.
"""

import time

from dulwich.objects import Commit

from ...state import journal
from .. import mainline, reasons
from ..outcome import MergeOutcome
from .handler import Handler


class RollbackRefused(Exception):
    """The merge cannot be rolled back automatically; the message says why and what to do."""


def find_merge(store, main, merge_id, commit):
    """`commit` (the merge commit the journal recorded for `merge_id`) when it is on main's
    first-parent chain. A commit that merely says `Merge-Id: merge_id` in its message is
    never taken for it."""
    landed = mainline.find_landed(store, main, [commit] if commit else [])
    if landed is None:
        raise RollbackRefused(f"{merge_id} is not on main's history (see 'mergecoord log'); nothing to roll back")
    return landed


def revert_tree(store, main, target, merge_id, landed=None):
    """The tree of main without the changes of `target` (the commit of `merge_id`).
    `landed` (commit hex -> journal record) names the later merges in the way."""
    from ...merge import merge_trees

    commit = store[target]
    if not commit.parents:
        raise RollbackRefused(f"{merge_id} is the first commit of main; it cannot be rolled back")
    parent_tree = store[commit.parents[0]].tree
    result = merge_trees(store, commit.tree, store[main].tree, parent_tree)
    if result.conflicts:
        paths = [c.path for c in result.conflicts]
        later = later_merges(store, main, target, paths, landed or {})
        who = ", ".join(f"{mid} ({branch})" for mid, branch in later) or "later commits on main"
        raise RollbackRefused(
            f"cannot roll back {merge_id}: {who} changed the same lines of {', '.join(paths)} since; "
            f"roll back those first (newest first) or revert by hand")
    if result.tree == store[main].tree:
        raise RollbackRefused(f"{merge_id}'s changes are no longer on main; nothing to roll back")
    return result.tree


def later_merges(store, main, target, paths, landed):
    """[(merge id, branch)] of main's first-parent commits after `target` that touched `paths`:
    mergecoord's merges by the journal's record of them (`landed`), others by commit id and
    subject (their trailers are not evidence)."""
    from dulwich.object_store import tree_lookup_path

    from ...merge import path_bytes

    def entry(tree, path):
        try:
            return tree_lookup_path(store.__getitem__, tree, path_bytes(path))
        except KeyError:
            return None

    found = []
    for sha, commit in mainline.first_parents(store, main):
        if sha == target or not commit.parents:
            break
        parent = store[commit.parents[0]]
        if any(entry(commit.tree, p) != entry(parent.tree, p) for p in paths):
            ours = landed.get(sha.decode())
            if ours is not None:
                found.append((ours["id"], ours.get("branch", "")))
            else:
                title = (commit.message.decode("utf-8", "replace").splitlines() or [""])[0]
                found.append((sha.decode()[:10], title[:40]))
    return list(reversed(found))


def make_revert_commit(store, *, tree, main, target, merge_id, new_id, worker, committer):
    """A single-parent commit on `main` with the revert's tree and mergecoord's trailers."""
    reverted = store[target].message.decode("utf-8", "replace").splitlines()
    commit = Commit()
    commit.tree = tree
    commit.parents = [main]
    ident = committer.encode("utf-8")
    commit.author = commit.committer = ident
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    lines = [f"Revert {merge_id}: {reverted[0] if reverted else ''}".rstrip(": "), "",
             f"This reverts commit {target.decode()} (rolled back by {worker}).", "",
             f"Merge-Id: {new_id}", f"Worker: {worker}", "Resolved-By: clean", f"Reverts: {merge_id}"]
    commit.message = ("\n".join(lines) + "\n").encode("utf-8")
    store.add_object(commit)
    return commit.id


PREFIX = "rollback/"


def target_of(entry):
    """The merge id a rollback entry undoes (its queue "branch" is `rollback/m-NNNN`)."""
    return entry.branch[len(PREFIX):]


class RollbackHandler(Handler):
    """A queue entry of kind "rollback" (branch `rollback/m-NNNN`, sha: the merge commit to
    undo, as the journal recorded it)."""

    kind = "rollback"

    def prepare(self, context, entry):
        """A 'ready' outcome with the revert tree, or 'failed' saying why not."""
        target_id = target_of(entry)
        try:
            target = find_merge(context.store, context.main, target_id, entry.sha)
            tree = revert_tree(context.store, context.main, target, target_id, journal.landed(context.central))
        except RollbackRefused as e:
            return MergeOutcome("failed", detail=str(e), reason=reasons.rollback_refused(str(e)))
        return MergeOutcome("ready", resolved_by="clean", tree=tree, detail=f"reverts {target_id}")

    def commit(self, context, entry, outcome):
        target_id = target_of(entry)
        target = find_merge(context.store, context.main, target_id, entry.sha)
        return make_revert_commit(context.store, tree=outcome.tree, main=context.main, target=target,
                                  merge_id=target_id, new_id=entry.id, worker=entry.worker,
                                  committer=context.config.committer).decode()
