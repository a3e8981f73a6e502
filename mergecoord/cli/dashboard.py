"""The dashboard as `mergecoord status` draws it: the seed's box from the status summary
(`server.status.summary`, also the `status --json` document), colours only on a terminal
that understands them, and the summary that ends `start --once`.

Branch names, paths and reasons in it are a pusher's: every one goes through
`untrusted.printable`. Reads nothing but what it is given.
"""

import os

from ..server.reasons import VERIFYING, describe
from ..untrusted import printable


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
            reason = c.get("reason") or {}
            if reason.get("code") == VERIFYING:      # which candidate, on which (speculative) base
                rows.append((f"  Base: {printable(str(reason.get('base', ''))[:10])}, candidate "
                             f"{printable(str(reason.get('commit') or reason.get('tree', ''))[:10])}", "36"))
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
    if s.get("ejections"):
        row()
        rows.append(("Recent Ejections:", ""))
        for e in s["ejections"]:            # the reason carries a verify command's output: escaped
            rows.append((f"  {printable(e['id'])} {printable(e['branch'])}", ""))
            rows.append((f"    {printable(describe(e['reason']))[:100]}", "31"))
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
