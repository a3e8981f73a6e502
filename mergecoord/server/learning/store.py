"""The learning store's file: `<state>/learning.jsonl`, the only code that opens it.

Lines are appended under the state lock and fsynced; a damaged line is skipped.
"""

import json

from ...state.files import append_line


def _path(central):
    return central.path("learning.jsonl")


def append(central, record):
    with central.lock:
        central.ensure_state_dir()
        append_line(_path(central), json.dumps(record, sort_keys=True))


def _strings(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _texts(value):
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


# What the readers of a record rely on; a line that breaks it is skipped like a damaged one.
SHAPE = {"type": lambda v: isinstance(v, str), "key": lambda v: isinstance(v, str),
         "files": _strings, "approaches": _texts, "panel_votes": _texts,
         "hunks": lambda v: isinstance(v, dict) and all(_strings(h) for h in v.values()),
         **{k: lambda v: isinstance(v, str) for k in ("resolved_by", "human_decision", "rationale",
                                                        "decision", "merge_id")}}


def _valid(record):
    return isinstance(record, dict) and all(ok(record[k]) for k, ok in SHAPE.items()
                                            if record.get(k) is not None)


def lines(central):
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
        if _valid(value):
            out.append(value)
    return out


def records(central):
    """The records of resolved conflicts, oldest first."""
    return [r for r in lines(central) if r.get("type") == "resolved"]


def escalation(central, merge_id):
    """What the panel proposed when `merge_id` was escalated ({} when not recorded)."""
    return next((r for r in reversed(lines(central))
                 if r.get("type") == "escalation" and r.get("merge_id") == merge_id), {})
