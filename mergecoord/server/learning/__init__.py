"""The learning store: `<state>/learning.jsonl`, one record per resolved conflict.

It makes mergecoord better with use, in three ways:

1. *recall*: a conflict whose normalised hunks are identical to one resolved before is
   resolved the same way (each hunk gets the lines it got last time); the result is still
   validated and verified like any other resolution, and lands as `Resolved-By: learned`;
2. *lessons*: the rationales of past human decisions on the same file or the same kind of
   file are put into the panel's prompts;
3. *weights*: a panelist's weight follows how often its proposal matched what the human
   then chose.

Only `learning/store.py` opens the store file; lines are appended under the state lock
and fsynced, and a damaged line is skipped. `record.py` builds a record from an outcome,
`scoring.py` computes the learning score. Two kinds of line: `"type": "escalation"` remembers
what each panelist proposed when a conflict went to a human (the decision is answered
later), and `"type": "resolved"` is the record of a resolved conflict (the fields of the
seed's record: conflict type, file, approaches, how consensus went, the human decision and
rationale, the outcome).
"""

from . import record as _record
from . import store
from .record import conflict_key, language
from .scoring import score  # noqa: F401  (the dashboard's entry point)
from .store import records

MAX_LESSONS = 5


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


def lessons(central, paths):
    """What humans decided before on the same files, then on conflicts of the same type:
    one line each, newest first, for the panel's prompt."""
    paths = list(paths)
    types = {language(p) for p in paths}
    same_file, same_type = [], []
    for record in reversed(records(central)):
        if record.get("resolved_by") != "human" or not record.get("human_decision"):
            continue
        if set(record.get("files", [])) & set(paths):
            same_file.append(record)
        elif {language(p) for p in record.get("files", [])} & types:
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
    escalation that the panel discussed (what each panelist proposed, for the weights).
    Idempotent: what is recorded already is not recorded again."""
    if outcome.status == "escalated":
        if outcome.panel is not None and outcome.files:
            line = _record.escalation(entry, outcome.files, outcome.panel)
            if not any(r.get("type") == "escalation" and r.get("merge_id") == entry.id and r.get("key") == line["key"]
                       and r.get("votes") == line["votes"] for r in store.lines(central)):
                store.append(central, line)
        return None
    if outcome.status != "merged":
        return None
    # Called again after a crash (`followups`): a merge commit is recorded once.
    if any(r.get("merge_id") == entry.id and isinstance(r.get("outcome"), dict)
           and r["outcome"].get("commit") == outcome.commit for r in records(central)):
        return None
    found = _record.build(central, entry, outcome)
    if found is not None:
        store.append(central, found)
    return found
