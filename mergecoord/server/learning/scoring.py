"""The learning score (0-100): how much of the conflict work mergecoord now does without
a human, and how well its panel agrees with humans. Read-only.
"""

from . import store

RECENT = 20            # conflicts / decisions the learning score looks back on
AUTONOMY_SHARE = 0.6   # learning score = 100 * (0.6 * autonomy + 0.4 * agreement)


def score(central, merges=None):
    """The learning score (0-100) and its parts, or score None before any conflict.

    autonomy  = share of the last 20 conflicted merges settled without a human
                (Resolved-By consensus or learned) among those settled or escalated;
    agreement = share of the last 20 human decisions, among those where some panelist
                proposed a resolution, in which the panel's majority proposed what the
                human chose;
    score     = 100 * (0.6 * autonomy + 0.4 * agreement), or 100 * autonomy while no
                decision has a panel vote to compare.
    """
    if merges is None:
        from ...state import journal

        merges = journal.merges(central)
    conflicted = [m for m in merges.values()
                  if m.get("conflicts") and m.get("status") in ("merged", "escalated")]
    conflicted.sort(key=lambda m: m.get("finished_at") or 0)
    recent = conflicted[-RECENT:]
    autonomous = sum(1 for m in recent if m.get("status") == "merged"
                     and m.get("resolved_by") in ("consensus", "learned"))
    human = [r for r in store.records(central) if r.get("resolved_by") == "human"
             and any(v in ("agreed", "disagreed") for v in (r.get("panel_votes") or {}).values())][-RECENT:]
    agreeing = 0
    for r in human:
        verdicts = [v for v in r["panel_votes"].values() if v in ("agreed", "disagreed")]
        agreeing += verdicts.count("agreed") * 2 > len(verdicts)
    autonomy = autonomous / len(recent) if recent else None
    agreement = agreeing / len(human) if human else None
    if autonomy is None:
        value = None
    elif agreement is None:
        value = round(100 * autonomy)
    else:
        value = round(100 * (AUTONOMY_SHARE * autonomy + (1 - AUTONOMY_SHARE) * agreement))
    return {"score": value, "autonomy": None if autonomy is None else round(autonomy, 3),
            "agreement": None if agreement is None else round(agreement, 3),
            "conflicts": len(recent), "decisions_compared": len(human),
            "records": len(store.records(central))}
