"""A decision's life after it was written: the latest tip wins (a decision whose branch
moved on is closed), and what follows when the runner is done with an entry.

`settled` runs as a follow-up step when a decision's queue entry is done (applied,
rejected, failed) and when a branch lands by other means (its pending decisions are
superseded); `close_superseded` at every runner start (the decision kind checks
`answer.moved_on` again just before main moves). Each is idempotent.
"""

from ...state import decisions
from .answer import branch_tips, moved_on


def close_superseded(central, echo):
    """Close the open decisions whose branch moved on since they were written: deleted,
    pushed without the marker, or pushed again (the new tip is merged on its own).
    Called at every runner start; the answer check refuses them even before that."""
    open_ = [d for d in decisions.all_decisions(central)
             if d["status"] in ("pending", "decided") and d.get("branch") and d.get("sha")]
    tips = branch_tips(central.root, {d["branch"] for d in open_})
    for doc in open_:
        why = moved_on(doc["branch"], doc["sha"], tips.get(doc["branch"]), doc["id"])
        if why and _close(central, doc["id"], why):
            echo(f"[Merge Coordinator] Closed {doc['id']}: {why}")


def settled(central, entry, outcome):
    """Bookkeeping after the runner finished `entry` (a follow-up step: see `followups`).
    Idempotent: run again after a crash it does what is left, and nothing twice (the
    tasks are made before the status says so, and made only once)."""
    if entry.kind != "decision" or not entry.decision:
        if outcome.status == "merged":
            # The branch landed at its latest tip: whatever was asked about an older one is moot.
            for old in decisions.all_decisions(central):
                if old.get("branch") == entry.branch and old["status"] in ("pending", "decided"):
                    _close(central, old["id"], f"{entry.id} merged {entry.branch} at its latest tip")
        return
    try:
        doc = decisions.load(central, entry.decision)
    except decisions.DecisionError:
        return
    if doc["status"] != "decided":
        return
    from .feedback import refactor_tasks, rejection_task

    if outcome.status == "merged" and outcome.resolved_by == "human":
        refactor_tasks(central, doc, outcome.commit)
        decisions.update(central, doc["id"], expect="decided", status="applied", applied_commit=outcome.commit)
    elif outcome.status in ("merged", "up-to-date"):
        _close(central, doc["id"], f"main moved: {entry.branch} merged without conflict")
    elif outcome.status == "withdrawn":
        _close(central, doc["id"], outcome.detail or f"{entry.branch} was withdrawn")
    elif outcome.status == "rejected":
        rejection_task(central, doc)
        decisions.update(central, doc["id"], expect="decided", status="rejected")
    elif outcome.status == "failed":
        # The choice could not be applied (it does not validate, or verify failed): the
        # question goes back to the human, with the reason and the answer that failed.
        decisions.update(central, doc["id"], expect="decided", status="pending", answer=None,
                         failed_answer=doc.get("answer", {}), apply_error=outcome.detail)


def _close(central, decision_id, why):
    """Mark the open decision superseded (`why`); False when it was answered, applied or
    closed meanwhile."""
    try:
        decisions.update(central, decision_id, expect=("pending", "decided"), status="superseded",
                         superseded_by=why)
    except decisions.DecisionError:
        return False
    return True
