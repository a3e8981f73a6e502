"""Recovery: what a runner does so that a crash, a full disk or a killed process
loses nothing and merges nothing twice.

At start the runner clears what dead processes left (`clean_up`: temp files, git `.lock`
files), settles the entries a dead runner left 'merging' (`settle_merging`: journaled as
merged when the merge commit it journaled as landing is on main, else put back in line),
and queues READY pushes no hook queued (`adopt_unqueued`). While running, failures of the machine rather than of a
merge (`is_stall`) stop the runner without failing any entry. Never moves main.
"""

import errno
import os
import time

from dulwich.file import FileLocked

from ..commits import has_marker
from ..errors import UserError
from ..state import journal, queue
from ..state.files import LockTimeout, break_stale_lock, remove_orphan_temp_files
from . import mainline

# Failures of the machine rather than of a merge: the disk is full or read-only, a
# lock stays held. No entry is failed for them; the runner stops, main and the
# queue stay as they were, and the next run (or the serving loop) tries again.
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO,
                  errno.EMFILE, errno.ENFILE, errno.ENOMEM}
ADOPT_AFTER = 120     # seconds before a READY tip that no hook queued is queued by the runner


def is_stall(exc):
    if isinstance(exc, (LockTimeout, FileLocked)):
        return True
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


class RunnerStalled(UserError):
    """The runner cannot write its state (or a lock stays held); nothing was lost."""


def break_git_lock(central, exc):
    """Break the stale `.lock` of a file inside the repository (a ref, an object)
    that a killed process left; True when it is gone."""
    lockfile = os.path.realpath(os.fsdecode(exc.lockfilename))
    if not lockfile.startswith(str(central.git_dir) + os.sep):
        return False
    return break_stale_lock(lockfile)


def stall_error(exc):
    """The one line a stalled runner ends with."""
    if isinstance(exc, OSError):
        what = (exc.strerror or str(exc)) + (f" ({os.fsdecode(exc.filename)})" if exc.filename else "")
    elif isinstance(exc, FileLocked):
        what = f"{os.fsdecode(exc.lockfilename)} stays locked"
    else:
        what = str(exc)
    message = (f"runner stopped: {what}; main and the queue are intact, "
               "the next run picks up where this one stopped")
    return RunnerStalled(message)


def clean_up(central):
    """What dead processes left: temp files in the state directory, and the git `.lock`
    files of refs and objects (a live one is waited out, a stale one broken)."""
    remove_orphan_temp_files(central.state_dir)
    git_dir = str(central.git_dir)
    # Ref locks (main's, the state ref's, a branch's) block git pushes too: each one
    # is waited out if live, broken if stale. Loose-object locks only block writing
    # that object again, which prepare() handles when it happens.
    for root, _dirs, files in os.walk(os.path.join(git_dir, "refs")):
        for name in files:
            if name.endswith(".lock"):
                break_stale_lock(os.path.join(root, name))
    objects = os.path.join(git_dir, "objects")
    for sub in os.listdir(objects):
        if len(sub) == 2:
            for name in os.listdir(os.path.join(objects, sub)):
                if name.endswith(".lock"):
                    break_stale_lock(os.path.join(objects, sub, name), wait=False)


def settle_merging(central, repo, config, echo):
    """The entries a dead runner left 'merging': journaled as merged when the commit it
    journaled as landing is on main, else put back in line."""
    for entry in queue.entries(central):
        if entry.status != queue.MERGING:
            continue
        main = mainline.tip(repo.refs, config.main_ref)
        landed = mainline.find_landed(repo.object_store, main, journal.landings(central, entry.id))
        if landed:
            settle_landed(central, repo.object_store, entry, landed, echo)
        else:
            queue.release(central, entry.id)
            journal.record(central, entry.id, "retry", reason="runner restarted")


def settle_landed(central, store, entry, landed, echo):
    """Journal a merge a dead runner landed (main moved; the journal never said so), with
    what its own merge commit says about it; its follow-up steps then run like any other."""
    commit = store[landed]
    # The journal named this commit before the compare-and-swap: it is the runner's own,
    # so its trailers are the runner's words, not a pusher's.
    trailers = mainline.trailers_of(commit.message)
    fields = {"commit": landed.decode(), "resolved_by": trailers.get("Resolved-By", "clean"),
              "detail": "landed before the runner stopped; journaled on restart",
              "decision": trailers.get("Decision") or entry.decision}
    if trailers.get("Consensus-Rounds", "").isdigit():
        fields["rounds"] = int(trailers["Consensus-Rounds"])
    try:
        fields["confidence"] = float(trailers.get("Confidence", ""))
    except ValueError:
        pass
    # tip: what landed; a newer tip pushed since then stays in line
    queue.finish(central, entry.id, "merged", follow=1,
                 tip=commit.parents[-1].decode() if commit.parents else None,
                 **{k: v for k, v in fields.items() if v})
    echo(f"[Merge Coordinator] Recovered {entry.branch} ({entry.id}): already on main")


def setup_time(central):
    """When mergecoord was set up here (`mergecoord init` writes the stamp; a state dir
    from before the stamp existed gets it now)."""
    path = central.file("initialised")
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        with open(path, "a"):
            pass
        return os.stat(path).st_mtime


def adopt_unqueued(central, repo, config, echo):
    """Queue READY branches whose tip the journal never saw: their push hook could
    not write (disk full), died, or met a broken config. A push is never lost, it
    is only late. Tips already in main are left alone, and so are refs updated in
    the last ADOPT_AFTER seconds (their own hook may still be about to queue them)
    and refs last updated before mergecoord was set up on this repository: an old
    branch that happens to say READY_TO_MERGE was never pushed to mergecoord."""
    since = setup_time(central)
    store = repo.object_store
    heads = repo.refs.as_dict(b"refs/heads")
    main = mainline.tip(repo.refs, config.main_ref)
    git_dir = os.fsencode(str(central.git_dir))

    def seen():
        return {e.get("sha") for e in journal.events(central)}

    known = seen()
    for name in sorted(heads):
        branch, sha = name.decode("utf-8", "backslashreplace"), heads[name]
        if sha.decode() in known or not config.branch_matches(branch) or sha not in store:
            continue
        try:
            updated = os.stat(os.path.join(git_dir, b"refs", b"heads", name)).st_mtime
        except OSError:
            updated = 0          # a packed ref: not from a push in flight
        if time.time() - updated < ADOPT_AFTER or updated < since:
            continue
        commit = store[sha]
        if getattr(commit, "type_name", b"") != b"commit":
            continue
        if not has_marker(commit.message.decode("utf-8", "replace"), config.marker):
            continue
        if main is not None and mainline.is_ancestor(store, sha, main):
            continue
        author = commit.author.decode("utf-8", "replace")
        name_part, _, rest = author.partition(" <")
        worker = config.worker_name(rest.partition(">")[0], name_part.strip())
        with central.lock:      # the walk above runs unlocked: pushes go on meanwhile
            if sha.decode() in seen():
                continue
            entry, position, _ = queue.enqueue(central, branch, sha.decode(), worker)
        echo(f"[Merge Coordinator] Found {branch} ready but never queued; "
                  f"queued as {entry.id} (position {position})")
