"""The learning store: `<state>/learning.jsonl`, one record per resolved conflict.

It makes mergecoord better with use, in three ways:

1. *recall*: a conflict whose normalised hunks are identical to one resolved before is
   resolved the same way (each hunk gets the lines it got last time); the result is still
   validated and verified like any other resolution, and lands as `Resolved-By: learned`;
2. *lessons*: the rationales of past human decisions on the same file or the same kind of
   file are put into the panel's prompts;
3. *weights*: a panelist's weight follows how often its proposal matched what the human
   then chose.

Only this module reads or writes the store. Lines are appended under the state lock and
fsynced; a damaged line is skipped. Two kinds of line: `"type": "escalation"` remembers
what each panelist proposed when a conflict went to a human (the decision is answered
later), and `"type": "resolved"` is the record of a resolved conflict (the fields of the
seed's record: conflict type, file, approaches, how consensus went, the human decision and
rationale, the outcome).
"""

import hashlib
import json
import time

from .state.files import append_line

RECENT = 20            # conflicts / decisions the learning score looks back on
MAX_LESSONS = 5
AUTONOMY_SHARE = 0.6   # learning score = 100 * (0.6 * autonomy + 0.4 * agreement)


def _path(central):
    return central.path("learning.jsonl")


def _append(central, record):
    with central.lock:
        central.ensure_state_dir()
        append_line(_path(central), json.dumps(record, sort_keys=True))


def _lines(central):
    try:
        raw = _path(central).read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in raw.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def records(central):
    """The records of resolved conflicts, oldest first."""
    return [r for r in _lines(central) if r.get("type") == "resolved"]


# -- keys and normal forms ----------------------------------------------------------

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
    language = _language(path)
    return f"{language} {'/'.join(sorted(set(kinds))) or 'content'}"


def _language(path):
    try:
        from .panel.hunks import language_of
    except ImportError:
        return path.rsplit(".", 1)[-1] if "." in path else "text"
    return language_of(path)


def hunk_choices(conflict, text):
    """The lines `text` put in place of each hunk of `conflict` ({index: lines}), or None
    when `text` did not keep the non-conflicting parts as the three-way merge has them."""
    import merge3

    groups = list(merge3.Merge3(conflict.base.splitlines(True), conflict.ours.splitlines(True),
                                conflict.theirs.splitlines(True)).merge_groups())
    lines = text.splitlines(True)
    pos, choices, pending = 0, {}, None
    index = 0
    for group in groups:
        if group[0] == "conflict":
            pending = index
            index += 1
            continue
        fixed = list(group[1])
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


# -- the seams the runner and the resolution call ---------------------------------

def recall(central, files):
    """{path: text} resolving `files` as an identical conflict was resolved before, or None."""
    if not files:
        return None
    key = conflict_key(files)
    for record in reversed(records(central)):
        if record.get("key") != key or not record.get("hunks"):
            continue
        out = {}
        for f in files:
            chosen = record["hunks"].get(f.path)
            if chosen is None or len(chosen) != len(f.hunks):
                return None
            try:
                out[f.path] = f.render({i: text.splitlines(True) for i, text in enumerate(chosen)})
            except ValueError:
                return None
        return out
    return None


def recalled_from(central, files):
    """The merge id whose resolution `recall` reuses (for the record), or ""."""
    key = conflict_key(files)
    return next((r.get("merge_id", "") for r in reversed(records(central)) if r.get("key") == key), "")


def lessons(central, paths):
    """What humans decided before on the same files, then on conflicts of the same type:
    one line each, newest first, for the panel's prompt."""
    paths = list(paths)
    types = {_language(p) for p in paths}
    same_file, same_type = [], []
    for record in reversed(records(central)):
        if record.get("resolved_by") != "human" or not record.get("human_decision"):
            continue
        if set(record.get("files", [])) & set(paths):
            same_file.append(record)
        elif {_language(p) for p in record.get("files", [])} & types:
            same_type.append(record)
    return [lesson_text(r) for r in (same_file + same_type)[:MAX_LESSONS]]


def lesson_text(record):
    choice = record.get("human_decision", "")
    approaches = record.get("approaches", {})
    chosen = approaches.get(choice, "")
    others = "; ".join(f"{k}: {v}" for k, v in sorted(approaches.items()) if k != choice)
    text = (f"{record.get('decision') or record.get('merge_id')} on {', '.join(record.get('files', []))}: "
            f"the human chose {choice}{f' ({chosen})' if chosen else ''}")
    if others:
        text += f" over {others}"
    if record.get("rationale"):
        text += f". Rationale: {record['rationale']}"
    return text


def weights(central, config):
    """{panelist name: weight}: the configured weight times a factor from 0.5 to 1.5 that
    follows the panelist's agreement with human decisions,
    factor = 0.5 + (agreed + 1) / (agreed + disagreed + 2) (1.0 without any history)."""
    stats = agreement_stats(central)
    out = {}
    for entry in config.panel:
        name = entry.get("name") or entry.get("kind")
        agreed, disagreed = stats.get(name, (0, 0))
        factor = 0.5 + (agreed + 1) / (agreed + disagreed + 2)
        out[name] = round(float(entry.get("weight", 1.0)) * factor, 4)
    return out


def agreement_stats(central):
    """{panelist: (times it agreed with the human, times it did not)}; abstentions do not count."""
    stats = {}
    for record in records(central):
        for name, verdict in (record.get("panel_votes") or {}).items():
            agreed, disagreed = stats.get(name, (0, 0))
            if verdict == "agreed":
                agreed += 1
            elif verdict == "disagreed":
                disagreed += 1
            stats[name] = (agreed, disagreed)
    return stats


def remember(central, entry, outcome):
    """Called by the runner for a merged outcome with conflicts (a record), and for an
    escalation that the panel discussed (what each panelist proposed, for the weights)."""
    files = list(outcome.files or [])
    if outcome.status == "escalated":
        if outcome.panel is not None and files:
            _append(central, {"type": "escalation", "time": round(time.time(), 3), "merge_id": entry.id,
                              "key": conflict_key(files), "votes": _votes(outcome.panel)})
        return None
    if outcome.status != "merged":
        return None
    if not files:
        files = _files_of_commit(central, outcome.commit)
        if not files:
            return None
    texts = dict(outcome.resolutions or {}) or _texts_of_commit(central, outcome.commit, [f.path for f in files])
    record = build_record(central, entry, outcome, files, texts)
    _append(central, record)
    return record


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


def _escalation(central, merge_id):
    return next((r for r in reversed(_lines(central))
                 if r.get("type") == "escalation" and r.get("merge_id") == merge_id), {})


def _verdicts(central, merge_id, files, texts):
    """{panelist: "agreed" | "disagreed" | "abstained"} against the human's resolution."""
    escalation = _escalation(central, merge_id)
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
    try:
        from .state import decisions
    except ImportError:   # the decisions store is not part of this build
        return {}
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
    from .merge import merge_commits
    from .resolution import conflict_files

    store = _repo(central).object_store
    parents = store[commit.encode()].parents
    if len(parents) != 2:
        return []
    merge = merge_commits(store, parents[0], parents[1])
    return conflict_files(store, merge) or []


def _texts_of_commit(central, commit, paths):
    from dulwich.object_store import tree_lookup_path

    if not commit:
        return {}
    store = _repo(central).object_store
    tree = store[commit.encode()].tree
    out = {}
    for path in paths:
        try:
            _mode, sha = tree_lookup_path(store.__getitem__, tree, path.encode("utf-8"))
        except KeyError:
            continue
        out[path] = store[sha].data.decode("utf-8", "replace")
    return out


# -- the learning score -----------------------------------------------------------

def score(central, merges=None):
    """The learning score (0-100) and its parts, or score None before any conflict.

    autonomy  = share of the last 20 conflicted merges settled without a human
                (Resolved-By consensus or learned) among those settled or escalated;
    agreement = share of the last 20 human decisions, among those where some panelist
                proposed a resolution, in which the panel's majority proposed what the
                human chose;
    score     = 100 * (0.6 * autonomy + 0.4 * agreement), or 100 * autonomy while no
                decision has a panel vote to compare.
    """
    if merges is None:
        from .state import journal

        merges = journal.merges(central)
    conflicted = [m for m in merges.values()
                  if m.get("conflicts") and m.get("status") in ("merged", "escalated")
                  and not m.get("reverts")]
    conflicted.sort(key=lambda m: m.get("finished_at") or 0)
    recent = conflicted[-RECENT:]
    autonomous = sum(1 for m in recent if m.get("status") == "merged"
                     and m.get("resolved_by") in ("consensus", "learned"))
    human = [r for r in records(central) if r.get("resolved_by") == "human"
             and any(v in ("agreed", "disagreed") for v in (r.get("panel_votes") or {}).values())][-RECENT:]
    agreeing = 0
    for r in human:
        verdicts = [v for v in r["panel_votes"].values() if v in ("agreed", "disagreed")]
        agreeing += verdicts.count("agreed") * 2 > len(verdicts)
    autonomy = autonomous / len(recent) if recent else None
    agreement = agreeing / len(human) if human else None
    if autonomy is None:
        value = None
    elif agreement is None:
        value = round(100 * autonomy)
    else:
        value = round(100 * (AUTONOMY_SHARE * autonomy + (1 - AUTONOMY_SHARE) * agreement))
    return {"score": value, "autonomy": None if autonomy is None else round(autonomy, 3),
            "agreement": None if agreement is None else round(agreement, 3),
            "conflicts": len(recent), "decisions_compared": len(human),
            "records": len(records(central))}
