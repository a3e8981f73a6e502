"""The status summary (`mergecoord status`): counts read from the queue and the journal."""

import time

from .state import health, journal, queue
from .state.files import Lock


def runner_active(central):
    probe = Lock(str(central.path("runner.lock")))
    if probe.acquire(blocking=False):
        probe.release()
        return False
    return True


def summary(central, config, now=None):
    now = now or time.time()
    merges = journal.merges(central)
    entries = queue.entries(central)
    counts = {"merged": 0, "clean": 0, "consensus": 0, "human": 0, "learned": 0, "conflicted": 0,
              "escalated": 0, "failed": 0, "withdrawn": 0, "up-to-date": 0}
    for rec in merges.values():
        status = rec.get("status")
        if status in counts:
            counts[status] += 1
        if status == "merged" and rec.get("resolved_by") in counts:
            counts[rec["resolved_by"]] += 1
    return {
        "repo": str(central.git_dir),
        "main": config.main,
        "paused": central.path("paused.json").exists(),
        "runner_active": runner_active(central),
        "pending_merges": sum(1 for e in entries if e.status == queue.QUEUED),
        "merging": [{"id": e.id, "branch": e.branch, "elapsed": round(now - e.started_at, 1)}
                    for e in entries if e.status == queue.MERGING],
        "counts": counts,
        "warnings": health.notices(central),
    }


def render(s):
    lines = [f"mergecoord on {s['repo']}",
             f"  pending merges: {s['pending_merges']}",
             f"  runner: {'active' if s['runner_active'] else 'idle'}{' (paused)' if s['paused'] else ''}"]
    for m in s["merging"]:
        lines.append(f"  > merging {m['branch']} ({m['id']}), {m['elapsed']:.0f}s")
    lines.append("  " + ", ".join(f"{k}: {v}" for k, v in s["counts"].items()))
    lines += [f"  warning: {w}" for w in s.get("warnings", [])]
    return "\n".join(lines)
