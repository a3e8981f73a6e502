"""The panel's discussion as the seed's team chat reads it: `[Apollo]: ...`, `[Synthesis]: ...`,
the confidence of each round, and the vote when it ends in an escalation. Pure text from
the consensus engine's plain data; what panelists wrote is quoted on one line each.
"""

from __future__ import annotations

from typing import Mapping, Optional

from .hunks import ConflictContext
from .resolver import Round, clamp

UNCOUNTED = "not counted: a vote for its own side needs a neutral panelist or the synthesis to agree"


def header(context: ConflictContext, advocates: Optional[Mapping[str, str]] = None) -> tuple[str, ...]:
    lines = []
    for f in context.files:
        n = len(f.hunks)
        lines.append(f"File: {f.path} ({f.language}, {n} hunk{'s' if n != 1 else ''})")
    first = lambda message: (message.strip().splitlines() or [""])[0]
    lines.append(f"{context.ours_worker} (main): {first(context.ours_message)}")
    lines.append(f"{context.theirs_worker} ({context.branch}): {first(context.theirs_message)}")
    if advocates:
        where = {"A": "main", "B": context.branch}
        lines.append("Advocates: " + ", ".join(f"{name} speaks for {side} ({where[side]})"
                                               for name, side in sorted(advocates.items(), key=lambda kv: kv[1])))
    return tuple(lines)


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render(outcome) -> str:
    """The discussion of a PanelOutcome, round by round, as the team chat reads."""
    out: list[str] = []
    previous: Optional[Round] = None
    for r in outcome.rounds:
        out.append(f"[Team Chat] MERGE CONFLICT RESOLUTION - Round {r.number}")
        out.append("")
        if previous is None:
            out.extend(outcome.header)
        else:
            if previous.synthesis is not None:
                out.append(f"Previous proposal: {previous.synthesis.label} "
                           f"({previous.confidence:.0%}, backed by {', '.join(previous.synthesis.supporters)})")
            else:
                out.append("Previous proposal: none")
            concerns = [f"{p.panelist}: {o}" for p in previous.proposals for o in p.objections] + list(previous.notes)
            for concern in concerns:
                out.append(f"Concern: {one_line(concern)}")
        out.append("")
        labels = {}
        for c in r.candidates:
            for name in c.supporters:
                labels[name] = c.label
        for p in r.proposals:
            if p.abstained:
                kind = "recuses" if p.recused else "abstains"
                out.append(f"[{p.panelist}]: {kind}: {one_line(p.rationale or p.error or '')}")
                continue
            label = labels.get(p.panelist)
            if label is None:
                note = next((n for n in r.notes if n.startswith(p.panelist + ":")), "rejected")
                out.append(f"[{p.panelist}]: proposal {one_line(note.split(': ', 1)[-1])}")
                continue
            verb = f"endorses {label}" if p.endorses == label else f"proposes {label}"
            out.append(f"[{p.panelist}]: {verb} ({clamp(p.confidence):.0%}): {one_line(p.rationale)}".rstrip(": "))
            for objection in p.objections:
                out.append(f"    objection: {one_line(objection)}")
            if p.panelist in r.uncounted:
                out.append(f"    {UNCOUNTED}")
        if r.synthesis is not None:
            out.append(f"[Synthesis]: {r.synthesis.label}, backed by {', '.join(r.synthesis.supporters)}")
        else:
            out.append("[Synthesis]: nothing valid on the table")
        status = "above threshold" if r.confidence >= outcome.threshold and r.synthesis else "below threshold"
        out.append("")
        out.append(f"Confidence: {r.confidence:.0%} ({status})")
        out.append("")
        previous = r
    if outcome.resolved:
        out.append(f"✓ Applying AI consensus merge ({outcome.winner}, {len(outcome.rounds)} round(s))")
    else:
        out.append(f"✗ AI consensus not reached after {len(outcome.rounds)} round(s): escalating to a human")
        out.append(f"AI Vote: {', '.join(f'{k} {v}' for k, v in outcome.tally.items()) or 'none'}")
        out.append(f'AI Comment: "{outcome.comment}"')
    return "\n".join(out) + "\n"
