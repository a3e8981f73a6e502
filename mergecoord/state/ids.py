"""Monotonic ids per repository: m-0001 (merges), d-0001 (decisions), t-0001 (tasks)."""

import os
import re
import sys
import time

from .files import read_json, write_json

ID = re.compile(r"\b([mdt])-(\d{4,})\b")


def allocate(central, prefix):
    """The next id with `prefix`; never reused, even after a crash (written before use)."""
    with central.lock:
        path = central.file("ids.json")
        try:
            counters = read_json(path, {})
            if not isinstance(counters, dict) or not all(isinstance(v, int) for v in counters.values()):
                raise ValueError("not a table of counters")
        except (ValueError, UnicodeDecodeError) as e:
            counters = _rebuild(central, path, e)
        counters[prefix] = counters.get(prefix, 0) + 1
        write_json(path, counters)
        return f"{prefix}-{counters[prefix]:04d}"


def _rebuild(central, path, error):
    """ids.json is unreadable: set it aside and start above every id in use, as found in
    the journal, the queue and the names of the decision, transcript and inbox files
    (an id must never be handed out twice)."""
    from pathlib import Path

    path = Path(path)
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(path, aside)
    counters = {}

    def see(text):
        for prefix, number in ID.findall(text):
            counters[prefix] = max(counters.get(prefix, 0), int(number))

    for name in ("journal.jsonl", "queue.json"):
        try:
            see(central.path(name).read_text(errors="replace"))
        except OSError:
            pass
    for root, _dirs, files in os.walk(central.state_dir):
        see(" ".join(files))
    sys.stderr.write(f"mergecoord: {path.name} was damaged ({error.__class__.__name__}); set aside as "
                     f"{aside.name} and rebuilt from the ids in use\n")
    return counters
