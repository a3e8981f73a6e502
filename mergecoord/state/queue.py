"""The merge queue: `<state>/queue.json`, the only module that touches it.

Entries leave the queue only when their outcome is in the journal (the runner
removes them under the same lock), so a crash can delay a merge but never lose one.
"""

import os
import sys
import time
from collections import namedtuple

from . import ids, journal
from .files import read_json, write_json

QUEUED = "queued"
MERGING = "merging"


# A named tuple rather than a dataclass: the push hook builds these, and importing
# `dataclasses` would cost every push ~5 ms.
QueueEntry = namedtuple("QueueEntry", [
    "id", "branch", "sha", "worker", "queued_at",
    "status",       # QUEUED or MERGING
    "started_at",
    "kind",         # "branch", "decision" (a human answer to apply) or "rollback"
    "decision",     # the decision id, for kind "decision"
    "withdrawn",    # set while merging: the runner must not land it
], defaults=(QUEUED, 0.0, "branch", "", False))


def _path(central):
    return central.file("queue.json")


def _entry(fields):
    """A QueueEntry from its JSON; ValueError when a field has a type no reader expects
    (the file is then treated as damaged and rebuilt from the journal)."""
    entry = QueueEntry(**fields)
    texts = (entry.id, entry.branch, entry.sha, entry.worker, entry.kind, entry.decision)
    numbers = (entry.queued_at, entry.started_at)
    if (not all(isinstance(v, str) for v in texts) or entry.status not in (QUEUED, MERGING)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
            or not isinstance(entry.withdrawn, bool)):
        raise ValueError(f"entry {str(entry.id)[:20]} has a field of the wrong type")
    return entry


def _load(central):
    """The entries (callers hold the state lock). A damaged queue.json is set aside and
    the queue rebuilt from the journal, which holds every queued/requeued/withdrawn
    and final event: a damaged file never silently drops a merge."""
    try:
        return [_entry(e) for e in read_json(_path(central), {}).get("entries", [])]
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as e:
        return _rebuild(central, e)


def _rebuild(central, error):
    from pathlib import Path

    path = Path(_path(central))
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(path, aside)
    waiting = []
    for rec in journal.merges(central).values():
        if rec.get("status") not in (QUEUED, MERGING) or not rec.get("branch") or not rec.get("sha"):
            continue
        waiting.append(QueueEntry(
            rec["id"], rec["branch"], rec["sha"], rec.get("worker", ""), rec.get("queued_at", 0.0),
            status=rec["status"], started_at=rec.get("started_at", 0.0),
            kind=rec.get("kind", "branch"), decision=rec.get("decision", "")))
    _save(central, waiting)
    journal.record(central, None, "repaired", file=path.name, aside=aside.name, entries=len(waiting),
                   error=f"{error.__class__.__name__}: {error}"[:200])
    sys.stderr.write(f"mergecoord: {path.name} was damaged ({error.__class__.__name__}); set aside as "
                     f"{aside.name} and rebuilt from the journal ({len(waiting)} entries)\n")
    return waiting


def _save(central, entries):
    write_json(_path(central), {"entries": [e._asdict() for e in entries]})


def entries(central):
    with central.lock:
        return _load(central)


def get(central, merge_id):
    return next((e for e in entries(central) if e.id == merge_id), None)


def enqueue(central, branch, sha, worker, *, kind="branch", decision="", merge_id=None):
    """Queue `branch` at `sha`, or move its queued entry to the new tip (latest tip wins).

    Returns (entry, position, replaced)."""
    with central.lock:
        queue = _load(central)
        for i, entry in enumerate(queue):
            if entry.branch == branch and entry.kind == kind == "branch":
                if entry.sha == sha and not entry.withdrawn:
                    return entry, i + 1, False      # already queued at this tip (e.g. by recovery)
                entry = entry._replace(sha=sha, worker=worker, withdrawn=False)
                queue[i] = entry
                _save(central, queue)
                journal.record(central, entry.id, "requeued", sha=sha, worker=worker)
                return entry, i + 1, True
        entry = QueueEntry(merge_id or ids.allocate(central, "m"), branch, sha, worker,
                           time.time(), kind=kind, decision=decision)
        queue.append(entry)
        _save(central, queue)
        journal.record(central, entry.id, "queued", branch=branch, sha=sha, worker=worker,
                       kind=kind, decision=decision)
        return entry, len(queue), False


def withdraw(central, branch, reason):
    """Take `branch` out of the queue; a merge in flight is told not to land."""
    with central.lock:
        queue = _load(central)
        for i, entry in enumerate(queue):
            if entry.branch == branch and entry.kind == "branch":
                if entry.status == MERGING:
                    queue[i] = entry._replace(withdrawn=True)
                else:
                    del queue[i]
                _save(central, queue)
                journal.record(central, entry.id, "withdrawn", reason=reason)
                return entry
        return None


def claim(central):
    """Mark the first queued entry as merging and return it (None when empty)."""
    with central.lock:
        queue = _load(central)
        for i, entry in enumerate(queue):
            if entry.status == QUEUED:
                entry = queue[i] = entry._replace(status=MERGING, started_at=time.time())
                _save(central, queue)
                return entry
        return None


def release(central, merge_id):
    """Put an entry that was merging back in line (a runner died or gave it back)."""
    with central.lock:
        queue = _load(central)
        queue = [e._replace(status=QUEUED) if e.id == merge_id else e for e in queue]
        _save(central, queue)


def finish(central, merge_id, event, tip=None, **fields):
    """Record the outcome in the journal and remove the entry, atomically for readers.

    `tip` is the commit the outcome is about. When the branch was re-pushed while
    it merged, the entry already holds the newer tip: that one is not dropped with
    the old one's outcome but goes back in line (latest tip wins). Returns True
    when the entry left the queue."""
    with central.lock:
        journal.record(central, merge_id, event, **fields)
        queue = _load(central)
        current = next((e for e in queue if e.id == merge_id), None)
        if current is not None and tip is not None and current.sha != tip and not current.withdrawn:
            _save(central, [e._replace(status=QUEUED) if e.id == merge_id else e for e in queue])
            journal.record(central, merge_id, "requeued", sha=current.sha, worker=current.worker,
                           reason="re-pushed during the merge")
            return False
        _save(central, [e for e in queue if e.id != merge_id])
        return True


def claim_peek(central):
    """True when some entry waits to be claimed."""
    return any(e.status == QUEUED for e in entries(central))
