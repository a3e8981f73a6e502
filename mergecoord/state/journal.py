"""The journal: `<state>/journal.jsonl`, an append-only log of what happened to every merge.

It is the transaction log that recovery, `mergecoord log` and the dashboard read;
only this module writes it, one fsynced JSON line per event under the state lock.
"""

import json
import time

from .files import append_line

# The last event of a merge decides its status; these are the final ones.
FINAL = {"merged", "conflicted", "escalated", "failed", "withdrawn", "up-to-date", "rejected"}
# Events that are steps rather than outcomes map to the status they leave a merge in.
STATUS_OF = {"requeued": "queued", "started": "merging", "retry": "merging", "round": "discussing"}


def _path(central):
    return central.file("journal.jsonl")


def record(central, merge_id, event, **fields):
    line = {"time": round(time.time(), 3), "id": merge_id, "event": event}
    line.update(fields)
    with central.lock:
        append_line(_path(central), json.dumps(line, sort_keys=True))
    return line


def events(central):
    """All events in order. A damaged line (a crash mid-write, or garbage) is skipped
    and reported in the event list as {"event": "damaged", "line": N}."""
    try:
        with open(_path(central), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    out = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or "id" not in event or "event" not in event:
                raise ValueError
        except ValueError:
            out.append({"event": "damaged", "line": n, "id": None, "time": 0})
            continue
        out.append(event)
    return out


def merges(central):
    """merge id -> folded record (a dict of the latest value of every field)."""
    records = {}
    for event in events(central):
        if event["id"] is None:
            continue
        rec = records.setdefault(event["id"], {"id": event["id"], "history": []})
        rec["history"].append({"time": event["time"], "event": event["event"]})
        for key, value in event.items():
            if key not in ("time", "event", "id"):
                rec[key] = value
        if event["event"] == "queued":
            rec["queued_at"] = event["time"]
        if event["event"] == "started":
            rec["started_at"] = event["time"]
        if event["event"] in FINAL:
            rec["finished_at"] = event["time"]
        rec["status"] = STATUS_OF.get(event["event"], event["event"])
    return records
