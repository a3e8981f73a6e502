"""Reading and moving main: merge commits with mergecoord's trailers, and the
compare-and-swap that is the only way main ever moves.
"""

import os
import time

from dulwich.objects import Commit

TRAILERS = ("Merge-Id", "Worker", "Resolved-By", "Consensus-Rounds", "Confidence", "Decision")


def tip(refs, ref):
    """The commit `ref` (a name like refs/heads/main) points at, or None when it does not exist."""
    try:
        return refs[ref.encode()]
    except KeyError:
        return None


def make_merge_commit(store, *, tree, main_sha, branch_sha, committer, title, trailers, body=""):
    """Write the merge commit (first parent: old main) and return its id."""
    commit = Commit()
    commit.tree = tree
    commit.parents = [main_sha, branch_sha]
    ident = committer.encode("utf-8")
    commit.author = commit.committer = ident
    now = int(time.time())
    commit.author_time = commit.commit_time = now
    commit.author_timezone = commit.commit_timezone = 0
    lines = [title, ""]
    if body:
        lines += [body.rstrip(), ""]
    lines += [f"{key}: {value}" for key, value in trailers if value not in (None, "")]
    commit.message = ("\n".join(lines) + "\n").encode("utf-8")
    store.add_object(commit)
    return commit.id


def trailers_of(message):
    """The mergecoord trailers of a commit message, as a dict."""
    found = {}
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in TRAILERS:
            found[key] = value.strip()
    return found


def first_parents(store, head, limit=2000):
    """Commits of main's first-parent chain, newest first."""
    sha, n = head, 0
    while sha and n < limit:
        commit = store[sha]
        yield sha, commit
        sha = commit.parents[0] if commit.parents else None
        n += 1


def find_landed(store, head, commits, limit=2000):
    """The one of `commits` (hex ids) that is on main's first-parent chain, or None.

    Recovery and rollback use it with the commits the journal says the runner made for a
    merge: a trailer such as `Merge-Id:` is not proof, since anyone who may push to main
    can write one into a commit message."""
    wanted = {c.encode() if isinstance(c, str) else c for c in commits}
    if head is None or not wanted:
        return None
    for sha, _commit in first_parents(store, head, limit):
        if sha in wanted:
            return sha
    return None


def is_ancestor(store, ancestor, descendant, limit=100000):
    """True when `ancestor` is reachable from `descendant` (bounded breadth-first walk)."""
    if ancestor == descendant:
        return True
    target_time = store[ancestor].commit_time
    seen, todo = set(), [descendant]
    while todo and len(seen) < limit:
        sha = todo.pop()
        if sha in seen:
            continue
        seen.add(sha)
        commit = store[sha]
        for parent in commit.parents:
            if parent == ancestor:
                return True
            # Commit times are not strictly monotonic; allow a day of clock skew.
            if store[parent].commit_time + 86400 >= target_time:
                todo.append(parent)
    return False


def compare_and_swap(refs, ref, old, new, message, attempts=5):
    """Move `ref` from `old` to `new`; False if it no longer points at `old`.

    The ref's `.lock` file may be held for a moment by a push to it, or left behind
    by a runner killed mid-update; the first is waited out and the second broken
    (`break_stale_lock`), so a crash can never wedge main for good."""
    from dulwich.file import FileLocked

    from ..state.files import break_stale_lock

    for attempt in range(attempts):
        try:
            return refs.set_if_equals(ref.encode(), old, new, message=message.encode("utf-8"))
        except FileLocked as e:
            if attempt == attempts - 1:
                raise
            break_stale_lock(os.fsdecode(e.lockfilename))


def last_touch(store, head, base, paths, landed=None, limit=500):
    """(worker, message) of the newest change on main since `base` that touched any of
    `paths`: whose work is main's side of a conflict. Mergecoord's own merges (`landed`:
    commit hex -> journal record) are named by the worker the journal names; any other
    commit by its author, whatever trailers its message carries."""
    return next(touches(store, head, base, paths, landed, limit), ("main", ""))


def touches(store, head, base, paths, landed=None, limit=500):
    """(worker, message) of each change to any of `paths` on the first-parent chain from
    `head` back to `base`, newest first: what each side of a conflict did and why. A
    merge the journal says mergecoord landed (`landed`) stands for its branch (the worker
    the journal names, the branch tip's message); trailers are not evidence."""
    from dulwich.object_store import tree_lookup_path

    from ..merge import path_bytes

    def entry(tree, path):
        try:
            return tree_lookup_path(store.__getitem__, tree, path_bytes(path))
        except KeyError:
            return None

    for sha, commit in first_parents(store, head, limit):
        if sha == base or not commit.parents:
            break
        parent = store[commit.parents[0]]
        if any(entry(commit.tree, p) != entry(parent.tree, p) for p in paths):
            ours = (landed or {}).get(sha.decode())
            if ours is not None and ours.get("worker") and len(commit.parents) > 1:
                message = store[commit.parents[1]].message
                yield ours["worker"], message.decode("utf-8", "replace")
                continue
            name = commit.author.decode("utf-8", "replace").partition(" <")[0]
            yield name, commit.message.decode("utf-8", "replace")
