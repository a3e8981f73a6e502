"""A pushed branch: git merges its tip into main; a conflict goes to the resolution (an
identical conflict's learned answer, the panel, or a human). The candidate is a merge
commit whose first parent is main and whose trailers say how it was resolved."""

from ...merge import MergeError, merge_commits
from ...untrusted import printable
from .. import mainline, reasons, resolution
from ..outcome import MergeOutcome
from .handler import Handler

BODY_LIMIT = 200      # characters of the branch tip's subject quoted in the merge commit


class BranchHandler(Handler):
    kind = "branch"

    def prepare(self, context, entry):
        store, main, sha = context.store, context.main, entry.sha.encode()
        try:
            result = merge_commits(store, main, sha)
        except MergeError as e:     # e.g. no history in common with main: git refuses
            return MergeOutcome("failed", detail=str(e), reason=reasons.merge_failed(str(e)))
        # Main's history is walked only when git's merge leaves main's tree as it is:
        # walking it on every merge costs more than the merge.
        if result.clean and result.tree == store[main].tree and mainline.is_ancestor(store, sha, main):
            return MergeOutcome("up-to-date", commit=main.decode(), detail="already contained in main")
        if result.clean:
            return MergeOutcome("ready", resolved_by="clean", tree=result.tree, merge=result)
        context.echo("✗ CONFLICT in " + printable(", ".join(c.path for c in result.conflicts)))
        return resolution.resolve(context, entry, result)

    def commit(self, context, entry, outcome):
        return merge_commit(context, entry, outcome)


def merge_commit(context, entry, outcome):
    """The merge commit of `entry`'s tip onto `context.main` with the outcome's tree, the
    tip's subject, and the trailers (Merge-Id, Worker, Resolved-By, ...): its id in hex."""
    store, sha = context.store, entry.sha.encode()
    trailers = [("Merge-Id", entry.id), ("Worker", entry.worker), ("Resolved-By", outcome.resolved_by)]
    if outcome.resolved_by in ("consensus", "human", "learned"):
        if outcome.rounds:
            trailers.append(("Consensus-Rounds", str(outcome.rounds)))
        if outcome.confidence:
            trailers.append(("Confidence", f"{outcome.confidence:.2f}"))
    if outcome.decision:
        trailers.append(("Decision", outcome.decision))
    message = store[sha].message.decode("utf-8", "replace").strip().splitlines()
    return mainline.make_merge_commit(
        store, tree=outcome.tree, main_sha=context.main, branch_sha=sha, committer=context.config.committer,
        title=f"Merge {entry.branch} into {context.config.main} ({entry.id})",
        body=message[0][:BODY_LIMIT] if message else "", trailers=trailers,
    ).decode()
