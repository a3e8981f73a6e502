"""From a conflicted merge to a resolved tree, or to an escalation.

The order is the product's policy: paths that always need a human skip
everything; conflicts that are not about file contents (renames, deletes, modes,
binaries) go to a human; text conflicts go to the panel, whose resolution is
used only when it is confident and every resolved file validates. Nothing here
moves main: it returns a MergeOutcome to the entry kind that asked (`kinds/`), with
what it needs from the runner in that kind's `Context` (the store, the config, the
main it merges onto, the panel's seats, the runner's output).
"""

import tempfile
from contextlib import contextmanager
from dataclasses import replace
from fnmatch import fnmatchcase
from itertools import islice

from dulwich.object_store import commit_tree_changes
from dulwich.objects import Blob

from ..merge import path_bytes
from ..state import journal
from . import learning, mainline
from .conflicts import conflict_files
from .outcome import MergeOutcome

LOG_LIMIT = 8       # commit messages per side an advocate is shown


def conflict_for(context, entry, files, base):
    """The panel's ConflictContext: the files, whose work each side is (main's side by the
    journal's record of our merges, never by trailers), their messages, the lessons."""
    from ..panel.hunks import ConflictContext

    store, sha = context.store, entry.sha.encode()
    paths = [f.path for f in files]
    # Only advocates read the sides' histories; the walk costs a few ms a commit, so it is
    # not taken for a panel that has none.
    logs = LOG_LIMIT if context.config.advocates else 0
    landed = journal.landed(context.central)       # our merges, by the journal: not by trailers
    ours = list(islice(mainline.touches(store, context.main, base, paths, landed), max(logs, 1)))
    ours_worker, ours_message = ours[0] if ours else ("main", "")
    theirs_message = store[sha].message.decode("utf-8", "replace")
    theirs = [message for _, message in islice(mainline.touches(store, sha, base, paths), logs)]
    return ConflictContext(
        merge_id=entry.id, branch=entry.branch, ours_worker=ours_worker, theirs_worker=entry.worker,
        ours_message=ours_message, theirs_message=theirs_message, files=tuple(files),
        lessons=tuple(learning.lessons(context.central, paths)),
        ours_log=tuple(message for _, message in ours[:logs]), theirs_log=tuple(theirs),
    )


@contextmanager
def checkout_for(store, merge, panel):
    """A checkout of the merge (conflict markers in the conflicted files) in a temp dir,
    its files read-only, when a panelist runs in one (agent CLIs link it into a directory
    of their own for each call); "" otherwise."""
    if not any(getattr(p, "wants_checkout", False) for p in panel):
        yield ""
        return
    from pathlib import Path

    from .verify import checkout_tree

    with tempfile.TemporaryDirectory(prefix="mergecoord-merge-") as temp:
        directory = Path(temp) / "checkout"
        directory.mkdir()
        try:
            checkout_tree(store, merge.tree, directory)
        except ValueError:          # a tree we refuse to write out: the agents get the prompt only
            yield ""
            return
        _read_only(directory)
        yield str(directory)


def _read_only(directory):
    # The panelists' checkouts share these files (hard links): nobody writes through them.
    import os
    import stat

    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                os.chmod(path, mode & ~0o222)


def resolve(context, entry, merge):
    """A MergeOutcome for the conflicted `merge` of `entry` onto `context.main`: 'ready'
    with a resolved tree, or 'escalated' with the reason."""
    config, store = context.config, context.store
    paths = [c.path for c in merge.conflicts]
    outcome = MergeOutcome("escalated", conflicts=paths, merge=merge)
    human_only = [p for p in paths if any(fnmatchcase(p, pat) for pat in config.always_human)]
    if human_only:
        outcome.detail = f"{', '.join(human_only)} always goes to a human (escalation.always_human)"
        return outcome
    files = conflict_files(store, merge)
    if files is None:
        kinds = ", ".join(f"{c.path} ({c.kind})" for c in merge.conflicts)
        outcome.detail = f"not a text conflict the panel can settle: {kinds}"
        return outcome
    outcome.files = files
    conflict = conflict_for(context, entry, files, merge.bases[0] if merge.bases else None)
    outcome.context = conflict

    learned = learning.recall(context.central, files)
    if learned is not None:
        return ready(store, outcome, merge, learned, "learned", confidence=1.0, rounds=0)

    from ..panel.consensus import settle
    from ..panel.validate import validate_text

    panel = context.panels.for_conflict(conflict)
    with checkout_for(store, merge, panel) as workdir:
        result = settle(replace(conflict, workdir=workdir), panel, threshold=config.threshold,
                        max_rounds=config.max_rounds, validate=validate_text, weights=context.panels.weights(),
                        on_round=lambda number, rounds: discussing(context, entry, number, rounds, paths))
    outcome.panel = result
    outcome.transcript = result.transcript()
    outcome.rounds = len(result.rounds)
    outcome.confidence = result.confidence
    if not result.resolved:
        outcome.detail = f"no confident consensus after {len(result.rounds)} round(s): {result.comment}"
        return outcome
    return ready(store, outcome, merge, result.resolutions, "consensus",
                 confidence=result.confidence, rounds=len(result.rounds))


def discussing(context, entry, number, rounds, conflicts=()):
    """The panel starts round `number` of `rounds`: the dashboard shows it. The first
    round is the `discussing` event (one fsynced line, as before there were rounds)."""
    if number == 1:
        journal.record(context.central, entry.id, "discussing", conflicts=list(conflicts), round=1,
                       max_rounds=rounds)
    else:
        journal.record(context.central, entry.id, "round", round=number, max_rounds=rounds)
    context.echo("[Merge Coordinator] " + ("Initiating AI consensus for conflict resolution..." if number == 1
                                           else f"Round {number} of {rounds} - seeking higher confidence..."))


def ready(store, outcome, merge, resolutions, how, *, confidence, rounds):
    """Check every resolved text, then write it into the merged tree."""
    from ..state.files import holds_secret
    from ..panel.validate import validate_text

    for path, text in resolutions.items():
        problem = validate_text(path, text)
        if not problem and holds_secret(text):
            problem = "it contains a secret (an API key from the environment, perhaps encoded)"
        if problem:
            outcome.status = "escalated"
            outcome.detail = f"the {how} resolution of {path} is not valid: {problem}"
            return outcome
    missing = set(outcome.conflicts) - set(resolutions)
    if missing:
        outcome.detail = f"no resolution for {', '.join(sorted(missing))}"
        return outcome
    outcome.tree = apply_texts(store, merge, resolutions)
    outcome.status = "ready"
    outcome.resolved_by = how
    outcome.confidence = confidence
    outcome.rounds = rounds
    outcome.resolutions = resolutions
    return outcome


def apply_texts(store, merge, texts):
    """The merged tree with `texts` (path -> full text) written over the conflicted files."""
    modes = {c.path: (c.ours or c.theirs).mode for c in merge.conflicts}
    changes = []
    for path, text in sorted(texts.items()):
        blob = Blob.from_string(text.encode("utf-8"))
        store.add_object(blob)
        changes.append((path_bytes(path), modes.get(path, 0o100644), blob.id))
    return commit_tree_changes(store, store[merge.tree], changes)
