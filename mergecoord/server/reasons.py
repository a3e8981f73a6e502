"""Why an entry left the queue, or what holds it now: the `reason` object that
`queue --json`, `log --json`, `status --json` (the state ref's `status.json`) and the
dashboard all show, `{"code": ..., ...}`.

Every code is built here and nowhere else: the builders below make the object the runner
journals (the `why` field of an outcome's event, and of the `verifying` event while the
verify command runs), and `of_record` / `of_merges` read it back for every reader. A
journal written before reasons existed still reads: the reason is derived from the
status and the fields the journal had, or left out; a malformed one is never fatal.

A new code (a flaky pass, an entry a bisection ejected) is one more builder here and one
more line in the README's JSON formats. Plain data: it never reads state itself, and
whatever a push carried in it (a verify command's output) is made printable here.
"""

from ..untrusted import printable

TAIL_CHARS = 2000      # of the verify output kept in a reason: the verdict, not the whole log
TAIL_LINES = 30

# The statuses whose journal event ends an entry, and the code of each when the runner
# gave no finer one (a journal from before reasons, or a recovered merge).
CODE_OF_STATUS = {"merged": "merged", "up-to-date": "up-to-date", "escalated": "escalated",
                  "conflicted": "escalated", "withdrawn": "withdrawn", "rejected": "rejected",
                  "failed": "failed"}
VERIFYING = "verifying"


# -- the builders: one per code ------------------------------------------------

def merged(resolved_by):
    return {"code": "merged", "resolved_by": resolved_by}


def up_to_date():
    return {"code": "up-to-date"}


def escalated(decision, cause=None):
    """To a human, as decision `decision`; `cause` the verify-failed reason when the panel's
    (or the learning store's) resolution failed verification."""
    reason = {"code": "escalated", "decision": decision}
    if cause and cause.get("code") == "verify-failed":
        reason.update({k: cause[k] for k in ("tail", "base", "commit") if k in cause})
    return reason


def verifying(base, commit, tree):
    """In flight: the verify command runs on `commit` (tree `tree`), merged onto `base`."""
    return {"code": VERIFYING, "base": base, "commit": commit, "tree": tree}


def verify_failed(output, base, commit, returncode=None, timed_out=False):
    """The verify command failed on `commit`, the candidate merged onto `base`: the tail
    of its `output` (already redacted), made printable."""
    return {"code": "verify-failed", "base": base, "commit": commit, "exit": returncode,
            "timed_out": bool(timed_out), "tail": tail(output)}


def flaky(resolved_by, failures, base, commit):
    """Merged, but the verify command passed only after failing (`verify.retries`): each
    failed run as (exit code or None, timed out, its output, already redacted)."""
    return {"code": "flaky", "resolved_by": resolved_by, "base": base, "commit": commit,
            "runs": len(failures) + 1,
            "failures": [{"exit": code, "timed_out": bool(timed_out), "tail": tail(output)}
                         for code, timed_out, output in failures]}


def withdrawn(detail):
    """The branch was deleted, or re-pushed without the marker (or the merge was told not
    to land meanwhile)."""
    return {"code": "withdrawn", "detail": detail}


def superseded(by, detail=""):
    """The branch moved on to `by` (a newer tip) since what this entry was about."""
    return {"code": "superseded", "by": by, "detail": detail}


def rejected(decision):
    return {"code": "rejected", "decision": decision}


def rolled_back(by, commit):
    """A merge that landed and was undone by rollback `by` (its revert commit `commit`)."""
    return {"code": "rolled-back", "by": by, "commit": commit}


def merge_failed(detail):
    """git would not merge the branch into main (e.g. no history in common)."""
    return {"code": "merge-failed", "detail": detail}


def rollback_refused(detail):
    """The revert conflicts with later work, or the merge's changes are gone already."""
    return {"code": "rollback-refused", "detail": detail}


def decision_failed(decision, detail):
    """A human's answer that cannot be applied (the chosen side does not validate, the
    decision is not decided); the question goes back to the human."""
    return {"code": "decision-failed", "decision": decision, "detail": detail}


def damaged(detail):
    """The entry cannot be merged from what the repository holds: its commit is missing,
    its decision file cannot be read."""
    return {"code": "damaged", "detail": detail}


def no_main(detail):
    return {"code": "no-main", "detail": detail}


def internal_error(detail):
    """A bug of ours, logged with its traceback in logs/runner.log."""
    return {"code": "internal-error", "detail": detail}


def tail(output):
    """The last lines of `output` (at most TAIL_LINES, TAIL_CHARS characters), printable."""
    lines = (output or "").rstrip("\n").splitlines()[-TAIL_LINES:]
    return printable("\n".join(lines)[-TAIL_CHARS:], multiline=True)


# -- reading them back ----------------------------------------------------------

def of_outcome(outcome):
    """The reason to journal with `outcome` (a MergeOutcome that ends its entry): the one
    the step that ended it set, else the code of its status."""
    given = outcome.reason or {}
    status = outcome.status
    if status == "escalated":
        return escalated(outcome.decision, given)
    if status == "merged" and given.get("code") in (None, "verify-failed"):
        return merged(outcome.resolved_by)
    if given.get("code"):
        return dict(given)
    if status == "rejected":
        return rejected(outcome.decision)
    if status == "withdrawn":
        return withdrawn(outcome.detail)
    return {"code": CODE_OF_STATUS.get(status, status), "detail": outcome.detail}


def of_record(record):
    """The reason of a folded journal record (`journal.merges()`): `verifying` while the
    verify command runs, the journaled reason once the entry left the queue (derived from
    the status on a journal from before reasons), else None (queued, merging)."""
    status = record.get("status")
    why = record.get("why")
    journaled = why if isinstance(why, dict) and isinstance(why.get("code"), str) else None
    history = record.get("history") or [{}]
    if status not in CODE_OF_STATUS:
        if journaled and journaled["code"] == VERIFYING and history[-1].get("event") == VERIFYING:
            return journaled
        return None
    if journaled and journaled["code"] != VERIFYING:
        return journaled
    code = CODE_OF_STATUS[status]
    if code == "merged":
        return merged(record.get("resolved_by") or "")
    if code in ("escalated", "rejected"):
        return {"code": code, "decision": record.get("decision") or ""}
    if code == "withdrawn":
        old = record.get("reason")            # the free text the hook journals
        return withdrawn(old if isinstance(old, str) and old else record.get("detail") or "")
    return {"code": code, "detail": record.get("detail") or ""}


def of_merges(merges):
    """merge id -> reason (or None) for every folded record of `journal.merges()`: a merge
    that a later rollback undid says so (`rolled-back`), whatever it journaled."""
    reasons = {mid: of_record(rec) for mid, rec in merges.items()}
    for mid, rec in merges.items():
        branch = rec.get("branch") or ""
        if rec.get("kind") == "rollback" and rec.get("status") == "merged" and branch.startswith("rollback/"):
            target = branch[len("rollback/"):]
            if (reasons.get(target) or {}).get("code") == "merged":
                reasons[target] = rolled_back(mid, rec.get("commit") or "")
    return reasons


def describe(reason):
    """One line for a person: "verify-failed (base 1a2b3c4d5e, exit 1): FAILED test_x".
    Not yet safe for a terminal: the caller passes it through `printable`."""
    shown = []
    for key in ("decision", "by", "base", "exit"):
        value = reason.get(key)
        if value not in (None, ""):
            value = str(value)
            shown.append(f"{key} {value[:10] if len(value) == 40 else value}")
    if reason.get("timed_out") is True:
        shown.append("timed out")
    line = str(reason.get("code", "?")) + (f" ({', '.join(shown)})" if shown else "")
    last = [text for text in str(reason.get("tail") or reason.get("detail") or "").splitlines() if text.strip()]
    return line + (f": {last[-1].strip()[:80]}" if last else "")
