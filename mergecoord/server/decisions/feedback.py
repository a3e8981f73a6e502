"""Refactor tasks for the workers whose side lost a decision (the seed's feedback loop).

One task per losing worker and file, saying what was chosen, by whom and why, and
where to look. The text is built from the decision only; nothing is invented.
"""

from ...state import tasks


def _option(doc, letter):
    return (doc.get("options") or {}).get(letter) or {}


def losers(doc):
    """[(worker, path, winning letter)] for an answered decision: the side not chosen loses
    the file; when an AI proposal was chosen, both workers have something to review."""
    answer = doc.get("answer") or {}
    out = []
    for path in doc["files"]:
        letter = (answer.get("files") or {}).get(path) or answer.get("choice", "")
        if letter == "A":
            losing = [_option(doc, "B").get("worker", "")]
        elif letter == "B":
            losing = [_option(doc, "A").get("worker", "")]
        else:
            losing = [_option(doc, "A").get("worker", ""), _option(doc, "B").get("worker", "")]
        for worker in dict.fromkeys(losing):
            if worker and worker not in ("main", "panel"):
                out.append((worker, path, letter))
    return out


def _made(central, doc):
    """(worker, file) of the tasks this decision already gave: a retry after a crash must
    not give them twice."""
    return {(task.worker, task.file) for task in tasks.all_tasks(central) if task.decision == doc["id"]}


def refactor_tasks(central, doc, commit=""):
    answer = doc.get("answer") or {}
    rationale = " ".join((answer.get("rationale") or "").split())
    decided_by = answer.get("decided_by", "a human")
    commit = (commit or doc.get("applied_commit") or "")[:10]
    created = []
    made = _made(central, doc)
    for worker, path, letter in losers(doc):
        if (worker, path) in made:
            continue
        won = _option(doc, letter)
        winner = won.get("worker", "")
        if letter in ("A", "B"):
            approach = f"{winner}'s approach" + (f" ({won['summary']})" if won.get("summary") else "")
            feedback = f"{decided_by} selected {approach} over yours in {path}"
            suggestion = (f"Integrate what your change did into {winner}'s version now on main"
                          f"{f' ({commit})' if commit else ''}, or propose it again as a follow-up")
            learning = rationale or f"For {path}, {winner}'s approach was preferred over {worker}'s"
        else:
            feedback = f"{decided_by} selected the panel's proposal {letter} for {path}, which rewrote your hunks"
            suggestion = f"Review the merged {path} on main{f' ({commit})' if commit else ''} and fix what it lost"
            learning = rationale or f"For {path}, a combination of both approaches was preferred"
        if rationale:
            feedback += f": {rationale}"
        created.append(tasks.create(central, worker=worker, priority="low", file=path, feedback=feedback,
                                    suggestion=suggestion, learning=learning, decision=doc["id"],
                                    merge_id=doc["merge_id"]))
    return created


def rejection_task(central, doc):
    """The branch was sent back unmerged: its worker gets the whole conflict to redo."""
    answer = doc.get("answer") or {}
    rationale = " ".join((answer.get("rationale") or "").split())
    worker = _option(doc, "B").get("worker") or doc.get("worker", "")
    files = ", ".join(doc["files"])
    if not worker or (worker, files) in _made(central, doc):
        return None
    feedback = f"{answer.get('decided_by', 'a human')} sent {doc['branch']} back unmerged (decision {doc['id']})"
    if rationale:
        feedback += f": {rationale}"
    return tasks.create(central, worker=worker, priority="normal", file=files, feedback=feedback,
                        suggestion=f"Rebase {doc['branch']} on the current main, rework {files}, "
                                   "and push again with READY_TO_MERGE",
                        learning=rationale or "Neither side of this conflict was accepted as it stood",
                        decision=doc["id"], merge_id=doc["merge_id"])
