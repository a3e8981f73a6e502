"""The journal: `<state>/journal.jsonl`, an append-only log of what happened to every merge.

It is the transaction log that recovery, `mergecoord log` and the dashboard read;
only this module writes it, one fsynced JSON line per event under the state lock.
"""

import json
import os
import time

from .files import append_line

# The last event of a merge decides its status; these are the final ones.
FINAL = {"merged", "conflicted", "escalated", "failed", "withdrawn", "up-to-date", "rejected"}
# Events that are steps rather than outcomes map to the status they leave a merge in.
STATUS_OF = {"requeued": "queued", "started": "merging", "retry": "merging", "landing": "merging",
             "round": "discussing", "verifying": "merging"}
# Events that note something about an outcome (its follow-up steps ran, or failed) and
# leave its status as it was.
NOTES = {"followed-up", "follow-up-failed"}


# The type every reader expects of a field; a line where one has another type (hand-edited,
# or garbage that happens to be JSON) is damaged: skipped and reported like a cut line,
# never met later as a TypeError in `mergecoord log` or the runner.
_NUMBER = (int, float)
FIELD_TYPES = {"time": _NUMBER, "event": str, "branch": str, "sha": str, "worker": str, "commit": str,
               "resolved_by": str, "detail": str, "decision": str, "kind": str, "reason": str,
               "error": str, "choice": str, "decided_by": str, "tip": str, "landing": str,
               "follow_error": str, "rounds": int, "round": int, "max_rounds": int, "follow": int,
               "confidence": _NUMBER, "conflicts": list,
               "why": dict}          # the reason object (server/reasons.py); `reason` is older free text


def _valid(event):
    if not isinstance(event, dict) or "id" not in event or "event" not in event or "time" not in event:
        return False
    if event["id"] is not None and event["id"].__class__ is not str:
        return False
    for key, value in event.items():
        kind = FIELD_TYPES.get(key)
        if kind is not None and value is not None and (value.__class__ is bool or not isinstance(value, kind)):
            return False
    return all(isinstance(path, str) for path in event.get("conflicts") or ())


def _path(central):
    return central.file("journal.jsonl")


def record(central, merge_id, event, **fields):
    line = {"time": round(time.time(), 3), "id": merge_id, "event": event}
    line.update(fields)
    with central.lock:
        append_line(_path(central), json.dumps(line, sort_keys=True))
    return line


def events(central):
    """All events in order. A damaged line (a crash mid-write, garbage, a field missing or
    of the wrong type) is skipped and reported in the event list as
    {"event": "damaged", "line": N}."""
    try:
        with open(_path(central), "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return []
    return _parse(raw.splitlines())


def events_since(central, offset):
    """(the events of the lines that start at byte `offset` or later, the offset after
    them): what a reader that keeps its place needs, without reading the whole journal
    again. Only whole lines count; one still being written is left for the next call."""
    try:
        with open(_path(central), "rb") as f:
            # A journal shorter than the offset was replaced by hand: go on from its end
            # rather than read from the middle of a line.
            offset = min(offset, os.fstat(f.fileno()).st_size)
            f.seek(offset)
            raw = f.read()
    except FileNotFoundError:
        return [], 0
    end = raw.rfind(b"\n") + 1
    return _parse(raw[:end].splitlines()), offset + end


def _parse(lines):
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not _valid(event):
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
        if event["event"] in NOTES:
            continue
        if event["event"] == "queued":
            rec["queued_at"] = event["time"]
        if event["event"] == "started":
            rec["started_at"] = event["time"]
        if event["event"] in FINAL:
            rec["finished_at"] = event["time"]
        rec["status"] = STATUS_OF.get(event["event"], event["event"])
    return records


def landings(central, merge_id):
    """The merge commits the runner was about to put on main for `merge_id` (a "landing"
    event precedes every compare-and-swap): the only commits recovery may take for that
    merge having landed. A commit someone else pushed, whatever its trailers say, is not
    among them."""
    return {e["landing"] for e in events(central) if e["id"] == merge_id and e["event"] == "landing"
            and e.get("landing")}


def landed(central):
    """commit -> folded record of every merge the journal says landed on main (the
    coordinator's own merge commits; trailers in commit messages are not evidence)."""
    return {rec["commit"]: rec for rec in merges(central).values()
            if rec.get("status") == "merged" and rec.get("commit")}
