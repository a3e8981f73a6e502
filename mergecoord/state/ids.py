"""Monotonic ids per repository: m-0001 (merges), d-0001 (decisions), t-0001 (tasks)."""

from .files import read_json, write_json


def allocate(central, prefix):
    """The next id with `prefix`; never reused, even after a crash (written before use)."""
    with central.lock:
        path = central.path("ids.json")
        counters = read_json(path, {})
        counters[prefix] = counters.get(prefix, 0) + 1
        write_json(path, counters)
        return f"{prefix}-{counters[prefix]:04d}"
