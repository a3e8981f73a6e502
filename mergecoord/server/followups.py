"""What follows an outcome once the journal has it: the learning record, the decision's
bookkeeping (applied, superseded, back to pending) with the losing worker's refactor task,
and the webhooks and `refs/mergecoord/state` (`events.flush`).

The journal is the truth about what landed. The outcome's final event carries
`follow: 1`, and a `followed-up` event clears it once every step has run; a step that
raises (a permission error while publishing the state ref, a runner killed in between) is
retried at the next start (`retry`). So every step is idempotent: a retry never makes a
second task or learning record, and never says anything but what landed. Never moves main.

The runner keeps one `Followups` and gives it what the steps need: the state, the config,
its output and its failure log, never itself.
"""

import traceback

from ..state import journal, queue
from ..state.queue import QueueEntry
from . import learning
from .credentials import redact
from .decisions.lifecycle import settled
from .notify import events
from .outcome import MergeOutcome
from .recovery import is_stall

# Journal events that annotate an outcome rather than change it.
FOLLOWED = "followed-up"
FAILED = "follow-up-failed"

# What a restart must finish before it merges anything else: a decision that landed is
# marked applied (and its loser's task made) before another merge of the same branch
# could close it as superseded. The rest (a learning record rebuilt from the merge
# commit, the state ref) has no such order and waits until the queue is drained, so a
# runner that keeps being stopped early still merges.
FIRST = ("decision",)


class Followups:
    def __init__(self, central, config, *, echo, log_failure):
        self.central, self.config = central, config
        self.echo = echo                  # echo(line): the runner's output
        self.log_failure = log_failure    # log_failure(entry or None, traceback text): the runner's log
        self.unpublished = False          # the state ref lags the journal (publish_pending)

    def steps(self, entry, outcome):
        def learn():
            if outcome.files or outcome.conflicts or outcome.resolved_by == "human":
                learning.remember(self.central, entry, outcome)

        def decide():
            if entry.kind == "decision" or outcome.status == "merged":
                settled(self.central, entry, outcome)

        def tell():
            # The state ref may wait for the end of the line (publish_later); webhooks do not.
            later = self.publish_later(entry, outcome)
            events.flush(self.central, self.config, publish_state=not later)
            self.unpublished = self.unpublished or later

        return ("learning", learn), ("decision", decide), ("events", tell)

    def run(self, entry, outcome, only=None):
        """Run the follow-up steps of `outcome` (those named in `only`, else all); True when
        they all succeeded. A failure of the machine (a full disk) stops the runner as
        anywhere else; any other failure is logged, noted in the journal and retried, and
        changes nothing about the outcome itself."""
        failed = []
        for name, step in self.steps(entry, outcome):
            if only is not None and name not in only:
                continue
            try:
                step()
            except Exception as exc:
                if is_stall(exc):
                    raise
                self.log_failure(entry, traceback.format_exc())
                failed.append(f"{name}: {exc.__class__.__name__}: {exc}")
        if failed:
            why = "; ".join(failed)
            journal.record(self.central, entry.id, FAILED, follow_error=redact(why)[:500])
            self.echo(f"  {entry.id} is {outcome.status}; what follows it failed ({why[:200]}) "
                      "and is retried at the next run")
            return False
        if only is None:
            journal.record(self.central, entry.id, FOLLOWED, follow=0, follow_error="")
        return True

    def retry(self, only=None):
        """Finish what a dead runner, or a step that failed, left undone (the steps named in
        `only`, else all of them, and then the outcome is followed up)."""
        for event, record in unfinished(self.central):
            entry = QueueEntry(event["id"], record.get("branch", ""), record.get("sha", ""), record.get("worker", ""),
                               record.get("queued_at", 0.0), kind=record.get("kind", "branch"),
                               decision=event.get("decision") or record.get("decision", ""))
            outcome = MergeOutcome(event["event"], commit=event.get("commit", ""),
                                   resolved_by=event.get("resolved_by", ""), conflicts=event.get("conflicts", []),
                                   detail=event.get("detail", ""), rounds=event.get("rounds", 0),
                                   confidence=event.get("confidence", 0.0), decision=event.get("decision", ""))
            if only is None:
                self.echo(f"[Merge Coordinator] Finishing what follows {entry.id} ({outcome.status})")
            self.run(entry, outcome, only)

    def publish_later(self, entry, outcome):
        """True when refs/mergecoord/state can wait for the end of the line: the outcome
        changed only the status summary (no decision, no task) and more entries wait. A
        clone sees every decision and task as soon as it exists; the summary of a run of
        clean merges is published once, when the line is empty (see publish_pending)."""
        if outcome.status == "escalated" or outcome.decision or entry.kind != "branch":
            return False
        return queue.claim_peek(self.central)

    def publish_pending(self):
        """Publish what `publish_later` held back. A failure is logged and said, like any
        follow-up step's; the next publication carries the whole state anyway."""
        if self.unpublished:
            from .notify import publish

            self.unpublished = False
            try:
                publish.publish(self.central, self.config)
            except Exception as exc:
                if is_stall(exc):
                    raise
                self.log_failure(None, traceback.format_exc())
                self.echo(f"  could not publish refs/mergecoord/state ({exc.__class__.__name__}: {exc}); "
                          "the next run publishes it")


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
