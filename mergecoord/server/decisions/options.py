"""The options a human chooses between, described from what is known and nothing more.

A is main's side of every conflicted hunk (the work of whoever last changed those
files on main), B the branch's side, C, D, ... the panel's own proposals. Pros and
cons are facts: each side's commit message, the size of each side's change to the
conflicted files, which panelists backed it and what they said. Nothing is
invented: with no panel and no messages, an option simply has fewer lines.
"""

import difflib


def first_line(message):
    return (message or "").strip().splitlines()[0].strip() if (message or "").strip() else ""


def line_changes(base, text):
    """(added, removed) lines from `base` to `text`."""
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base.splitlines(), text.splitlines(),
                                                       autojunk=False).get_opcodes():
        if op != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


def hunk_stats(files):
    """{"A": (added, removed), "B": (...)} over the conflicted hunks of `files` (FileConflicts):
    how much each side changed exactly where they collide."""
    totals = {"A": [0, 0], "B": [0, 0]}
    for conflict in files:
        for hunk in conflict.hunks:
            base = "".join(hunk.base)
            for label, lines in (("A", hunk.ours), ("B", hunk.theirs)):
                added, removed = line_changes(base, "".join(lines))
                totals[label][0] += added
                totals[label][1] += removed
    return {k: tuple(v) for k, v in totals.items()} if files else {}


def structural_facts(conflicts):
    """Per-option facts for conflicts that are not about contents (delete, mode, type)."""
    facts = {"A": [], "B": []}
    for c in conflicts:
        if c.textual:
            continue
        for label, side, other in (("A", c.ours, c.theirs), ("B", c.theirs, c.ours)):
            if side is None:
                facts[label].append(f"deletes {c.path}")
            elif other is None:
                facts[label].append(f"keeps and changes {c.path}")
            elif side.mode != other.mode:
                facts[label].append(f"{c.path} with mode {side.mode:o}")
            else:
                facts[label].append(f"its version of {c.path} ({c.kind})")
    return facts


def panel_facts(panel):
    """label -> (supporters, [rationale lines]) from the panel's last round; {} without a panel."""
    if panel is None or not getattr(panel, "rounds", None):
        return {}
    last = panel.rounds[-1]
    said = {p.panelist: p for p in last.proposals}
    out = {}
    for candidate in last.candidates:
        reasons = []
        for name in candidate.supporters:
            proposal = said.get(name)
            why = " ".join((proposal.rationale or "").split())[:160] if proposal else ""
            reasons.append(f"backed by {name}" + (f": {why}" if why else ""))
        out[candidate.label] = (tuple(candidate.supporters), reasons)
    return out


def build(store, entry, outcome, merge):
    """The `options` table of a decision: {"A": {...}, "B": {...}, "C": {...}, ...}."""
    context = outcome.context
    ours_worker = getattr(context, "ours_worker", "") or "main"
    ours_message = getattr(context, "ours_message", "")
    theirs_message = getattr(context, "theirs_message", "")
    if not theirs_message:
        try:
            theirs_message = store[entry.sha.encode()].message.decode("utf-8", "replace")
        except KeyError:
            theirs_message = ""
    conflicts = list(merge.conflicts) if merge is not None else []
    stats = hunk_stats(outcome.files or _text_conflicts(store, merge))
    structure = structural_facts(conflicts)
    backed = panel_facts(outcome.panel)
    threshold = getattr(outcome.panel, "threshold", None)

    options = {}
    for label, worker, message, where in (("A", ours_worker, ours_message, "main's side"),
                                          ("B", entry.worker, theirs_message, f"{entry.branch}'s side")):
        pros, cons = [], []
        other = "B" if label == "A" else "A"
        if label == "A":
            pros.append("already on main")
        if stats:
            added, removed = stats[label]
            o_added, o_removed = stats[other]
            size = f"+{added} -{removed} lines in the conflicted hunks"
            if added + removed < o_added + o_removed:
                pros.append(f"smaller change: {size}")
            elif added + removed > o_added + o_removed:
                cons.append(f"larger change: {size}")
            else:
                pros.append(f"change of the same size: {size}")
        pros.extend(structure[label])
        supporters, reasons = backed.get(label, ((), []))
        pros.extend(reasons)
        if backed and not supporters:
            cons.append("no panelist backed it")
        if label == "A":
            cons.append(f"drops {entry.worker}'s version of the conflicted hunks")
        else:
            cons.append(f"drops {ours_worker}'s version of the conflicted hunks on main")
        summary = first_line(message) or where
        options[label] = {"label": f"{worker}'s approach", "worker": worker, "summary": summary,
                          "pros": pros, "cons": cons}

    for candidate in getattr(outcome.panel, "candidates", ()) or ():
        if candidate.label in options:
            continue
        supporters = tuple(candidate.supporters)
        pros = [f"{candidate.confidence:.0%} confidence from the panel"]
        pros += backed.get(candidate.label, ((), []))[1] or [f"backed by {name}" for name in supporters]
        cons = []
        if threshold is not None:
            cons.append(f"below the panel's confidence threshold ({threshold:.0%})")
        cons.append("written by the panel: neither worker has seen it")
        options[candidate.label] = {
            "label": f"AI proposal {candidate.label}", "worker": "panel",
            "summary": f"resolution proposed by {', '.join(supporters) or 'the panel'}",
            "pros": pros, "cons": cons, "panelists": list(supporters),
            "texts": dict(candidate.resolutions)}
    return options


def _text_conflicts(store, merge):
    from ..conflicts import conflict_files

    return (conflict_files(store, merge) or []) if merge is not None and merge.conflicts else []


def vote(outcome):
    """The [vote] table: tally {A, B, ..., abstain}, the panel's comment (or the reason), and
    `panelists`: each panelist's vote in the last round with a one-line reason."""
    panel = outcome.panel
    if panel is None:
        return {"tally": {"A": 0, "B": 0, "abstain": 0}, "comment": outcome.detail or "no panel sat"}
    tally = {"A": 0, "B": 0}
    tally.update({str(k): int(v) for k, v in dict(panel.tally).items()})
    tally.setdefault("abstain", 0)
    panelists = []
    for v in panel.votes():
        row = {"name": v.panelist, "vote": v.vote, "confidence": round(v.confidence, 3), "reason": v.reason}
        if v.advocate:
            row.update(advocate=v.advocate, counted=v.counted)
        if v.recused:
            row["recused"] = True
        panelists.append(row)
    return {"tally": tally, "comment": panel.comment or outcome.detail, "panelists": panelists}
