"""Escalating what the panel could not settle: the decision file a human answers
(`state/decisions.py` keeps it), with the options, the panel's vote and the reason.

A newer decision about the same branch supersedes the older pending one. Never moves main.
"""

from ...state import decisions, journal
from .. import mainline
from . import options


def escalate(central, store, main, entry, outcome):
    """Write the decision for an escalated merge; returns its id (d-NNNN). `main` is main's
    commit as the decision is written (its side A, and what `git merge-decide --diff` shows)."""
    merge = outcome.merge
    conflicts = list(merge.conflicts) if merge is not None else []
    paths = list(outcome.conflicts) or [c.path for c in conflicts]
    if outcome.context is None and main is not None:
        base = merge.bases[0] if merge is not None and merge.bases else None
        worker, message = mainline.last_touch(store, main, base, paths, landed=journal.landed(central))
        outcome.context = _Context(worker, message)
    doc = {
        "merge_id": entry.id, "branch": entry.branch, "sha": entry.sha, "worker": entry.worker,
        "main": main.decode() if main else "",
        "files": paths,
        "kinds": {c.path: c.kind for c in conflicts},
        "reason": outcome.detail,
        "rounds": outcome.rounds,
        "confidence": round(outcome.confidence, 3),
        "vote": options.vote(outcome),
        "options": options.build(store, entry, outcome, merge),
    }
    if entry.kind == "decision" and entry.decision:
        doc["previous"] = entry.decision
    decision_id = decisions.create(central, doc)
    for old in decisions.all_decisions(central):
        if old["id"] != decision_id and old.get("branch") == entry.branch \
                and old["status"] in ("pending", "decided") and _older(old, entry):
            decisions.update(central, old["id"], status="superseded", superseded_by=decision_id)
    return decision_id


def _older(old, entry):
    # The decision being re-applied is superseded by the new one; so is a pending one
    # for an earlier push of the same branch. A decided one still waiting in the queue is not.
    return old["id"] == entry.decision or old["status"] == "pending"


class _Context:
    """The part of the panel's ConflictContext a decision needs, when no panel sat."""

    def __init__(self, worker, message):
        self.ours_worker = worker
        self.ours_message = message
        self.theirs_message = ""
