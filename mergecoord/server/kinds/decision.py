"""Applying a human's answer: merge the branch again on the current main and take
the chosen side of the decided hunks.

Main may have moved since the escalation, so nothing computed then is trusted:
the merge is redone, every non-conflicting change of both sides is kept (the
chosen side replaces only the conflicted hunks), a panel proposal is used only
if the conflict it was written for is still exactly the same, and a conflict the
decision does not cover goes back to the panel. The result is validated like any
resolution; the runner verifies it, lands it as a merge commit (`Resolved-By: human`)
by compare-and-swap, and asks `moved_on` once more just before.
"""

from dulwich.object_store import commit_tree_changes, tree_lookup_path
from dulwich.objects import Blob

from ...merge import MergeResult, merge_commits, path_bytes
from ...merge.engine import marked_texts
from ...panel.validate import validate_text
from ...state import decisions
from ...untrusted import printable
from .. import conflicts, mainline, reasons, resolution
from ..decisions.answer import branch_tips
from ..decisions.answer import moved_on as moved_since
from ..outcome import MergeOutcome
from .branch import merge_commit
from .handler import Handler

SIDES = {"A": "ours", "B": "theirs"}


class DecisionHandler(Handler):
    """A queue entry of kind "decision": the human's answer to decision `entry.decision`
    about `entry.branch` at `entry.sha`, applied on the current main."""

    kind = "decision"

    def prepare(self, context, entry):
        store, main, sha = context.store, context.main, entry.sha.encode()
        if mainline.is_ancestor(store, sha, main):
            return MergeOutcome("up-to-date", commit=main.decode(), detail="already contained in main")
        try:
            doc = decisions.load(context.central, entry.decision)
        except decisions.DecisionError as e:
            return MergeOutcome("failed", detail=str(e), decision=entry.decision, reason=reasons.damaged(str(e)))
        if doc["status"] == "superseded":
            why = decisions.describe_status(doc)
            tip = branch_tips(context.central.root, [entry.branch]).get(entry.branch)
            return MergeOutcome("withdrawn", detail=why, decision=doc["id"], reason=left(why, entry.sha, tip))
        if doc["status"] != "decided":
            why = decisions.describe_status(doc)
            return MergeOutcome("failed", detail=why, decision=doc["id"], reason=reasons.decision_failed(doc["id"], why))
        moved = self.moved_on(context, entry)
        if moved:                 # the branch moved on since the question: its latest tip wins
            return MergeOutcome("withdrawn", detail=moved["detail"], decision=doc["id"], reason=moved)
        answer = doc.get("answer") or {}
        by = answer.get("decided_by", "a human")
        if answer.get("choice") == "reject":
            return MergeOutcome("rejected", decision=doc["id"],
                                detail=f"{by} sent {entry.branch} back to {entry.worker} unmerged ({doc['id']})")
        context.echo(f"[Merge Coordinator] Applying human decision {doc['id']}: {answer.get('choice')}")
        merge = merge_commits(store, main, sha)
        if merge.clean:
            return MergeOutcome("ready", resolved_by="clean", tree=merge.tree, merge=merge, decision=doc["id"],
                                detail="main moved; the conflict no longer arises")
        choices = answer.get("files") or {}
        marked = marked_texts(store, merge)
        texts, entries, uncovered = {}, [], []
        for conflict in merge.conflicts:
            letter = for_path(choices, conflict.path)
            chosen = choose(store, doc, conflict, letter, marked.get(conflict.path)) if letter else None
            if chosen is None:
                uncovered.append(conflict)
            elif isinstance(chosen, str):
                texts[conflict.path] = chosen
            else:
                entries.append(chosen)
        problem = invalid(texts)
        if problem:
            why = f"the chosen side does not validate: {problem}; answer {doc['id']} again"
            return MergeOutcome("failed", decision=doc["id"], conflicts=[c.path for c in merge.conflicts],
                                detail=why, reason=reasons.decision_failed(doc["id"], why))
        tree = write(store, merge, texts, entries)
        if uncovered:
            return send_back_to_panel(context, entry, doc, merge, tree, uncovered, texts)
        return MergeOutcome("ready", resolved_by="human", tree=tree, merge=merge, decision=doc["id"],
                            conflicts=[c.path for c in merge.conflicts], resolutions=texts,
                            files=conflicts.conflict_files(store, merge) or [])

    def commit(self, context, entry, outcome):
        return merge_commit(context, entry, outcome)

    def moved_on(self, context, entry):
        """The branch was deleted or pushed again since the question: the latest tip wins."""
        tip = branch_tips(context.central.root, [entry.branch]).get(entry.branch)
        why = moved_since(entry.branch, entry.sha, tip, entry.decision)
        return left(why, entry.sha, tip) if why else None


def left(why, sha, tip):
    """The reason of a decision entry about `sha` that must not land (`why`): superseded
    by the branch's new tip `tip`, withdrawn when the branch is gone."""
    return reasons.superseded(tip, why) if tip and tip != sha else reasons.withdrawn(why)


def choose(store, doc, conflict, letter, marked=None):
    """The resolution of one conflicted path: full text (str), a tree entry
    (path, mode, sha or None to delete), or None when the answer does not apply.
    `marked` is git's conflicted file for a text conflict: the chosen side replaces its
    hunks, and every change git merged cleanly stays."""
    if letter in SIDES:
        side = SIDES[letter]
        if conflict.textual:
            derived = conflicts.file_of(store, conflict, marked)
            if derived is not None:
                return derived.render({hunk.index: side for hunk in derived.hunks})
        picked = conflict.ours if side == "ours" else conflict.theirs
        if picked is None:
            return (path_bytes(conflict.path), None, None)
        return (path_bytes(conflict.path), picked.mode, picked.sha)
    option = (doc.get("options") or {}).get(letter) or {}
    text = for_path(option.get("texts") or {}, conflict.path)
    if text is None or not _unchanged(store, doc, conflict):
        return None   # the proposal was written for another version of the file
    return text


def for_path(mapping, path):
    """`mapping[path]`, or the value under the path as decision files write it: a byte
    that is not UTF-8 cannot be TOML, so those files hold the escaped form `printable`
    shows (and a human types)."""
    if path in mapping:
        return mapping[path]
    return mapping.get(printable(path))


def _unchanged(store, doc, conflict):
    """True when main's side of `conflict` is what it was at escalation (the branch's side
    cannot change: the decision pins the branch's commit)."""
    try:
        then = store[doc["main"].encode()].tree
        _mode, sha = tree_lookup_path(store.__getitem__, then, path_bytes(conflict.path))
    except (KeyError, ValueError):
        sha = None
    return (conflict.ours.sha if conflict.ours else None) == sha


def invalid(texts):
    for path, text in sorted(texts.items()):
        problem = validate_text(path, text)
        if problem:
            return f"{path}: {problem}"
    return None


def write(store, merge, texts, entries):
    modes = {c.path: (c.ours or c.theirs).mode for c in merge.conflicts if c.ours or c.theirs}
    changes = list(entries)
    for path, text in sorted(texts.items()):
        blob = Blob.from_string(text.encode("utf-8"))
        store.add_object(blob)
        changes.append((path_bytes(path), modes.get(path, 0o100644), blob.id))
    return commit_tree_changes(store, store[merge.tree], changes)


def send_back_to_panel(context, entry, doc, merge, tree, uncovered, texts):
    """Conflicts the answer does not cover go to the panel, on a merge whose decided files
    are already resolved. If the panel cannot settle them either, a new decision covering
    every conflicted file replaces this one."""
    paths = ", ".join(c.path for c in uncovered)
    context.echo(f"  new conflict not covered by {doc['id']}: {paths}; asking the panel")
    rest = MergeResult(tree, tuple(uncovered), merge.bases, merge.messages, merge.commits)
    outcome = resolution.resolve(context, entry, rest)
    if outcome.status == "ready":
        outcome.resolved_by = "human"
        outcome.decision = doc["id"]
        outcome.merge = merge
        outcome.conflicts = [c.path for c in merge.conflicts]
        outcome.resolutions = {**texts, **outcome.resolutions}
        return outcome
    return MergeOutcome("escalated", conflicts=[c.path for c in merge.conflicts], merge=merge,
                        transcript=outcome.transcript,
                        detail=f"main moved: {paths} conflicted again and {doc['id']} does not cover it "
                               f"({outcome.detail})")
