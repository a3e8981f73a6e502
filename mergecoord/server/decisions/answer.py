"""A human's answer to a decision: checked and recorded in one place.

The same code judges an answer typed at `git merge-decide` in the bare repository
and an `answer.toml` pushed from a clone (the pre-receive hook checks it, the
post-receive hook records it); the answer's format is `state.answers`. It runs inside
push hooks, so it imports only the standard library and the state modules.
"""

from ...state import decisions, journal, queue
from ...state.answers import MAX_RATIONALE, AnswerError, normalise
from ..gitolite import is_decider


def ref_bytes(branch):
    """The ref name of a queued branch as git has it: the hooks carry a name that is not
    UTF-8 with its bytes as backslash escapes, and git never allows a backslash in a ref."""
    raw = branch.encode("utf-8", "surrogateescape")
    if b"\\" not in raw:
        return raw
    import codecs

    return codecs.escape_decode(raw)[0]


def branch_tips(git_dir, branches):
    """{branch: the commit its ref points at, or None when it is gone}, from one
    `git for-each-ref` (standard library only: the push hooks use it)."""
    import subprocess

    refs = {branch: b"refs/heads/" + ref_bytes(branch) for branch in branches}
    if not refs:
        return {}
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "for-each-ref", "--format=%(objectname) %(refname)",
                           *refs.values()], capture_output=True, check=True)
    found = {}
    for line in proc.stdout.split(b"\n"):
        sha, _, ref = line.partition(b" ")
        if ref:
            found[ref] = sha.decode()
    return {branch: found.get(ref) for branch, ref in refs.items()}


def moved_on(branch, sha, tip, decision_id):
    """Why a decision about `branch` at `sha` no longer stands now that the branch is at
    `tip` (None: deleted), or "": the latest tip wins, for decisions too."""
    if tip == sha:
        return ""
    if tip is None:
        return f"{branch} was deleted; decision {decision_id} is withdrawn with it"
    return (f"{branch} was pushed again ({tip[:10]}): the latest tip wins, and decision "
            f"{decision_id} was about {sha[:10]}")


def check(central, config, decision_id, fields, user, entered_by=""):
    """The decision and the normalised answer, or AnswerError with the reason.

    Checks, in order: the id exists, it is still pending, its branch is still at the
    commit it is about, the user may decide, the choice is one of the decision's options."""
    if not decisions.valid_id(decision_id):
        raise AnswerError(f"unknown decision {str(decision_id)[:40]!r} (ids look like d-0001)")
    try:
        doc = decisions.load(central, decision_id)
    except decisions.DecisionError as e:
        raise AnswerError(str(e)) from None
    if doc["status"] != "pending":
        raise AnswerError(decisions.describe_status(doc))
    branch = doc.get("branch", "")
    moved = moved_on(branch, doc.get("sha", ""), branch_tips(central.root, [branch]).get(branch), decision_id)
    if moved:
        raise AnswerError(f"decision {decision_id} is superseded: {moved}")
    if config.deciders and not is_decider(user, config.deciders):
        raise AnswerError(f"{user} may not decide (escalation.deciders: {', '.join(config.deciders)})")
    rationale = fields.get("rationale") or ""
    if len(rationale) > MAX_RATIONALE:
        raise AnswerError(f"rationale is longer than {MAX_RATIONALE} characters")
    choice, per_file = normalise(doc, fields.get("choice", ""), fields.get("files"))
    answer = {"choice": choice, "files": per_file, "rationale": rationale, "decided_by": user,
              "decided_at": decisions.now()}
    if entered_by:           # the owner typed it on the server for `user` (git merge-decide --as)
        answer["entered_by"] = entered_by
    return doc, answer


def submit(central, config, decision_id, fields, user, entered_by=""):
    """Check and record an answer, and queue its application for the runner.

    Returns (decision, queue entry). The runner re-merges the branch on the
    current main and applies the choice (or, for "reject", sends it back)."""
    with central.lock:
        doc, answer = check(central, config, decision_id, fields, user, entered_by)
        doc = decisions.update(central, decision_id, expect="pending", status="decided", answer=answer)
        journal.record(central, doc["merge_id"], "decided", decision=decision_id, choice=answer["choice"],
                       decided_by=user, branch=doc["branch"],
                       **({"entered_by": entered_by} if entered_by else {}))
        entry, _position, _replaced = queue.enqueue(
            central, doc["branch"], doc["sha"], doc.get("options", {}).get("B", {}).get("worker", ""),
            kind="decision", decision=decision_id, merge_id=doc["merge_id"])
    return doc, entry
