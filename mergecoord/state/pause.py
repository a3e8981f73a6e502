"""The pause switch: `<state>/paused.json` (reason, who, when). Only this module writes it.

While it exists the runner merges nothing; pushes keep queueing, so `resume` picks up
exactly where the queue stands.
"""

import os
import time

from ..central import server_user
from .files import read_json, write_json


def _path(central):
    return central.file("paused.json")


def is_paused(central):
    return os.path.exists(_path(central))


def pause(central, reason="", by=None):
    """Pause the queue; pausing again replaces the reason. Returns the pause record."""
    record = {"reason": reason, "by": by or server_user(), "at": round(time.time(), 3)}
    with central.lock:
        write_json(_path(central), record)
    return record


def resume(central):
    """Lift the pause; the record that was lifted, or None when the queue was not paused."""
    with central.lock:
        record = state(central)
        if record is not None:
            os.unlink(_path(central))
        return record


def state(central):
    """The pause record, or None when the queue runs."""
    if not is_paused(central):
        return None
    record = read_json(_path(central), {})
    return {"reason": str(record.get("reason", "")), "by": str(record.get("by", "")),
            "at": record.get("at", 0)}
