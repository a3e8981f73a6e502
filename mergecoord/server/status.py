"""The status summary: what is happening and how well it is going, as one plain
document. It is `mergecoord status --json` (its keys are documented in the README and
only ever added to), what the dashboard draws, and `status.json` in the published
`refs/mergecoord/state`.

Everything is read from the queue, the journal, the decisions, the pause switch and the
learning store: nothing here writes state.
"""

import time

from ..install import server_hook_problems
from ..state import decisions, health, journal, pause, queue
from . import learning, reasons

ACTIVE_WINDOW = 24 * 3600     # a worker is active if it pushed or merged in the last day
EJECTIONS = 5                 # the latest entries that left the queue without landing, shown
LANDED = ("merged", "up-to-date")


def start_of_day(now):
    t = time.localtime(now)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def _phase(entry, record):
    if entry.kind == "rollback":
        return "rolling back " + entry.branch.partition("/")[2]
    if entry.kind == "decision":
        return f"applying human decision {entry.decision}"
    if record.get("status") == "discussing":
        return "AI discussion"
    if (reasons.of_record(record) or {}).get("code") == reasons.VERIFYING:
        return "verifying"
    return "merging"


def _pending_decisions(central, merges, now):
    """Decisions waiting for a human, oldest first."""
    out = []
    for d in decisions.pending(central):
        record = merges.get(d.get("merge_id"), {})
        since = record.get("finished_at") or now
        out.append({"id": d["id"], "merge_id": d.get("merge_id", ""), "branch": d.get("branch", ""),
                    "files": list(d.get("files", [])), "waiting": round(now - since, 1)})
    return out


def _ejections(merges):
    """The latest EJECTIONS entries that left the queue without landing (or landed and were
    rolled back), newest first, with their reason."""
    out = []
    for mid, reason in reasons.of_merges(merges).items():
        rec = merges[mid]
        rolled_back = reason is not None and reason["code"] == "rolled-back"
        if reason is None or reason["code"] == reasons.VERIFYING or (rec.get("status") in LANDED and not rolled_back):
            continue
        when = (merges.get(reason.get("by")) or {}) if rolled_back else rec
        out.append({"id": mid, "branch": rec.get("branch", ""), "worker": rec.get("worker", ""),
                    "finished_at": when.get("finished_at"), "reason": reason})
    out.sort(key=lambda e: e["finished_at"] or 0, reverse=True)
    return out[:EJECTIONS]


def summary(central, config, now=None):
    """The status document (the README lists its keys) as of `now`."""
    now = now or time.time()
    merges = journal.merges(central)
    entries = queue.entries(central)
    counts = {"merged": 0, "clean": 0, "consensus": 0, "human": 0, "learned": 0, "conflicted": 0,
              "escalated": 0, "failed": 0, "withdrawn": 0, "up-to-date": 0, "rejected": 0,
              "rollbacks": 0}
    today = {"auto_merged": 0, "ai_consensus": 0, "learned": 0, "human_decisions": 0, "rollbacks": 0,
             "failed": 0, "merged": 0, "avg_seconds": None}
    day = start_of_day(now)
    durations = []
    workers = {e.worker for e in entries}
    for rec in merges.values():
        status, how = rec.get("status"), rec.get("resolved_by")
        rollback = str(rec.get("branch", "")).startswith("rollback/")
        if status in counts:
            counts[status] += 1
        if status == "merged":
            if rollback:
                counts["rollbacks"] += 1
            elif how in counts:
                counts[how] += 1
        finished = rec.get("finished_at") or 0
        if rec.get("worker") and not rollback and max(finished, rec.get("queued_at") or 0) >= now - ACTIVE_WINDOW:
            workers.add(rec["worker"])
        if finished < day:
            continue
        if status == "merged":
            today["merged"] += 1
            key = "rollbacks" if rollback else {"clean": "auto_merged", "consensus": "ai_consensus",
                                                 "learned": "learned", "human": "human_decisions"}.get(how)
            if key:
                today[key] += 1
            durations.append(finished - (rec.get("queued_at") or finished))
        elif status == "failed":
            today["failed"] += 1
    if durations:
        today["avg_seconds"] = round(sum(durations) / len(durations), 1)
    landed, failed = counts["merged"], counts["failed"] + counts["conflicted"]
    pending_decisions = _pending_decisions(central, merges, now)
    paused = pause.state(central)
    current = []
    for e in entries:
        if e.status != queue.MERGING:
            continue
        record = merges.get(e.id, {})
        item = {"id": e.id, "branch": e.branch, "worker": e.worker, "kind": e.kind,
                "phase": _phase(e, record), "elapsed": round(now - e.started_at, 1)}
        if record.get("status") == "discussing" and isinstance(record.get("round"), int):
            item.update(round=record["round"], max_rounds=record.get("max_rounds"))
        item["reason"] = reasons.of_record(record) if record else None
        current.append(item)
    return {
        "repo": str(central.git_dir),
        "main": config.main,
        "paused": paused is not None,
        "pause": paused,
        "runner_active": central.runner_active(),
        "active_workers": len(workers),
        "workers": sorted(workers),
        "pending_merges": sum(1 for e in entries if e.status == queue.QUEUED),
        "in_discussion": sum(1 for c in current if c["phase"] == "AI discussion"),
        "discussions": [{"id": c["id"], "branch": c["branch"], "round": c.get("round"),
                         "max_rounds": c.get("max_rounds")} for c in current if c["phase"] == "AI discussion"],
        "awaiting_human": len(pending_decisions),
        "merging": [{"id": c["id"], "branch": c["branch"], "elapsed": c["elapsed"]} for c in current],
        "current": current,
        "counts": counts,
        "today": today,
        "success_rate": round(100 * landed / (landed + failed)) if landed + failed else None,
        "learning": learning.score(central, merges),
        "panel_weights": learning.weights(central, config),
        "pending_decisions": pending_decisions,
        "ejections": _ejections(merges),
        "generated_at": round(now, 3),
        "warnings": health.notices(central) + server_hook_problems(central.git_dir),
    }
