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
WITHDRAWN = "withdrawn during the merge"


def _hex(commit):
    return commit.decode() if isinstance(commit, bytes) else commit


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
        self.window = self.speculation() if config.verify_command else None

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
            if self.window is not None:
                done = self.window.drain(lambda: should_stop() or self.is_paused())
                if done:
                    self.processed.extend(done)
                    unfinished = True
                    continue
            else:
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
        try:
            self.take(entry)
            outcome = self.merge_entry(entry)
        except Exception as exc:  # the queue goes on; the details go to the log
            if recovery.is_stall(exc):
                raise   # the entry stays 'merging'; recover() settles it on the next run
            import traceback

            outcome = self.crashed(entry, traceback.format_exc(), exc)
        self.echo(self.describe(outcome))
        return outcome

    def take(self, entry):
        self.echo(f"[Merge Coordinator] Processing {entry.branch} ({entry.id})...")
        journal.record(self.central, entry.id, "started", sha=entry.sha)

    def crashed(self, entry, text, exc):
        """An internal error while merging `entry`: logged with its traceback, the entry
        failed (a decision goes back to its human); the queue goes on."""
        self.log_failure(entry, text)
        detail = credentials.redact(f"internal error: {exc.__class__.__name__}: {exc}")
        outcome = MergeOutcome("failed", detail=detail, reason=reasons.internal_error(detail))
        queue.finish(self.central, entry.id, "failed", error=detail, follow=1,
                     decision=entry.decision, why=reasons.of_outcome(outcome))
        self.followups.run(entry, outcome)
        return outcome

    # -- speculative verification (speculation.py) ----------------------------------

    def speculation(self):
        """The window of candidates verified at once (`verify.parallel`, `verify.batch`),
        or None: one entry at a time."""
        parallel, batch = self.config.verify_parallel, self.config.verify_batch
        if parallel == 1 and batch == 1:
            return None
        from . import speculation

        def open_store():
            repo = Repo(str(self.central.git_dir))
            return repo.object_store, repo.close

        def told(outcome):
            self.echo(self.describe(outcome))
            return outcome

        def verifying(entry, outcome, base):
            self.echo(f"  verifying {entry.branch} ({entry.id}) on {base.decode()[:10]}")
            self.verifying(entry, outcome, base)

        steps = speculation.Steps(
            main=self.main_sha, entries=lambda: queue.entries(self.central),
            claim=lambda: queue.claim(self.central), take=self.take, candidate=self.candidate,
            verifying=verifying, check=self.check, open_store=open_store, flaky=self.note_flaky,
            land=lambda main, chain: self.told_chain(self.land_chain(main, chain)),
            finish=lambda entry, outcome: told(self.finish(entry, outcome)), reject=self.reject,
            withdraw=lambda entry, reason=None: told(self.finish(entry, self.withdrawn(entry, reason),
                                                                 recorded=True)),
            crashed=lambda entry, text, exc: told(self.crashed(entry, text, exc)), echo=self.echo)
        return speculation.Window(steps, parallel=parallel, batch=batch)

    def told_chain(self, landed):
        if landed[0] == "landed":
            for outcome in landed[1]:
                self.echo(self.describe(outcome))
        return landed

    # -- one entry's path ----------------------------------------------------------

    def merge_entry(self, entry):
        """Prepare, verify, commit and land `entry` on the current main, again on the new
        main when it moved meanwhile; then finish. The outcome."""
        for _attempt in range(MAX_ATTEMPTS):
            main = self.main_sha()
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
        Nothing moves: `main` need not be main's value now."""
        outcome = self.candidate(entry, main)
        if outcome.status == "ready":
            self.verify(entry, outcome, main)
        return outcome

    def candidate(self, entry, base):
        """`entry` merged onto `base` by its kind's handler and committed (first parent
        `base`), not verified: status "ready" with `commit`, or the outcome that ends the
        entry. The candidate is committed before it is verified, so the verify command (a
        CI elsewhere) is told the very commit that lands; it is referenced by nothing until
        `land` moves main to it (one that fails stays unreferenced, and git's gc takes it)."""
        if base is None:
            why = f"{self.config.main_ref} does not exist; push a first commit to it"
            return MergeOutcome("failed", detail=why, reason=reasons.no_main(why))
        if entry.sha.encode() not in self.store:
            why = f"commit {entry.sha} is missing"
            return MergeOutcome("failed", detail=why, reason=reasons.damaged(why))
        handler = handler_for(entry.kind)
        context = self.context(base)
        outcome = handler.prepare(context, entry)
        if outcome.transcript:
            outcome.transcript = credentials.redact(outcome.transcript)
            transcripts.save(self.central, entry.id, outcome.transcript)
        if outcome.status == "ready":
            outcome.commit = handler.commit(context, entry, outcome)
        return outcome

    def verify(self, entry, outcome, base):
        """Run `[verify]` on the candidate (`outcome.commit`, merged onto `base`), again up
        to `verify.retries` times when it fails; False (and the outcome says why) when it
        fails."""
        if not self.config.verify_command:
            return True
        self.verifying(entry, outcome, base)
        check, failures = self.check(entry, outcome, base)
        if check.ok:
            self.note_flaky(entry, outcome, base, failures)
            return True
        self.reject(entry, outcome, check, base)
        return False

    def verifying(self, entry, outcome, base):
        """Journal `verifying` (with the base) before the verify command runs: `queue
        --json` and the dashboard show what runs on which base."""
        journal.record(self.central, entry.id, reasons.VERIFYING,
                       why=reasons.verifying(_hex(base), outcome.commit, outcome.tree.decode()))

    def check(self, entry, outcome, base, cancel=None, store=None):
        """(the verify command's last result on the candidate, the failed runs before it):
        it runs again after a failure, up to `verify.retries` times. Safe in a thread given
        its own `store`; setting `cancel` kills the run in flight."""
        from . import verify

        identity = verify.Identity(merge_id=entry.id, branch=entry.branch, tree=outcome.tree.decode(),
                                   base=_hex(base), commit=outcome.commit)
        failures = []
        for _run in range(1 + self.config.verify_retries):
            check = verify.check(store or self.store, identity, self.config, self.secrets, cancel=cancel)
            if check.ok or (cancel is not None and cancel.is_set()):
                break
            failures.append(check)
        return check, failures

    def note_flaky(self, entry, outcome, base, failures):
        """A pass after failed runs: the outcome's reason says so (`flaky`, with each failed
        run's verdict), so a flaky suite shows up instead of ejecting good work."""
        if not failures:
            return
        runs = [(f.returncode, f.timed_out, credentials.redact(f.output)) for f in failures]
        outcome.reason = reasons.flaky(outcome.resolved_by, runs, _hex(base), outcome.commit)
        self.echo(f"  verify passed on run {len(failures) + 1} after {len(failures)} failure(s): recorded as flaky")

    def reject(self, entry, outcome, check, base):
        """The candidate (merged onto `base`) failed verification: a panel's or the learning
        store's resolution goes to a human, a clean merge or a human's choice goes back;
        main stays."""
        outcome.verify_output = credentials.redact(check.output)
        why = "timed out" if check.timed_out else f"exited {check.returncode}"
        machine = outcome.resolved_by in ("consensus", "learned")
        outcome.status = "escalated" if machine else "failed"
        outcome.reason = reasons.verify_failed(outcome.verify_output, _hex(base), outcome.commit,
                                               check.returncode, check.timed_out)
        outcome.detail = f"verify command {why} on the {outcome.resolved_by} merge; main stays where it was"
        outcome.commit = ""           # never on main: the journal must not name it as the merge's
        transcripts.save(self.central, entry.id, (outcome.transcript + "\n\n" if outcome.transcript else "")
                         + f"[verify] {why}\n{outcome.verify_output}")

    def land(self, entry, main, candidate):
        """Move main by compare-and-swap, journal and dequeue, all under the state lock.
        None when main moved (the caller merges again)."""
        with self.central.lock:
            why = self.standing(entry, main)
            if why is None:
                return None            # re-pushed meanwhile: latest tip wins
            if why:
                outcome = self.withdrawn(entry, why)
            elif not self.swap(main, [(entry, candidate)]):
                return None
            else:
                outcome = candidate
        # What follows a merge (learning, webhooks, the state ref) runs without the
        # state lock: a slow webhook must not hold up the pushes queueing meanwhile.
        return self.finish(entry, outcome, recorded=True)

    def land_chain(self, main, chain):
        """Land `chain` ([(entry, candidate)], each candidate's first parent the commit of
        the one before, the first's `main`; the last one's tree verified) with one
        compare-and-swap from `main` to the last candidate, then finish each in order.
        ("landed", outcomes); ("stale", i, why) when entry i must not land (why None: it
        was re-pushed; else the reason object: withdrawn, moved on) and nothing moved;
        ("moved",) when main is no longer `main`."""
        with self.central.lock:
            for i, (entry, _candidate) in enumerate(chain):
                why = self.standing(entry, main)
                if why != "":
                    return "stale", i, why
            if not self.swap(main, chain):
                return ("moved",)
        return "landed", [self.finish(entry, candidate, recorded=True) for entry, candidate in chain]

    def standing(self, entry, main):
        """Under the state lock, just before main moves: "" when `entry` may land, the
        reason object when it must not (withdrawn, or its kind says it moved on), None
        when its branch was re-pushed meanwhile (latest tip wins: it is merged again)."""
        current = queue.get(self.central, entry.id)
        if current is not None and not current.withdrawn and current.sha != entry.sha:
            return None
        if current is None or current.withdrawn:
            return reasons.withdrawn(WITHDRAWN)
        return handler_for(entry.kind).moved_on(self.context(main), entry) or ""

    def swap(self, main, chain):
        """Under the state lock: journal each candidate of `chain` as landing, move main
        from `main` to the last one by compare-and-swap, and record each merged. False
        (nothing recorded) when main moved."""
        # Recovery takes a merge for landed only when this very commit is on main.
        for entry, candidate in chain:
            journal.record(self.central, entry.id, "landing", landing=candidate.commit)
        first, (entry, last) = chain[0][0], chain[-1]
        message = (f"mergecoord: {entry.id} {entry.branch}" if len(chain) == 1
                   else f"mergecoord: {first.id}..{entry.id} ({len(chain)} merges)")
        if not mainline.compare_and_swap(self.repo.refs, self.config.main_ref, main, last.commit.encode(), message):
            return False
        for entry, candidate in chain:
            candidate.status = "merged"
            self.record(entry, candidate)
        return True

    def withdrawn(self, entry, reason=None):
        """Record `entry` as withdrawn (it must not land: `reason`, from `standing`; None:
        it was withdrawn during the merge); the outcome."""
        reason = reason or reasons.withdrawn(WITHDRAWN)
        outcome = MergeOutcome("withdrawn", detail=reason["detail"], decision=entry.decision, reason=reason)
        self.record(entry, outcome)
        return outcome

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
