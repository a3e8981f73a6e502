"""Speculative verification: a window of candidates verified at once and landed in order.

With `verify.parallel = N` the runner keeps up to N entries of the queue in flight. Each
is prepared (merged, its conflicts resolved by the learned answer or the panel, committed)
onto the candidate commit of the live entry before it, the first onto main: the
candidates form exactly the first-parent history that would land. All of them are
verified at once, each by its own verify process on its own checkout. The head of the
line lands when its own tree passed, by compare-and-swap from main to its candidate; the
next one's base is then main, and the window slides: the next queued entry is prepared
and verified at once.

`verify.batch = B` verifies only every B-th live candidate: its pass lands all B entries
with one compare-and-swap (main moves straight to the verified candidate; each entry keeps
its own merge commit on main's first-parent chain). A failure bisects: the candidate
halfway through the failed batch is verified next, and so on, until the failure is pinned
on one entry. `parallel` counts the verifications in flight, so the window holds up to
`parallel` x `batch` live entries. `verify.retries` reruns a failed verification before
it counts (the runner's `check`); a pass after a failure is journaled as flaky.

An entry whose verification failed is ejected when it reaches the head of the line (its
base is main by then, so the failure is its own); the live entries after it are prepared
again without it as soon as it fails. An entry that prepare ends (escalated, failed,
up to date) is skipped the same way: the next one is prepared on the candidate before it,
and its outcome is finished when it reaches the head, so a human is asked about the
conflict with what main really is. Main moved by someone else invalidates every
candidate; a re-push of a branch in the window (latest tip wins) or a withdrawal
invalidates from that entry on. Invalidated candidates are prepared again on the right
base, and their verifications in flight are killed.

Never moves a ref itself, and never lands anything untested: main moves only by the
runner's compare-and-swap (`land_chain`), only to a candidate whose own tree passed.
Candidates are referenced by nothing until then, and each is journaled as `landing`
before it, so recovery after a SIGKILL at any instant tells what landed. The window gets
the runner's steps (`Steps`), never the runner.
"""

import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

from .recovery import is_stall

POLL = 0.1     # seconds between looks at main and the queue while verifications run


@dataclass(frozen=True)
class Steps:
    """What the window asks of the runner, one step each."""
    main: Callable          # () -> main's commit now (bytes), or None
    entries: Callable       # () -> the queue's entries now
    claim: Callable         # () -> the next queued entry, now merging, or None
    take: Callable          # (entry): say and journal that the entry is taken
    candidate: Callable     # (entry, base) -> MergeOutcome prepared and committed onto base, not verified
    verifying: Callable     # (entry, outcome, base): its verification starts
    check: Callable         # (entry, outcome, base, cancel, store) -> (VerifyResult, failed runs); in a thread
    open_store: Callable    # () -> (object store, close): a thread's own
    flaky: Callable         # (entry, outcome, base, failed runs): a pass after failures
    land: Callable          # (main, [(entry, outcome)]) -> ("landed", outcomes) | ("stale", i, why) | ("moved",)
    finish: Callable        # (entry, outcome) -> outcome: an outcome that ends the entry
    reject: Callable        # (entry, outcome, result, base): the outcome says why verification failed
    withdraw: Callable      # (entry, reason=None) -> outcome: it must not land (land's "stale" reason; None: withdrawn)
    crashed: Callable       # (entry, traceback text, exc) -> outcome: an internal error
    echo: Callable          # (line)


class Verification:
    """One candidate's verify command (with its retries) in a thread of its own, reading
    an object store of its own (dulwich's pack readers are not shared between threads)."""

    def __init__(self, steps, slot, wake):
        self.cancel = threading.Event()
        self.result, self.failures, self.done = None, [], False
        self.thread = threading.Thread(target=self._run, args=(steps, slot, wake), daemon=True,
                                       name=f"verify {slot.entry.id}")
        self.thread.start()

    def _run(self, steps, slot, wake):
        try:
            store, close = steps.open_store()
            try:
                self.result, self.failures = steps.check(slot.entry, slot.outcome, slot.base, self.cancel, store)
            finally:
                close()
        except Exception as exc:      # a tree that cannot be checked out fails its verification
            from .verify import VerifyResult

            self.result = VerifyResult(False, f"verify could not run: {exc.__class__.__name__}: {exc}", None, False)
        finally:
            self.done = True
            wake.set()

    def stop(self):
        self.cancel.set()


@dataclass(eq=False)
class Slot:
    """One entry in the window: its candidate on `base`, or the outcome that ends it."""
    entry: object
    base: bytes
    outcome: object                       # "ready": a live candidate; else it ends the entry
    verdict: str = ""                     # "" unverified | "running" | "pass" | "fail"
    verification: Optional[Verification] = None
    result: object = None                 # the failed VerifyResult
    ejected: bool = False                 # its own failure: it leaves the line at the head

    @property
    def live(self):
        return self.outcome.status == "ready" and not self.ejected


class Window:
    def __init__(self, steps, *, parallel=1, batch=1):
        self.steps = steps
        self.parallel, self.batch = parallel, batch
        self.capacity = parallel * batch
        self.slots, self.pending = [], deque()
        self.main, self.current = None, {}
        self.taken = set()
        self.done = []
        self.wake = threading.Event()

    # -- the loop ---------------------------------------------------------------

    def drain(self, stop_claiming):
        """Take entries from the queue (until `stop_claiming()`) and see every entry
        taken through to its outcome. The (entry, outcome) pairs, in the order they
        finished; empty when there was nothing to take."""
        self.done, self.taken = [], set()
        self.main = self.steps.main()
        try:
            while True:
                self.wake.clear()
                self.refresh()
                starved = self.fill(claim=not stop_claiming())
                if not self.slots and not self.pending:
                    return self.done
                if self.settle():
                    continue
                self.schedule(starved)
                self.wake.wait(POLL)
        finally:
            self.abandon()

    def abandon(self):
        """Kill what still runs (only after an error: the entries stay 'merging', and the
        next start puts them back in line)."""
        dropped, self.slots = self.slots, []
        self.pending.clear()
        for slot in dropped:
            if slot.verification is not None:
                slot.verification.stop()
        for slot in dropped:
            if slot.verification is not None:
                slot.verification.thread.join(timeout=10)

    # -- what changed outside ----------------------------------------------------

    def refresh(self):
        """Main moved by someone else: every candidate is stale. A branch re-pushed: its
        entry and those after it are prepared again (latest tip wins). A withdrawal: the
        entry leaves, those after it are prepared again without it."""
        main = self.steps.main()
        if main != self.main:
            self.main = main
            if self.slots:
                self.steps.echo("  main moved; preparing the window again on the new main")
                self.invalidate(0)
        self.current = {e.id: e for e in self.steps.entries()}
        for i, slot in enumerate(self.slots):
            now = self.current.get(slot.entry.id)
            if now is None or now.withdrawn:
                del self.slots[i]
                if slot.verification is not None:
                    slot.verification.stop()
                self.done.append((slot.entry, self.steps.withdraw(slot.entry)))
                if slot.live:
                    self.invalidate(i)
                return self.refresh()
            if now.sha != slot.entry.sha:
                self.steps.echo(f"  {now.branch} was pushed again: preparing it again at its new tip")
                self.invalidate(i)
                return

    def invalidate(self, k):
        """Slots k.. are stale: kill their verifications and prepare them again (their
        entries stay taken, ahead of anything still queued)."""
        dropped = self.slots[k:]
        del self.slots[k:]
        for slot in dropped:
            if slot.verification is not None:
                slot.verification.stop()
        self.pending.extendleft(reversed([slot.entry for slot in dropped]))

    # -- preparing ----------------------------------------------------------------

    def fill(self, claim):
        """Prepare entries until the window holds `capacity` live candidates: those taken
        already first, then the queue's next (when `claim`). Nothing is added while a
        failure is being bisected. True when no more entries can come now."""
        while self.live_count() < self.capacity and self.failing() is None:
            if self.pending:
                entry = self.pending.popleft()
                now = self.current.get(entry.id)
                if now is None or now.withdrawn:
                    self.done.append((entry, self.steps.withdraw(entry)))
                    continue
                entry = now
            else:
                entry = self.steps.claim() if claim else None
                if entry is None:
                    return True
                self.current[entry.id] = entry
            self.add(entry)
        return False

    def add(self, entry):
        if entry.id not in self.taken:
            self.taken.add(entry.id)
            self.steps.take(entry)
        base = self.tip()
        try:
            outcome = self.steps.candidate(entry, base)
        except Exception as exc:      # the line goes on; the details go to the log
            if is_stall(exc):
                raise
            import traceback

            self.done.append((entry, self.steps.crashed(entry, traceback.format_exc(), exc)))
            return
        self.slots.append(Slot(entry, base, outcome))

    def tip(self):
        """The base of the next candidate: the last live candidate, else main."""
        for slot in reversed(self.slots):
            if slot.live:
                return slot.outcome.commit.encode()
        return self.main

    def live_count(self):
        return sum(1 for slot in self.slots if slot.live)

    def running(self):
        return sum(1 for slot in self.slots if slot.verdict == "running")

    def failing(self):
        """The first live slot whose verification failed (its culprit not yet pinned)."""
        return next((slot for slot in self.slots if slot.live and slot.verdict == "fail"), None)

    # -- verifying ------------------------------------------------------------------

    def schedule(self, starved):
        """Start the verifications that are due: the B-th unverified live candidate of
        the tail (every one with batch 1), or the last of a shorter tail when no more
        entries can join it now."""
        run = []
        for slot in self.slots:
            if not slot.live:
                continue
            if slot.verdict:
                run = []
                continue
            run.append(slot)
            if len(run) == self.batch:
                if self.running() >= self.parallel:
                    return            # in order: a later batch never starts before this one
                self.start(slot)
                run = []
        if run and (starved or self.live_count() >= self.capacity) and self.running() < self.parallel:
            self.start(run[-1])

    def start(self, slot):
        slot.verdict = "running"
        self.steps.verifying(slot.entry, slot.outcome, slot.base)
        slot.verification = Verification(self.steps, slot, self.wake)

    def settle(self):
        """Act on what is known: finished verifications, a failure to pin, the head of
        the line. True when something changed."""
        changed = self.collect()
        changed = self.pin() or changed
        return self.land_head() or changed

    def collect(self):
        changed = False
        for slot in self.slots:
            check = slot.verification
            if slot.verdict != "running" or not check.done:
                continue
            changed = True
            if check.result.ok:
                slot.verdict = "pass"
                self.steps.flaky(slot.entry, slot.outcome, slot.base, check.failures)
            else:
                slot.verdict, slot.result = "fail", check.result
        return changed

    def covered(self, slot):
        """The live candidates a verification of `slot` vouches for: `slot` and the
        unverified live ones right before it."""
        i = self.slots.index(slot)
        group = [slot]
        for before in reversed(self.slots[:i]):
            if before.live:
                if before.verdict:
                    break
                group.insert(0, before)
        return group

    def pin(self):
        """The first failed verification: the candidates after it are prepared again
        without it; when it vouched for one entry that one is the culprit (ejected at the
        head), else the candidate halfway through is verified next (bisection)."""
        failed = self.failing()
        if failed is None:
            return False
        i = self.slots.index(failed)
        changed = i + 1 < len(self.slots)
        if changed:
            self.invalidate(i + 1)
        group = self.covered(failed)
        if len(group) == 1:
            failed.ejected = True
            return True
        if self.running() < self.parallel:
            half = group[len(group) // 2 - 1]
            self.steps.echo(f"  verify failed on a batch of {len(group)}: bisecting")
            self.start(half)
            return True
        return changed

    # -- landing ----------------------------------------------------------------------

    def land_head(self):
        """Finish the head when prepare or verification ended it; land the head's group
        when its last candidate passed (one compare-and-swap)."""
        head = self.slots[0] if self.slots else None
        if head is None:
            return False
        if not head.live:
            del self.slots[0]
            if head.ejected:
                self.steps.reject(head.entry, head.outcome, head.result, head.base)
            self.done.append((head.entry, self.steps.finish(head.entry, head.outcome)))
            return True
        group, skipped = [], []
        for slot in self.slots:
            if not slot.live:
                skipped.append(slot)
                continue
            group.append(slot)
            if slot.verdict:
                break
        if group[-1].verdict != "pass":
            return False
        landed = self.steps.land(self.main, [(slot.entry, slot.outcome) for slot in group])
        if landed[0] == "moved":
            self.main = self.steps.main()
            self.invalidate(0)
            return True
        if landed[0] == "stale":
            _, i, why = landed
            slot = group[i]
            k = self.slots.index(slot)
            if why is None:           # re-pushed: prepared again at its new tip
                self.invalidate(k)
            else:
                del self.slots[k]
                self.done.append((slot.entry, self.steps.withdraw(slot.entry, why)))
                self.invalidate(k)
            return True
        self.main = group[-1].outcome.commit.encode()
        for slot in group + skipped:
            self.slots.remove(slot)
        self.done.extend((slot.entry, outcome) for slot, outcome in zip(group, landed[1]))
        for slot in skipped:
            if slot.ejected:
                self.steps.reject(slot.entry, slot.outcome, slot.result, slot.base)
            self.done.append((slot.entry, self.steps.finish(slot.entry, slot.outcome)))
        return True
