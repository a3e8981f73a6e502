"""Human decisions: escalating what the panel could not settle, and what follows an answer.

`escalate` writes the decision file when the runner gives up on a conflict;
`settled` is called by the runner when a decision's queue entry is done (applied,
rejected, failed) and when a branch lands by other means (its pending decisions
are superseded). The answer itself is checked in `answer` (shared with the push
hooks: this package's __init__ must stay light, so heavy imports are local).
"""


def escalate(runner, entry, outcome):
    """Write the decision for an escalated merge; returns its id (d-NNNN)."""
    from .. import mainline
    from ...state import decisions, journal
    from . import options

    store = runner.store
    merge = outcome.merge
    conflicts = list(merge.conflicts) if merge is not None else []
    paths = list(outcome.conflicts) or [c.path for c in conflicts]
    main = runner.main_sha()
    if outcome.context is None and main is not None:
        base = merge.bases[0] if merge is not None and merge.bases else None
        worker, message = mainline.last_touch(store, main, base, paths, landed=journal.landed(runner.central))
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
    decision_id = decisions.create(runner.central, doc)
    for old in decisions.all_decisions(runner.central):
        if old["id"] != decision_id and old.get("branch") == entry.branch \
                and old["status"] in ("pending", "decided") and _older(old, entry):
            decisions.update(runner.central, old["id"], status="superseded", superseded_by=decision_id)
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


def superseded_reason(central, branch, sha, decision_id):
    """Why the decision about `branch` at `sha` no longer stands (its branch was deleted
    or pushed again), or ""."""
    from .answer import branch_tips, moved_on

    return moved_on(branch, sha, branch_tips(central.root, [branch]).get(branch), decision_id)


def close_superseded(runner):
    """Close the open decisions whose branch moved on since they were written: deleted,
    pushed without the marker, or pushed again (the new tip is merged on its own).
    Called at every runner start; the answer check refuses them even before that."""
    from ...state import decisions
    from .answer import branch_tips, moved_on

    central = runner.central
    open_ = [d for d in decisions.all_decisions(central)
             if d["status"] in ("pending", "decided") and d.get("branch") and d.get("sha")]
    tips = branch_tips(central.root, {d["branch"] for d in open_})
    for doc in open_:
        why = moved_on(doc["branch"], doc["sha"], tips.get(doc["branch"]), doc["id"])
        if why:
            try:
                decisions.update(central, doc["id"], expect=("pending", "decided"), status="superseded",
                                 superseded_by=why)
            except decisions.DecisionError:
                continue
            runner.echo(f"[Merge Coordinator] Closed {doc['id']}: {why}")


def settled(runner, entry, outcome):
    """Bookkeeping after the runner finished `entry` (a follow-up step: see `followups`).
    Idempotent: run again after a crash it does what is left, and nothing twice (the
    tasks are made before the status says so, and made only once)."""
    from ...state import decisions

    central = runner.central
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
    from ...state import decisions

    try:
        decisions.update(central, decision_id, expect=("pending", "decided"), status="superseded",
                         superseded_by=why)
    except decisions.DecisionError:
        pass          # answered, applied or closed meanwhile
