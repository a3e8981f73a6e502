"""What is wrong with the state files, as one line per problem for `mergecoord status`.

Damage never stops the coordinator: a damaged journal line is skipped, a damaged
queue or id file is set aside (`<name>.damaged-<when>`) and rebuilt from the
journal, a damaged decision file is listed as damaged and left for a person to
mend (guessing at a human's answer is not ours to do). This module says so until a person has looked: the notices go away when
the set-aside files are deleted (or the journal line is mended).
"""

import os

from . import decisions, journal


def notices(central):
    out = []
    events = journal.events(central)
    damaged = [e["line"] for e in events if e["event"] == "damaged"]
    if damaged:
        shown = ", ".join(map(str, damaged[:5])) + (", ..." if len(damaged) > 5 else "")
        out.append(f"journal.jsonl: {len(damaged)} damaged line(s) skipped (line {shown})")
    out += unfinished(events)
    out += [d["error"] for d in decisions.all_decisions(central) if d.get("status") == "damaged"]
    try:
        names = sorted(os.listdir(central.state_dir))
    except OSError:
        return out
    for name in names:
        original, sep, _ = name.partition(".damaged-")
        if sep:
            out.append(f"{original} was damaged; it was set aside as {name} and rebuilt from the "
                       "journal (delete it once looked at)")
    return out


def unfinished(events):
    """One line per outcome whose follow-up steps failed and wait for the next run."""
    failed = {}
    for e in events:
        if e["event"] == "follow-up-failed":
            failed[e["id"]] = e.get("follow_error", "")
        elif e["event"] == "followed-up":
            failed.pop(e["id"], None)
    return [f"{merge_id}: what follows it failed ({why[:160]}); retried at the next run "
            "(details in logs/runner.log)" for merge_id, why in failed.items()]
