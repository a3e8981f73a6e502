"""The runner: takes queue entries one at a time and merges them into main.

It never moves main except by compare-and-swap from the commit the merge was
computed on; when main moved meanwhile it merges again on the new main. Every
step is journaled before the next, and an entry leaves the queue only together
with its outcome, so a runner killed at any instant loses nothing and, on
restart, merges nothing twice (the merge commit is journaled as "landing" before the
compare-and-swap, so recovery knows it by its id, never by a trailer).
"""

import os
import re
import time

from dulwich.file import FileLocked
from dulwich.repo import Repo

from .. import child
from . import followups, mainline, recovery, resolution, wake
from .notify import reminders, webhook as notify
from .outcome import MergeOutcome
from ..errors import UserError
from ..merge import MergeError, merge_commits
from ..state import journal, pause, queue, transcripts
from ..state.files import break_stale_lock, never_write, scrub
from ..untrusted import printable

MAX_ATTEMPTS = 20     # re-merges after main moved, before the entry is put back in line
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)
BODY_LIMIT = 200      # characters of the branch tip's subject quoted in the merge commit


class Runner:
    def __init__(self, central, config, echo=print):
        self.central = central
        self.config = config
        self._echo = echo
        self.repo = Repo(str(central.git_dir))
        self.lock = central.runner_lock()
        self.processed = []
        self.unpublished = False     # the state ref lags the journal (publish_pending)
        never_write(self.secrets())
        # The keys live in this process: no child of the same user may read them from
        # /proc/<pid>/environ or /proc/<pid>/mem (the verify command runs pushed code).
        child.protect_self()

    def echo(self, line=""):
        """Say `line` on the runner's output (a terminal, or logs/runner.log): branch names,
        paths and messages in it are a pusher's, and the keys never go there."""
        self._echo(printable(self.redact(line), multiline=True))

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
        self.panel()        # a broken [[panel]] stops the runner before it takes any entry
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
                self.publish_pending()
            finally:
                if self.lock.held:
                    self.lock.release()
                notify.drain(self.central, self.config)           # bounded wait for the webhook

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
                self.publish_pending()
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
                followups.retry(self)
                unfinished = False
            self.publish_pending()
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
        recovery.recover(self)

    def is_paused(self):
        return pause.is_paused(self.central)

    # -- one entry --------------------------------------------------------------

    def main_sha(self):
        try:
            return self.repo.refs[self.config.main_ref.encode()]
        except KeyError:
            return None

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
            outcome = MergeOutcome("failed", detail=f"internal error: {exc.__class__.__name__}: {exc}")
            queue.finish(self.central, entry.id, "failed", error=self.redact(outcome.detail), follow=1,
                         decision=entry.decision)
            followups.run(self, entry, outcome)     # e.g. a decision goes back to its human
        self.echo(self.describe(outcome))
        return outcome

    def merge_entry(self, entry):
        sha = entry.sha.encode()
        for _attempt in range(MAX_ATTEMPTS):
            main = self.main_sha()
            if main is None:
                return self.finish(entry, MergeOutcome(
                    "failed", detail=f"{self.config.main_ref} does not exist; push a first commit to it"))
            if sha not in self.store:
                return self.finish(entry, MergeOutcome("failed", detail=f"commit {entry.sha} is missing"))
            # A branch is checked only when git's merge leaves main's tree as it is (see
            # prepare): walking main's history on every merge costs more than the merge.
            if entry.kind == "decision" and mainline.is_ancestor(self.store, sha, main):
                return self.finish(entry, MergeOutcome("up-to-date", commit=main.decode(),
                                                       detail="already contained in main"))
            try:
                candidate = self.prepare(entry, main, sha)
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
            fresh = queue.get(self.central, entry.id)
            if fresh is not None:
                entry, sha = fresh, fresh.sha.encode()
        queue.release(self.central, entry.id)
        return MergeOutcome("requeued", detail="main kept moving; put back in line")

    def prepare(self, entry, main, sha):
        """Merge `sha` into `main`; a candidate merge commit (status 'ready') or an outcome."""
        if entry.kind == "decision":
            from .kinds import decision as apply

            outcome = apply.prepare(self, entry, main, sha)
        elif entry.kind == "rollback":
            from .kinds import rollback

            outcome = rollback.prepare(self, entry, main)
        else:
            try:
                result = merge_commits(self.store, main, sha)
            except MergeError as e:     # e.g. no history in common with main: git refuses
                return MergeOutcome("failed", detail=str(e))
            if result.clean and result.tree == self.store[main].tree and mainline.is_ancestor(self.store, sha, main):
                return MergeOutcome("up-to-date", commit=main.decode(), detail="already contained in main")
            if result.clean:
                outcome = MergeOutcome("ready", resolved_by="clean", tree=result.tree, merge=result)
            else:
                self.echo("✗ CONFLICT in " + printable(", ".join(c.path for c in result.conflicts)))
                outcome = resolution.resolve(self, entry, main, sha, result)
        if outcome.transcript:
            outcome.transcript = self.redact(outcome.transcript)
            transcripts.save(self.central, entry.id, outcome.transcript)
        if outcome.status != "ready":
            return outcome
        if self.config.verify_command:
            from .verify import run_verify

            user = self.verify_user()
            check = run_verify(self.store, outcome.tree, self.config.verify_command,
                               timeout=self.config.verify_timeout, env=self.verify_env(user), user=user)
            outcome.verify_output = self.redact(check.output)
            if not check.ok:
                why = "timed out" if check.timed_out else f"exited {check.returncode}"
                # A panel's or the learning store's resolution that fails verification
                # goes to a human; a clean merge or a human's choice that fails goes back.
                machine = outcome.resolved_by in ("consensus", "learned")
                outcome.status = "escalated" if machine else "failed"
                outcome.detail = (f"verify command {why} on the {outcome.resolved_by} merge; "
                                  "main stays where it was")
                transcripts.save(self.central, entry.id, (outcome.transcript + "\n\n" if outcome.transcript else "")
                                 + f"[verify] {why}\n{outcome.verify_output}")
                return outcome
        if entry.kind == "rollback":
            from .kinds import rollback

            outcome.commit = rollback.commit(self, entry, main, outcome)
        else:
            outcome.commit = self.commit_for(entry, main, sha, outcome.tree, outcome)
        return outcome

    def secrets(self):
        """Values never to be written anywhere: the keys the config names (`api_key_env`)
        and every environment variable whose name says KEY, TOKEN, SECRET or PASSWORD."""
        if not hasattr(self, "_secrets"):
            names = {p.get("api_key_env") for p in self.config.panel if isinstance(p, dict)}
            values = {os.environ.get(n) for n in names if n}
            values |= {v for k, v in os.environ.items() if SECRET_NAME.search(k)}
            self._secrets = sorted((v for v in values if v and len(v) >= 8), key=len, reverse=True)
        return self._secrets

    def redact(self, text):
        """`text` without the secrets registered with never_write() in __init__; a byte
        that is not UTF-8 (from a git path) comes out as a visible ``\\xNN``."""
        return scrub(text.encode("utf-8", "surrogateescape")).decode("utf-8", "backslashreplace")

    def verify_user(self):
        """The pwd entry of `verify.user`, or None."""
        if not self.config.verify_user:
            return None
        import pwd

        return pwd.getpwnam(self.config.verify_user)

    def verify_env(self, user=None):
        """The verify command runs the pushed code: it gets the basics and `verify.env`
        (an allow-list), never the runner's keys."""
        secrets = set(self.secrets())
        env = child.environment(os.environ, self.config.verify_env)
        if user is not None:        # it runs as that user: its own home and name
            env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
        return {k: v for k, v in env.items() if v not in secrets or k in self.config.verify_env}

    def panel(self):
        from ..panel.factory import build_panel
        from ..resources import template

        if not hasattr(self, "_panel"):
            try:
                self._panel = build_panel([dict(p) for p in self.config.panel], environ=os.environ,
                                          prompts_dir=template("prompts"),
                                          threshold=self.config.threshold,
                                          max_rounds=self.config.max_rounds)
            except ValueError as e:
                raise UserError(f"broken config {self.central.config_path}: {e}") from None
        return self._panel

    def panel_for(self, context):
        """The panel for one conflict: with `consensus.advocates`, the workers on both sides
        whose `[workers.NAME] panelist` is set (A's first), then the neutral seats; a
        neutral seat named like an advocate does not sit as neutral on its own work."""
        neutral = self.panel()
        if not self.config.advocates or context.ours_worker == context.theirs_worker:
            return neutral
        sides = {side: (worker, self.config.worker_panelists[worker])
                 for side, worker in (("A", context.ours_worker), ("B", context.theirs_worker))
                 if worker in self.config.worker_panelists}
        if not sides:
            return neutral
        from ..panel.factory import build_advocates
        from ..resources import template

        try:
            advocates = build_advocates([dict(p) for p in self.config.panel], sides, environ=os.environ,
                                        prompts_dir=template("prompts"), threshold=self.config.threshold,
                                        max_rounds=self.config.max_rounds)
        except ValueError as e:
            raise UserError(f"broken config {self.central.config_path}: {e}") from None
        names = {a.name for a in advocates}
        return advocates + [p for p in neutral if p.name not in names]

    def discussing(self, entry, number, rounds, conflicts=()):
        """The panel starts round `number` of `rounds`: the dashboard shows it. The first
        round is the `discussing` event (one fsynced line, as before there were rounds)."""
        if number == 1:
            journal.record(self.central, entry.id, "discussing", conflicts=list(conflicts), round=1, max_rounds=rounds)
        else:
            journal.record(self.central, entry.id, "round", round=number, max_rounds=rounds)
        self.echo("[Merge Coordinator] " + ("Initiating AI consensus for conflict resolution..." if number == 1
                                            else f"Round {number} of {rounds} - seeking higher confidence..."))

    def panel_weights(self):
        from . import learning

        return learning.weights(self.central, self.config)

    def commit_for(self, entry, main, sha, tree, outcome):
        trailers = [("Merge-Id", entry.id), ("Worker", entry.worker), ("Resolved-By", outcome.resolved_by)]
        if outcome.resolved_by in ("consensus", "human", "learned"):
            if outcome.rounds:
                trailers.append(("Consensus-Rounds", str(outcome.rounds)))
            if outcome.confidence:
                trailers.append(("Confidence", f"{outcome.confidence:.2f}"))
        if outcome.decision:
            trailers.append(("Decision", outcome.decision))
        message = self.store[sha].message.decode("utf-8", "replace").strip().splitlines()
        return mainline.make_merge_commit(
            self.store, tree=tree, main_sha=main, branch_sha=sha, committer=self.config.committer,
            title=f"Merge {entry.branch} into {self.config.main} ({entry.id})",
            body=message[0][:BODY_LIMIT] if message else "", trailers=trailers,
        ).decode()

    def land(self, entry, main, candidate):
        """Move main by compare-and-swap, journal and dequeue, all under the state lock.
        None when main moved (the caller merges again)."""
        with self.central.lock:
            current = queue.get(self.central, entry.id)
            if current is not None and not current.withdrawn and current.sha != entry.sha:
                return None            # re-pushed meanwhile: latest tip wins
            why = ("withdrawn during the merge" if current is None or current.withdrawn
                   else self.superseded(entry))
            if why:
                outcome = MergeOutcome("withdrawn", detail=why, decision=entry.decision)
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

    def superseded(self, entry):
        """Why a human's answer must not land any more (its branch moved on: the latest tip
        wins), or ""; checked again under the state lock just before main moves."""
        if entry.kind != "decision":
            return ""
        from .decisions import superseded_reason

        return superseded_reason(self.central, entry.branch, entry.sha, entry.decision)

    def record(self, entry, outcome):
        """Journal the outcome and take the entry out of the queue (or put it back in
        line when its branch was re-pushed during the merge: the new tip waits its turn).
        The event says its follow-up steps are still to run (`followups`)."""
        fields = {"commit": outcome.commit, "resolved_by": outcome.resolved_by,
                  "conflicts": outcome.conflicts, "detail": self.redact(outcome.detail),
                  "rounds": outcome.rounds, "confidence": round(outcome.confidence, 3),
                  "decision": outcome.decision or entry.decision}
        queue.finish(self.central, entry.id, outcome.status, tip=entry.sha, follow=1,
                     **{k: v for k, v in fields.items() if v not in ("", [], 0, 0.0)})

    def finish(self, entry, outcome, recorded=False):
        if outcome.status == "escalated":
            from .decisions import escalate

            outcome.decision = escalate(self, entry, outcome)
        if not recorded:
            self.record(entry, outcome)
        followups.run(self, entry, outcome)
        return outcome

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
                if recovery.is_stall(exc):
                    raise
                import traceback

                self.log_failure(None, traceback.format_exc())
                self.echo(f"  could not publish refs/mergecoord/state ({exc.__class__.__name__}: {exc}); "
                          "the next run publishes it")

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
            f.write(self.redact(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n{text}\n"))
