"""What follows an outcome once the journal has it: the learning record, the decision's
bookkeeping (applied, superseded, back to pending) with the losing worker's refactor task,
and the webhooks and `refs/mergecoord/state` (`events.flush`).

The journal is the truth about what landed. The outcome's final event carries
`follow: 1`, and a `followed-up` event clears it once every step has run; a step that
raises (a permission error while publishing the state ref, a runner killed in between) is
retried at the next start (`retry`). So every step is idempotent: a retry never makes a
second task or learning record, and never says anything but what landed. Never moves main.
"""

import traceback

from .notify import events
from ..state import journal

# Journal events that annotate an outcome rather than change it.
FOLLOWED = "followed-up"
FAILED = "follow-up-failed"


def steps(runner, entry, outcome):
    def learn():
        if outcome.files or outcome.conflicts or outcome.resolved_by == "human":
            from . import learning

            learning.remember(runner.central, entry, outcome)

    def decide():
        if entry.kind == "decision" or outcome.status == "merged":
            from .decisions import settled

            settled(runner, entry, outcome)

    def tell():
        # The state ref may wait for the end of the line (Runner.publish_later); webhooks do not.
        later = runner.publish_later(entry, outcome)
        events.flush(runner.central, runner.config, publish_state=not later)
        runner.unpublished = runner.unpublished or later

    return ("learning", learn), ("decision", decide), ("events", tell)


def run(runner, entry, outcome, only=None):
    """Run the follow-up steps of `outcome` (those named in `only`, else all); True when
    they all succeeded. A failure of the machine (a full disk) stops the runner as
    anywhere else; any other failure is logged, noted in the journal and retried, and
    changes nothing about the outcome itself."""
    from .recovery import is_stall

    failed = []
    for name, step in steps(runner, entry, outcome):
        if only is not None and name not in only:
            continue
        try:
            step()
        except Exception as exc:
            if is_stall(exc):
                raise
            runner.log_failure(entry, traceback.format_exc())
            failed.append(f"{name}: {exc.__class__.__name__}: {exc}")
    if failed:
        why = "; ".join(failed)
        journal.record(runner.central, entry.id, FAILED, follow_error=runner.redact(why)[:500])
        runner.echo(f"  {entry.id} is {outcome.status}; what follows it failed ({why[:200]}) "
                    "and is retried at the next run")
        return False
    if only is None:
        journal.record(runner.central, entry.id, FOLLOWED, follow=0, follow_error="")
    return True


def unfinished(central):
    """[(final event, folded record)] of outcomes whose follow-up steps have not all run."""
    waiting = {}
    for event in journal.events(central):
        if event.get("follow") and event["event"] in journal.FINAL:
            waiting[event["id"]] = event
        elif event["event"] == FOLLOWED:
            waiting.pop(event["id"], None)
    if not waiting:
        return []
    records = journal.merges(central)
    return [(event, records.get(merge_id, {})) for merge_id, event in waiting.items()]


# What a restart must finish before it merges anything else: a decision that landed is
# marked applied (and its loser's task made) before another merge of the same branch
# could close it as superseded. The rest (a learning record rebuilt from the merge
# commit, the state ref) has no such order and waits until the queue is drained, so a
# runner that keeps being stopped early still merges.
FIRST = ("decision",)


def retry(runner, only=None):
    """Finish what a dead runner, or a step that failed, left undone (the steps named in
    `only`, else all of them, and then the outcome is followed up)."""
    from .outcome import MergeOutcome
    from ..state.queue import QueueEntry

    for event, record in unfinished(runner.central):
        entry = QueueEntry(event["id"], record.get("branch", ""), record.get("sha", ""), record.get("worker", ""),
                           record.get("queued_at", 0.0), kind=record.get("kind", "branch"),
                           decision=event.get("decision") or record.get("decision", ""))
        outcome = MergeOutcome(event["event"], commit=event.get("commit", ""),
                               resolved_by=event.get("resolved_by", ""), conflicts=event.get("conflicts", []),
                               detail=event.get("detail", ""), rounds=event.get("rounds", 0),
                               confidence=event.get("confidence", 0.0), decision=event.get("decision", ""))
        if only is None:
            runner.echo(f"[Merge Coordinator] Finishing what follows {entry.id} ({outcome.status})")
        run(runner, entry, outcome, only)
