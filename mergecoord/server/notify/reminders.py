"""Reminders about decisions left pending: a `reminder` event in the journal for every
decision waiting longer than `escalation.remind_after_hours`, at most once per interval
per decision (when it last reminded is kept in `<state>/reminders.json`, which only
this module touches), then delivered to the webhook like every event.

Never stops the runner: a failure is logged to `logs/notify.log` and skipped.
"""

import time

from ...state import decisions, journal
from ...state.files import read_json, write_json
from . import events
from .webhook import log

REMIND_CHECK_SECONDS = 60.0  # how often a long-running runner looks for overdue decisions

_last_check = [0.0]


def remind(central, config, now=None, force=False):
    """Journal a `reminder` event for every decision pending longer than
    `remind_after_hours` and not reminded about within that interval; then flush so
    the webhook hears of them. Cheap to call from the runner loop: it looks at most
    once a minute per process (unless `force`). Returns the decision ids reminded."""
    interval = config.remind_after_hours * 3600.0
    now = time.time() if now is None else now
    if not config.webhook or interval <= 0:
        return []
    if not force and time.monotonic() - _last_check[0] < REMIND_CHECK_SECONDS and _last_check[0]:
        return []
    _last_check[0] = time.monotonic()
    try:
        due = _remind(central, config, interval, now)
    except Exception as e:  # a reminder is never worth stopping the runner for
        log(central, f"reminders skipped: {type(e).__name__}: {e}")
        return []
    if due:
        events.flush(central, config)
    return due


def _remind(central, config, interval, now):
    due = []
    with central.lock:
        path = central.path("reminders.json")
        last = read_json(path, {})
        pending = {d["id"]: d for d in decisions.pending(central)}
        for decision_id, doc in pending.items():
            created = parse_time(doc.get("created"))
            if created is None:
                continue
            if now - max(created, last.get(decision_id, 0.0)) >= interval:
                due.append(doc)
                last[decision_id] = now
                # Journaled without a merge id (so that it does not become the merge's
                # status in `mergecoord log`); the merge is named in "merge".
                journal.record(central, None, "reminder", decision=decision_id,
                               merge=doc.get("merge_id", ""), branch=doc.get("branch", ""),
                               worker=doc.get("worker", ""), pending_since=doc.get("created"),
                               pending_hours=round((now - created) / 3600.0, 1))
        last = {k: v for k, v in last.items() if k in pending}
        write_json(path, last)
    return [d["id"] for d in due]


def parse_time(text):
    """Epoch seconds of an ISO 8601 UTC time as the state files write it, or None."""
    import calendar

    try:
        return float(calendar.timegm(time.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return None

