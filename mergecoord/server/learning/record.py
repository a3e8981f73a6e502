"""A learning record from a merged outcome: the conflict's identity (normalised hunks),
the lines each hunk got, the approaches, how the panel did, the human's answer and the
outcome. Reads the decision and the merge commit when the runner did not hand them over.
"""

import hashlib
import json
import time

from . import store as learning_store


def _normal_lines(lines):
    return [line.rstrip() for line in lines]


def _normal_text(text):
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode("utf-8")).hexdigest()[:24]


def conflict_key(files):
    """The identity of a conflict: its paths and every hunk's three sides, ignoring trailing
    blanks. The context around the hunks is left out on purpose: the same clash in a file
    that changed elsewhere is still the same clash."""
    return _digest(sorted(
        [f.path, [[_normal_lines(h.base), _normal_lines(h.ours), _normal_lines(h.theirs)] for h in f.hunks]]
        for f in files))


def conflict_type(path, kinds=()):
    """A coarse kind of conflict: the language of the file and the kinds of conflict
    ("python content"). Lessons travel between conflicts of the same type."""
    return f"{language(path)} {'/'.join(sorted(set(kinds))) or 'content'}"


def language(path):
    from ...panel.hunks import language_of

    return language_of(path)


def hunk_choices(conflict, text):
    """The lines `text` put in place of each hunk of `conflict` ({index: lines}), or None
    when `text` did not keep the parts git merged cleanly as git has them."""
    from ...panel.hunks import _lines

    try:
        pieces = conflict._pieces()
    except ValueError:
        return None
    lines = _lines(text)
    pos, choices, pending = 0, {}, None
    for piece in pieces:
        if isinstance(piece, int):
            pending = piece
            continue
        fixed = list(piece)
        if not fixed:
            continue
        if pending is None:
            if lines[pos:pos + len(fixed)] != fixed:
                return None
            pos += len(fixed)
            continue
        # the hunk's replacement runs up to the next place where the fixed lines follow
        found = next((p for p in range(pos, len(lines) - len(fixed) + 1) if lines[p:p + len(fixed)] == fixed),
                     None)
        if found is None:
            return None
        choices[pending] = lines[pos:found]
        pos, pending = found + len(fixed), None
    if pending is not None:
        choices[pending] = lines[pos:]
        pos = len(lines)
    if pos != len(lines) or len(choices) != len(conflict.hunks):
        return None
    try:
        if conflict.render(choices) != text:
            return None
    except ValueError:
        return None
    return {i: "".join(v) for i, v in choices.items()}


def build(central, entry, outcome):
    """The record of a merged outcome with conflicts, or None when it had none."""
    files = list(outcome.files or []) or _files_of_commit(central, outcome.commit)
    if not files:
        return None
    texts = dict(outcome.resolutions or {}) or _texts_of_commit(central, outcome.commit, [f.path for f in files])
    return build_record(central, entry, outcome, files, texts)


def escalation(entry, files, panel):
    """The line that remembers what each panelist proposed when a conflict went to a human."""
    return {"type": "escalation", "time": round(time.time(), 3), "merge_id": entry.id,
            "key": conflict_key(files), "votes": _votes(panel)}


def recalled_from(central, files):
    """The merge id whose resolution `recall` reuses, or ""."""
    key = conflict_key(files)
    return next((r.get("merge_id", "") for r in reversed(learning_store.records(central))
                 if r.get("key") == key), "")


def build_record(central, entry, outcome, files, texts):
    decision = _decision(central, outcome.decision or entry.decision) if outcome.resolved_by == "human" else {}
    answer = decision.get("answer", {}) if decision else {}
    hunks = {}
    for f in files:
        chosen = hunk_choices(f, texts[f.path]) if f.path in texts else None
        if chosen is None:
            hunks = {}
            break
        hunks[f.path] = [chosen[i] for i in range(len(f.hunks))]
    record = {
        "type": "resolved",
        "time": round(time.time(), 3),
        "merge_id": entry.id,
        "branch": entry.branch,
        "worker": entry.worker,
        "conflict_type": conflict_type(files[0].path, _kinds(decision)),
        "file": files[0].path,
        "files": [f.path for f in files],
        "key": conflict_key(files),
        "hunks": hunks,
        "approaches": _approaches(outcome, decision),
        "ai_consensus": _how_consensus_went(central, entry, outcome),
        "resolved_by": outcome.resolved_by,
        "rounds": outcome.rounds,
        "confidence": round(outcome.confidence or 0.0, 3),
        "human_decision": answer.get("choice", "") if outcome.resolved_by == "human" else "",
        "decision": outcome.decision or entry.decision or "",
        "rationale": answer.get("rationale", ""),
        "decided_by": answer.get("decided_by", ""),
        "panel_votes": {},
        "outcome": {"commit": outcome.commit, **_delta(files, texts)},
    }
    if outcome.resolved_by == "human":
        record["panel_votes"] = _verdicts(central, entry.id, files, texts)
    if outcome.resolved_by == "learned":
        record["learned_from"] = recalled_from(central, files)
    return record


def _approaches(outcome, decision):
    """{label: one line}: A is main's side, B the branch's, further labels the panel's ideas."""
    options = (decision or {}).get("options") or {}
    if options:
        return {label: f"{o.get('worker', '')}: {o.get('summary') or o.get('label', '')}".strip(": ")
                for label, o in sorted(options.items()) if isinstance(o, dict)}
    context = outcome.context
    if context is None:
        return {}
    first = lambda message: (message.strip().splitlines() or [""])[0]
    return {"A": f"{context.ours_worker}: {first(context.ours_message)}",
            "B": f"{context.theirs_worker}: {first(context.theirs_message)}"}


def _how_consensus_went(central, entry, outcome):
    how = outcome.resolved_by
    if how == "consensus":
        return f"reached in {outcome.rounds} round(s), confidence {outcome.confidence:.0%}"
    if how == "learned":
        return "skipped: resolved as an identical conflict before"
    if how == "human":
        decision = _decision(central, outcome.decision or entry.decision)
        vote = decision.get("vote") or {}
        if not decision.get("rounds"):
            return f"skipped: {decision.get('reason') or 'sent straight to a human'}"
        tally = ", ".join(f"{k} {v}" for k, v in (vote.get("tally") or {}).items())
        return (f"failed after {decision['rounds']} round(s)" + (f" ({tally})" if tally else "")
                + (f": {vote['comment']}" if vote.get("comment") else ""))
    return how


def _kinds(decision):
    kinds = (decision or {}).get("kinds") or ()
    return list(kinds.values()) if isinstance(kinds, dict) else list(kinds)


def _delta(files, texts):
    added = removed = 0
    for f in files:
        ours = set(_normal_lines(f.ours.splitlines()))
        new = _normal_lines(texts.get(f.path, f.ours).splitlines())
        added += sum(1 for line in new if line not in ours)
        removed += sum(1 for line in ours if line not in set(new))
    return {"lines_added": added, "lines_removed": removed}


# -- panel votes and their agreement with humans ----------------------------------

def _votes(panel):
    """{panelist: {path: digest of its proposed text} | None} from the panel's last round in
    which each panelist proposed something (None: it only ever abstained)."""
    votes = {}
    for r in panel.rounds:
        for p in r.proposals:
            if p.abstained:
                votes.setdefault(p.panelist, None)
            else:
                votes[p.panelist] = {path: _digest(_normal_text(text)) for path, text in p.resolutions.items()}
    return votes


def _verdicts(central, merge_id, files, texts):
    """{panelist: "agreed" | "disagreed" | "abstained"} against the human's resolution."""
    escalation = learning_store.escalation(central, merge_id)
    applied = {f.path: _digest(_normal_text(texts.get(f.path, ""))) for f in files}
    out = {}
    for name, vote in (escalation.get("votes") or {}).items():
        if vote is None:
            out[name] = "abstained"
        else:
            out[name] = "agreed" if all(vote.get(p) == d for p, d in applied.items()) else "disagreed"
    return out


# -- reading what the runner did not hand over ------------------------------------

def _decision(central, decision_id):
    """The decision document as a dict ({} when unknown or damaged)."""
    if not decision_id:
        return {}
    from ...state import decisions

    try:
        return decisions.load(central, decision_id)
    except Exception:
        return {}


def _repo(central):
    from dulwich.repo import Repo

    return Repo(str(central.git_dir))


def _files_of_commit(central, commit):
    """The FileConflicts of the merge that made `commit` (its two parents merged again)."""
    if not commit:
        return []
    from ...merge import merge_commits
    from ..conflicts import conflict_files

    store = _repo(central).object_store
    parents = store[commit.encode()].parents
    if len(parents) != 2:
        return []
    merge = merge_commits(store, parents[0], parents[1])
    return (conflict_files(store, merge) or []) if merge.conflicts else []


def _texts_of_commit(central, commit, paths):
    from dulwich.object_store import tree_lookup_path

    from ...merge import path_bytes

    if not commit:
        return {}
    store = _repo(central).object_store
    tree = store[commit.encode()].tree
    out = {}
    for path in paths:
        try:
            _mode, sha = tree_lookup_path(store.__getitem__, tree, path_bytes(path))
        except KeyError:
            continue
        out[path] = store[sha].data.decode("utf-8", "replace")
    return out
