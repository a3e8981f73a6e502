"""The learning store's file: `<state>/learning.jsonl`, the only code that opens it.

Lines are appended under the state lock and fsynced; a damaged line is skipped.
"""

import json

from ..state.files import append_line


def _path(central):
    return central.path("learning.jsonl")


def append(central, record):
    with central.lock:
        central.ensure_state_dir()
        append_line(_path(central), json.dumps(record, sort_keys=True))


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
        if isinstance(value, dict):
            out.append(value)
    return out


def records(central):
    """The records of resolved conflicts, oldest first."""
    return [r for r in lines(central) if r.get("type") == "resolved"]


def escalation(central, merge_id):
    """What the panel proposed when `merge_id` was escalated ({} when not recorded)."""
    return next((r for r in reversed(lines(central))
                 if r.get("type") == "escalation" and r.get("merge_id") == merge_id), {})
