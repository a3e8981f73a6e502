"""The dashboard (`mergecoord status`): what is happening and how well it is going.

`summary()` is the `status --json` document (its keys are documented in the README and
only ever added to); `render()` draws it as the seed's box. Everything is read from the
queue, the journal, the decisions, the pause switch and the learning store: nothing here
writes state.
"""

import os
import time

from ..install import server_hook_problems
from ..state import health, journal, queue
from ..untrusted import printable

ACTIVE_WINDOW = 24 * 3600     # a worker is active if it pushed or merged in the last day


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
    return "merging"


def _pending_decisions(central, merges, now):
    """Decisions waiting for a human, oldest first."""
    try:
        from ..state import decisions
    except ImportError:
        decisions = None
    out = []
    if decisions is not None:
        for d in decisions.pending(central):
            record = merges.get(d.get("merge_id"), {})
            since = record.get("finished_at") or now
            out.append({"id": d["id"], "merge_id": d.get("merge_id", ""), "branch": d.get("branch", ""),
                        "files": list(d.get("files", [])), "waiting": round(now - since, 1)})
        return out
    for rec in merges.values():          # without the decisions store: escalations in the journal
        if rec.get("status") == "escalated":
            out.append({"id": rec.get("decision", ""), "merge_id": rec["id"], "branch": rec.get("branch", ""),
                        "files": list(rec.get("conflicts", [])),
                        "waiting": round(now - (rec.get("finished_at") or now), 1)})
    return out


def summary(central, config, now=None):
    from ..server import learning
    from ..state import pause

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
        "generated_at": round(now, 3),
        "warnings": health.notices(central) + server_hook_problems(central.git_dir),
    }


# -- drawing -----------------------------------------------------------------------

def duration(seconds):
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def discussion_line(s):
    """"m-0007, round 2/3" while a panel sits (the runner takes one merge at a time), else the count."""
    shown = [f"{d['id']}, round {d['round']}/{d['max_rounds']}" for d in s.get("discussions", []) if d.get("round")]
    return "; ".join(shown) if shown and len(shown) == s["in_discussion"] else s["in_discussion"]


def use_color(stream, environ=None):
    """Whether to colour what goes to `stream`: never with NO_COLOR set and not empty
    (no-color.org), always with FORCE_COLOR set and not empty, never on TERM=dumb,
    else on a terminal."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return can_redraw(stream, env)


def can_redraw(stream, environ=None):
    """Whether `stream` is a terminal that understands escape sequences (not TERM=dumb)."""
    env = os.environ if environ is None else environ
    return env.get("TERM") != "dumb" and hasattr(stream, "isatty") and stream.isatty()


def render(s, color=False):
    """The seed's dashboard box. With `color`, ANSI colours mark what needs attention."""
    def paint(text, code):
        return f"\x1b[{code}m{text}\x1b[0m" if color and code else text

    rows = []     # (plain text, colour code) — widths are measured on the plain text

    def row(label="", value="", code=""):
        text = f"{label:<22}{value}" if label else ""
        rows.append((text, code if value != "" else ""))

    if s["paused"]:
        reason = printable((s.get("pause") or {}).get("reason") or "no reason given")
        by = printable((s.get("pause") or {}).get("by") or "?")
        rows.append((f"PAUSED by {by}: {reason[:60]}", "1;31"))
        row()
    for warning in s.get("warnings", []):      # damaged state, missing hooks: a person should look
        rows.append((f"warning: {printable(warning)}", "1;31"))
    if s.get("warnings"):
        row()
    row("Active Workers:", s["active_workers"])
    row("Pending Merges:", s["pending_merges"])
    row("In AI Discussion:", discussion_line(s), "36" if s["in_discussion"] else "")
    row("Awaiting Human:", s["awaiting_human"], "1;33" if s["awaiting_human"] else "")
    row()
    rows.append(("Current Activity:", ""))
    if s["current"]:
        for c in s["current"]:               # branch names are a pusher's: shown escaped
            rows.append((f"> Merging: {printable(c['branch'])}", "1"))
            rounds = f", round {c['round']}/{c['max_rounds']}" if c.get("round") else ""
            rows.append((f"  Status: {printable(c['phase'])}{rounds}", ""))
            rows.append((f"  Elapsed: {duration(c['elapsed'])}", ""))
    else:
        idle = "paused" if s["paused"] else ("runner active" if s["runner_active"] else "idle")
        rows.append((f"  ({idle})", ""))
    row()
    t = s["today"]
    rows.append(("Today's Stats:", ""))
    for label, value in (("Auto-merged:", t["auto_merged"]), ("AI Consensus:", t["ai_consensus"]),
                         ("Learned:", t["learned"]), ("Human Decisions:", t["human_decisions"])):
        rows.append((f"  {label:<20}{value}", ""))
    if t["rollbacks"]:
        rows.append((f"  {'Rollbacks:':<20}{t['rollbacks']}", ""))
    if t["failed"]:
        rows.append((f"  {'Failed:':<20}{t['failed']}", "31"))
    rows.append((f"  {'Avg Time:':<20}{duration(t['avg_seconds'])}", ""))
    row()
    rate = s["success_rate"]
    row("Success Rate:", "–" if rate is None else f"{rate}%")
    score = s["learning"]["score"]
    row("Learning Score:", "–" if score is None else f"{score}/100")
    if s["pending_decisions"]:
        row()
        rows.append(("Pending Decisions:", "1;33"))
        for d in s["pending_decisions"]:
            rows.append((f"  {d['id']} {printable(d['branch'])} ({duration(d['waiting'])})", ""))
            rows.append((f"    {', '.join(map(printable, d['files']))}", ""))
        rows.append(("  answer with: git merge-decide", ""))
    title = "Merge Coordinator Dashboard"
    width = max([len(title) + 8, 39] + [len(text) + 2 for text, _ in rows])
    out = ["╔" + "═" * width + "╗", "║" + paint(title.center(width), "1") + "║",
           "╠" + "═" * width + "╣"]
    for text, code in rows:
        out.append("║ " + paint(text, code) + " " * (width - 1 - len(text)) + "║")
    out.append("╚" + "═" * width + "╝")
    return "\n".join(out)


def _plural(n, word, many=None):
    return f"{n} {word if n == 1 else (many or word + 's')}"


def run_report(processed, seconds):
    """The seed's summary at the end of `start --once`: [(entry, outcome)] -> lines."""
    merged = [o for _, o in processed if o.status == "merged"]
    by = lambda how: [o for o in merged if o.resolved_by == how]
    branches = sum(1 for e, _ in processed if e.kind != "rollback")
    consensus = by("consensus")
    rounds = sum(o.rounds for o in consensus)
    lines = ["Summary:", f"- {_plural(branches, 'branch', 'branches')} processed"]
    rollbacks = [o for e, o in processed if e.kind == "rollback" and o.status == "merged"]
    if rollbacks:
        lines.append(f"- {_plural(len(rollbacks), 'rollback')}")
    lines.append(f"- {_plural(len(by('clean')) - len(rollbacks), 'clean merge')}")
    lines.append(f"- {_plural(len(consensus), 'AI-resolved conflict')}"
                 + (f" ({_plural(rounds, 'round')})" if consensus else ""))
    if by("learned"):
        lines.append(f"- {_plural(len(by('learned')), 'conflict')} resolved as learned before")
    lines.append(f"- {_plural(sum(1 for _, o in processed if o.status == 'escalated'), 'human escalation')}")
    if by("human"):
        lines.append(f"- {_plural(len(by('human')), 'human decision')} applied")
    others = [o for _, o in processed if o.status not in ("merged", "escalated")]
    for status in sorted({o.status for o in others}):
        lines.append(f"- {sum(1 for o in others if o.status == status)} {status}")
    lines.append(f"- Total time: {duration(seconds)}")
    return lines
