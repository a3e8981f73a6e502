"""The pause switch: `<state>/paused.json` (reason, who, when). Only this module writes it.

While it exists the runner merges nothing; pushes keep queueing, so `resume` picks up
exactly where the queue stands.
"""

import getpass
import os
import time

from .files import read_json, write_json


def _path(central):
    return central.path("paused.json")


def who():
    """The operator as the server sees them (the same names decisions use)."""
    for var in ("GL_USER", "REMOTE_USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def pause(central, reason="", by=None):
    """Pause the queue; pausing again replaces the reason. Returns the pause record."""
    record = {"reason": reason, "by": by or who(), "at": round(time.time(), 3)}
    with central.lock:
        write_json(_path(central), record)
    return record


def resume(central):
    """Lift the pause; the record that was lifted, or None when the queue was not paused."""
    with central.lock:
        record = state(central)
        if record is not None:
            _path(central).unlink()
        return record


def state(central):
    """The pause record, or None when the queue runs."""
    if not _path(central).exists():
        return None
    record = read_json(_path(central), {})
    return {"reason": str(record.get("reason", "")), "by": str(record.get("by", "")),
            "at": record.get("at", 0)}
