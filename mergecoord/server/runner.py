"""The runner: takes queue entries one at a time and merges them into main.

One entry's path: `queue.claim` -> `process` (journal "started") -> `merge_entry`, which
for the current main asks the handler of the entry's kind (`kinds/`) to `prepare` it onto
that main, verifies the candidate (`[verify]`), has the handler `commit` it, and `land`s
the commit by compare-and-swap -> `finish` (a decision for an escalation, the journal, the
follow-up steps). Handlers get a narrow `Context`, never the runner.

It never moves main except by compare-and-swap from the commit the merge was
computed on; when main moved meanwhile it merges again on the new main. Every
step is journaled before the next, and an entry leaves the queue only together
with its outcome, so a runner killed at any instant loses nothing and, on
restart, merges nothing twice (the merge commit is journaled as "landing" before the
compare-and-swap, so recovery knows it by its id, never by a trailer).
"""

import os
import time

from dulwich.file import FileLocked
from dulwich.repo import Repo

from .. import child
from ..state import journal, pause, queue, transcripts
from ..state.files import break_stale_lock, never_write
from ..untrusted import printable
from . import credentials, followups, mainline, reasons, recovery, wake
from .decisions.lifecycle import close_superseded
from .kinds import Context, handler_for
from .notify import reminders, webhook
from .outcome import MergeOutcome
from .panels import Panels

MAX_ATTEMPTS = 20     # re-merges after main moved, before the entry is put back in line


class Runner:
    def __init__(self, central, config, echo=print):
        self.central = central
        self.config = config
        self._echo = echo
        self.repo = Repo(str(central.git_dir))
        self.lock = central.runner_lock()
        self.processed = []
        self.secrets = credentials.secret_values(config, os.environ)
        never_write(self.secrets)
        # The keys live in this process: no child of the same user may read them from
        # /proc/<pid>/environ or /proc/<pid>/mem (the verify command runs pushed code).
        child.protect_self()
        self.panels = Panels(central, config)
        self.followups = followups.Followups(central, config, echo=self.echo, log_failure=self.log_failure)

    def echo(self, line=""):
        """Say `line` on the runner's output (a terminal, or logs/runner.log): branch names,
        paths and messages in it are a pusher's, and the keys never go there."""
        self._echo(printable(credentials.redact(line), multiline=True))

    @property
    def store(self):
        return self.repo.object_store

    # -- the loop ---------------------------------------------------------------

    def acquire(self, wait):
        if self.lock.acquire(blocking=False):
            return True
        if not wait:
            return False
        self.lock.timeout = 10 ** 9
        self.lock.acquire()
        return True

    def run(self, *, once=True, wait=False, should_stop=lambda: False):
        """Drain the queue (once) or serve it until `should_stop()`. Returns the outcomes,
        or None when another runner holds the lock and `wait` is false."""
        self.panels.neutral()    # a broken [[panel]] stops the runner before it takes any entry
        if not self.acquire(wait):
            return None
        broken = 0
        try:
            while True:
                try:
                    return self.serve(once, should_stop)
                except Exception as exc:
                    if not recovery.is_stall(exc):
                        raise
                    broken += 1
                    if isinstance(exc, FileLocked) and broken <= 10 and recovery.break_git_lock(self.central, exc):
                        continue        # a dead process's lock on a ref or object: go on
                    stalled = recovery.stall_error(exc)
                    if once:
                        raise stalled from None
                    self.echo(f"mergecoord: {stalled}")
                    time.sleep(self.config.poll_interval)
                    if not self.lock.held:
                        self.acquire(wait=True)
        finally:
            try:
                self.followups.publish_pending()
            finally:
                if self.lock.held:
                    self.lock.release()
                webhook.drain(self.central, self.config)          # bounded wait for the webhook

    def serve(self, once, should_stop):
        """The loop of `run`, under the runner lock."""
        self.recover()
        # Serving, the runner sleeps on the wake FIFO: a push that queues wakes it at once.
        self.alarm = None if once else wake.Alarm(self.central)
        try:
            return self.serve_queue(once, should_stop)
        finally:
            if self.alarm is not None:
                self.alarm.close()

    def idle(self):
        """Wait for the next look at the queue: a poll interval, or less when woken."""
        self.alarm.wait(self.config.poll_interval)

    def serve_queue(self, once, should_stop):
        unfinished = True         # follow-up steps an earlier run may have left
        while not should_stop():
            if self.is_paused():
                self.followups.publish_pending()
                if once:
                    break
                self.idle()
                continue
            entry = queue.claim(self.central)
            if entry is not None:
                self.processed.append((entry, self.process(entry)))
                unfinished = True
                continue
            if unfinished:            # what earlier runs left undone after their outcomes
                self.followups.retry()
                unfinished = False
            self.followups.publish_pending()
            reminders.remind(self.central, self.config)      # decisions left pending: throttled, never raises
            if once:
                # Release, then look again: a hook that queued while we held the
                # lock saw it held and relied on us; if we miss it now, the next
                # hook or runner gets the free lock.
                self.lock.release()
                if queue.claim_peek(self.central) and self.lock.acquire(blocking=False):
                    continue
                return self.processed
            self.idle()
        return self.processed

    def recover(self):
        """Clean up after a dead runner and finish what it left, before taking any entry."""
        recovery.clean_up(self.central)
        recovery.settle_merging(self.central, self.repo, self.config, self.echo)
        self.followups.retry(followups.FIRST)             # the rest when the queue is drained
        close_superseded(self.central, self.echo)        # decisions whose branch moved on (latest tip wins)
        recovery.adopt_unqueued(self.central, self.repo, self.config, self.echo)

    def is_paused(self):
        return pause.is_paused(self.central)

    # -- one entry --------------------------------------------------------------

    def main_sha(self):
        return mainline.tip(self.repo.refs, self.config.main_ref)

    def context(self, main):
        """What an entry's handler gets to prepare it onto `main`: never the runner itself."""
        return Context(central=self.central, config=self.config, store=self.store, main=main,
                       echo=self.echo, panels=self.panels)

    def process(self, entry):
        self.echo(f"[Merge Coordinator] Processing {entry.branch} ({entry.id})...")
        try:
            journal.record(self.central, entry.id, "started", sha=entry.sha)
            outcome = self.merge_entry(entry)
        except Exception as exc:  # the queue goes on; the details go to the log
            if recovery.is_stall(exc):
                raise   # the entry stays 'merging'; recover() settles it on the next run
            import traceback

            self.log_failure(entry, traceback.format_exc())
            detail = credentials.redact(f"internal error: {exc.__class__.__name__}: {exc}")
            outcome = MergeOutcome("failed", detail=detail, reason=reasons.internal_error(detail))
            queue.finish(self.central, entry.id, "failed", error=detail, follow=1,
                         decision=entry.decision, why=reasons.of_outcome(outcome))
            self.followups.run(entry, outcome)     # e.g. a decision goes back to its human
        self.echo(self.describe(outcome))
        return outcome

    def merge_entry(self, entry):
        """Prepare, verify, commit and land `entry` on the current main, again on the new
        main when it moved meanwhile; then finish. The outcome."""
        for _attempt in range(MAX_ATTEMPTS):
            main = self.main_sha()
            if main is None:
                why = f"{self.config.main_ref} does not exist; push a first commit to it"
                return self.finish(entry, MergeOutcome("failed", detail=why, reason=reasons.no_main(why)))
            if entry.sha.encode() not in self.store:
                why = f"commit {entry.sha} is missing"
                return self.finish(entry, MergeOutcome("failed", detail=why, reason=reasons.damaged(why)))
            try:
                candidate = self.prepare(entry, main)
            except FileLocked as e:   # an object's lock left by a killed runner
                if not break_stale_lock(os.fsdecode(e.lockfilename)):
                    raise
                continue
            if candidate.status != "ready":
                return self.finish(entry, candidate)
            landed = self.land(entry, main, candidate)
            if landed is not None:
                return landed
            self.echo("  main moved during the merge; merging again on the new main")
            entry = queue.get(self.central, entry.id) or entry    # re-pushed meanwhile: its new tip
        queue.release(self.central, entry.id)
        return MergeOutcome("requeued", detail="main kept moving; put back in line")

    def prepare(self, entry, main):
        """`entry` onto `main` by its kind's handler, committed and verified: a candidate
        (status "ready", `commit` the commit to land), or the outcome that ends the entry.
        Nothing moves: `main` need not be main's value now.

        The candidate is committed before it is verified, so the verify command (a CI
        elsewhere) is told the very commit that lands; a commit that fails stays
        unreferenced, and git's gc takes it."""
        handler = handler_for(entry.kind)
        context = self.context(main)
        outcome = handler.prepare(context, entry)
        if outcome.transcript:
            outcome.transcript = credentials.redact(outcome.transcript)
            transcripts.save(self.central, entry.id, outcome.transcript)
        if outcome.status != "ready":
            return outcome
        outcome.commit = handler.commit(context, entry, outcome)
        if not self.verify(entry, outcome, main):
            outcome.commit = ""           # never on main: the journal must not name it as the merge's
        return outcome

    def verify(self, entry, outcome, base):
        """Run `[verify]` on the candidate (`outcome.commit`, merged onto `base`); False (and
        the outcome says why) when it fails: a panel's or the learning store's resolution
        then goes to a human, a clean merge or a human's choice goes back. Journals
        `verifying` first: `queue --json` and the dashboard show what runs on which base."""
        if not self.config.verify_command:
            return True
        from . import verify

        base = base.decode() if isinstance(base, bytes) else base
        identity = verify.Identity(merge_id=entry.id, branch=entry.branch, tree=outcome.tree.decode(),
                                   base=base, commit=outcome.commit)
        journal.record(self.central, entry.id, reasons.VERIFYING,
                       why=reasons.verifying(base, outcome.commit, identity.tree))
        check = verify.check(self.store, identity, self.config, self.secrets)
        outcome.verify_output = credentials.redact(check.output)
        if check.ok:
            return True
        why = "timed out" if check.timed_out else f"exited {check.returncode}"
        machine = outcome.resolved_by in ("consensus", "learned")
        outcome.status = "escalated" if machine else "failed"
        outcome.reason = reasons.verify_failed(outcome.verify_output, base, outcome.commit,
                                               check.returncode, check.timed_out)
        outcome.detail = f"verify command {why} on the {outcome.resolved_by} merge; main stays where it was"
        transcripts.save(self.central, entry.id, (outcome.transcript + "\n\n" if outcome.transcript else "")
                         + f"[verify] {why}\n{outcome.verify_output}")
        return False

    def land(self, entry, main, candidate):
        """Move main by compare-and-swap, journal and dequeue, all under the state lock.
        None when main moved (the caller merges again)."""
        with self.central.lock:
            current = queue.get(self.central, entry.id)
            if current is not None and not current.withdrawn and current.sha != entry.sha:
                return None            # re-pushed meanwhile: latest tip wins
            why = ("withdrawn during the merge" if current is None or current.withdrawn
                   else handler_for(entry.kind).moved_on(self.context(main), entry))
            if why:
                reason = (reasons.withdrawn(why) if current is None or current.withdrawn
                          else handler_for(entry.kind).moved_on_reason(self.context(main), entry, why))
                outcome = MergeOutcome("withdrawn", detail=why, decision=entry.decision, reason=reason)
                self.record(entry, outcome)
            else:
                # Recovery takes a merge for landed only when this very commit is on main.
                journal.record(self.central, entry.id, "landing", landing=candidate.commit)
                if not mainline.compare_and_swap(self.repo.refs, self.config.main_ref, main,
                                                 candidate.commit.encode(), f"mergecoord: {entry.id} {entry.branch}"):
                    return None
                candidate.status = "merged"
                outcome = candidate
                self.record(entry, outcome)
        # What follows a merge (learning, webhooks, the state ref) runs without the
        # state lock: a slow webhook must not hold up the pushes queueing meanwhile.
        return self.finish(entry, outcome, recorded=True)

    def record(self, entry, outcome):
        """Journal the outcome and take the entry out of the queue (or put it back in
        line when its branch was re-pushed during the merge: the new tip waits its turn).
        The event says its follow-up steps are still to run (`followups`)."""
        fields = {"commit": outcome.commit, "resolved_by": outcome.resolved_by,
                  "conflicts": outcome.conflicts, "detail": credentials.redact(outcome.detail),
                  "rounds": outcome.rounds, "confidence": round(outcome.confidence, 3),
                  "decision": outcome.decision or entry.decision, "why": reasons.of_outcome(outcome)}
        queue.finish(self.central, entry.id, outcome.status, tip=entry.sha, follow=1,
                     **{k: v for k, v in fields.items() if v not in ("", [], 0, 0.0)})

    def finish(self, entry, outcome, recorded=False):
        if outcome.status == "escalated":
            from .decisions.escalation import escalate

            outcome.decision = escalate(self.central, self.store, self.main_sha(), entry, outcome)
        if not recorded:
            self.record(entry, outcome)
        self.followups.run(entry, outcome)
        return outcome

    def describe(self, outcome):
        if outcome.status == "merged":
            how = {"clean": "Clean merge to main",
                   "consensus": f"Applying AI consensus merge ({outcome.rounds} round(s), "
                                f"confidence {outcome.confidence:.0%})",
                   "human": "Applying human decision",
                   "learned": "Applied the resolution learned from an earlier decision",
                   }.get(outcome.resolved_by, f"Merged ({outcome.resolved_by})")
            return f"✓ {how} ({outcome.commit[:10]})"
        if outcome.status == "escalated":
            return f"⚠ Escalated to a human: {printable(outcome.detail)}"
        return f"• {outcome.status}: {printable(outcome.detail)}"

    def log_failure(self, entry, text):
        self.central.ensure_state_dir()
        what = f"{entry.id} {entry.branch}" if entry is not None else "runner"
        with open(self.central.path("logs", "runner.log"), "a") as f:
            f.write(credentials.redact(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n{text}\n"))
