"""Prompts for text panelists (HTTP LLMs and external commands) and the parsing of their
answers into `Proposal`s. The templates are plain text files users can edit; a `{name}` is
replaced when `name` is one of ours and left alone otherwise (JSON examples stay intact).

An answer that is not the asked JSON, or that leaves a hunk unresolved, is an abstention.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from .hunks import ConflictContext, FileConflict
from .resolver import Proposal, Round, abstain

MAX_FILE_CHARS = 12_000      # whole files beyond this are shown as hunks with context only

ANSWER_FORMAT = """{
  "vote": "propose" | "endorse" | "abstain",
  "candidate": "C",                       (with "endorse": the label of a candidate on the table, or A / B)
  "hunks": {"<path>": ["<replacement text of hunk 0>", "<replacement text of hunk 1>"]},
                                          (with "propose": every hunk of every file, the lines that replace it)
  "confidence": 0.0,
  "rationale": "one or two sentences",
  "objections": ["a concern about another candidate", "..."]
}"""


@dataclass(frozen=True)
class PromptTemplates:
    system: str
    round: str

    @classmethod
    def load(cls, directory: Path) -> "PromptTemplates":
        texts = []
        for name in ("system.txt", "round.txt"):
            path = Path(directory) / name
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise ValueError(f"prompt template {path} cannot be read ({exc.strerror})") from None
        return cls(*texts)


def fill(template: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def build_prompt(templates: PromptTemplates, context: ConflictContext, history: tuple[Round, ...], *,
                 panelist: str, max_rounds: int = 3, threshold: float = 0.85,
                 advocate: Optional[str] = None, workspace: bool = False) -> tuple[str, str]:
    """(system prompt, round prompt) for one panelist in the round after `history`.
    `advocate` ("A" or "B") makes the panelist the worker who wrote that side, speaking
    for it with its commit messages; a template without `{role}` gets the role appended.
    `workspace`: the panelist runs in a throwaway checkout of the merge (agent CLIs)."""
    role = advocate_role(context, panelist, advocate) if advocate else NEUTRAL_ROLE
    values = {
        "panelist": panelist,
        "role": role,
        "workspace": WORKSPACE if workspace else "",
        "languages": ", ".join(sorted({f.language for f in context.files})),
        "answer_format": ANSWER_FORMAT,
        "round": str(len(history) + 1), "max_rounds": str(max_rounds), "threshold": f"{threshold:.0%}",
        "merge_id": context.merge_id, "branch": context.branch,
        "ours_worker": context.ours_worker, "theirs_worker": context.theirs_worker,
        "ours_message": context.ours_message.strip() or "(no message)",
        "theirs_message": context.theirs_message.strip() or "(no message)",
        "lessons": "\n".join(f"- {lesson}" for lesson in context.lessons) or "(none yet)",
        "files": "\n\n".join(_describe(f) for f in context.files),
        "history": _history(history),
    }
    system = fill(templates.system, values)
    if "{role}" not in templates.system:
        system = system.rstrip("\n") + "\n\n" + role + "\n"
    return system, fill(templates.round, values)


WORKSPACE = ("Your working directory is a throwaway checkout of the merge (the conflicted files hold conflict "
             "markers): read the rest of the project there if it helps, but edit nothing; only your JSON answer counts.")
NEUTRAL_ROLE = ("You sit on the panel as a neutral engineer: you wrote neither side, so judge both on what they "
                "are for and what they would break.")
MAX_LOG_MESSAGES = 8
MAX_MESSAGE_CHARS = 1000


def advocate_role(context: ConflictContext, panelist: str, side: str) -> str:
    """What an advocate is told: which side is its own and why it was written."""
    ours = side == "A"
    where = "main's side (candidate A)" if ours else f"the branch {context.branch} (candidate B)"
    log = context.ours_log if ours else context.theirs_log
    if not log:
        log = (context.ours_message if ours else context.theirs_message,)
    messages = []
    for message in [m for m in log if m.strip()][:MAX_LOG_MESSAGES]:
        subject, _, body = message.strip()[:MAX_MESSAGE_CHARS].partition("\n")
        messages.append("- " + subject.strip() + "".join(f"\n    {line}" for line in body.strip().splitlines()))
    return (f"You are {panelist}, the worker who wrote {where}. Speak for your approach: say what your change "
            f"is for and what dropping it would cost, from your commit messages below. You may also propose a "
            f"resolution that keeps both sides, or endorse another candidate when it is better: the panel applies "
            f"only what it agrees on, and your vote for your own side ({side}) counts only when a neutral panelist "
            f"or the panel's synthesis agrees.\n\nYour commit messages, newest first:\n"
            + ("\n".join(messages) or "- (no message)"))


def _block(lines) -> str:
    text = "".join(lines)
    return text if text.endswith("\n") or not text else text + "\n"


def _describe(conflict: FileConflict) -> str:
    out = [f"=== File {conflict.path} ({conflict.language}, {len(conflict.hunks)} conflicting hunks) ==="]
    marked = conflict.marked()
    if len(marked) <= MAX_FILE_CHARS:
        out.append("The file with conflict markers:\n```\n" + _block(marked) + "```")
    for hunk in conflict.hunks:
        out.append(f"--- hunk {hunk.index} ---\n"
                   f"context before:\n```\n{_block(hunk.before)}```\n"
                   f"base (common ancestor):\n```\n{_block(hunk.base)}```\n"
                   f"ours (main):\n```\n{_block(hunk.ours)}```\n"
                   f"theirs (branch):\n```\n{_block(hunk.theirs)}```\n"
                   f"context after:\n```\n{_block(hunk.after)}```")
    return "\n".join(out)


def _history(history: tuple[Round, ...]) -> str:
    if not history:
        return "This is the first round: nothing is on the table yet. Candidate A is main's side of every hunk, B the branch's.\n"
    out = ["Earlier rounds (candidate A is main's side of every hunk, B the branch's):"]
    for r in history:
        out.append(f"Round {r.number}: confidence {r.confidence:.0%}"
                   + (f", synthesis {r.synthesis.label}" if r.synthesis else ", no valid synthesis"))
        for p in r.proposals:
            stance = "abstained" if p.abstained else f"confidence {p.confidence:.0%}"
            out.append(f"  [{p.panelist}] {stance}: {' '.join(p.rationale.split())[:400]}")
            for objection in p.objections:
                out.append(f"    objection: {' '.join(objection.split())[:400]}")
        for note in r.notes:
            out.append(f"  note: {note}")
    last = history[-1]
    shown = {c.label: c for c in last.candidates}
    if last.synthesis is not None:
        shown.setdefault(last.synthesis.label, last.synthesis)
    for label, candidate in shown.items():
        backers = ", ".join(candidate.supporters) or "nobody yet"
        out.append(f"\nCandidate {label} (backed by {backers}, confidence {candidate.confidence:.0%}):")
        for path, text in candidate.resolutions.items():
            shown_text = text if len(text) <= MAX_FILE_CHARS else text[:MAX_FILE_CHARS] + "\n[... truncated]\n"
            out.append(f"{path}:\n```\n{_block(shown_text)}```")
    return "\n".join(out) + "\n"


# Models put raw newlines and tabs inside JSON strings: accept them.
_DECODER = json.JSONDecoder(strict=False)
MAX_OBJECT_STARTS = 2000     # "{" positions tried in prose: bounded work on hostile output


def _is_answer(value) -> bool:
    return isinstance(value, dict) and ("vote" in value or "hunks" in value)


def _json_object(text: str) -> Optional[dict]:
    """Our answer in a model's text: the whole text, else a fenced block (the last that is
    an answer), else the last object in the prose around it that looks like an answer."""
    text = text.strip()
    try:
        value = _DECODER.decode(text)
        if _is_answer(value):
            return value
    except ValueError:
        pass
    for block in reversed(re.findall(r"```[\w-]*[ \t]*\n(.*?)```", text, re.S)):
        try:
            value = _DECODER.decode(block.strip())
        except ValueError:
            continue
        if _is_answer(value):
            return value
    found, start, tries = None, text.find("{"), 0
    while start != -1 and tries < MAX_OBJECT_STARTS:
        tries += 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if _is_answer(value):
            found = value
        start = text.find("{", end)
    return found


def known_candidates(context: ConflictContext, history: tuple[Round, ...]) -> dict[str, Mapping[str, str]]:
    table: dict[str, Mapping[str, str]] = {
        "A": {f.path: f.render({h.index: "ours" for h in f.hunks}) for f in context.files},
        "B": {f.path: f.render({h.index: "theirs" for h in f.hunks}) for f in context.files},
    }
    for r in history:
        for c in r.candidates + ((r.synthesis,) if r.synthesis else ()):
            table[c.label] = c.resolutions
    return table


def parse_answer(panelist: str, text: str, context: ConflictContext, history: tuple[Round, ...]) -> Proposal:
    """The Proposal an answer stands for; any deviation from the asked JSON abstains."""
    answer = _json_object(text)
    if answer is None:
        return abstain(panelist, "answer was not the asked JSON", error=True)
    rationale = str(answer.get("rationale", ""))[:2000]
    objections = answer.get("objections") or []
    if isinstance(objections, str):
        objections = [objections]
    objections = tuple(str(o)[:1000] for o in objections if str(o).strip()) if isinstance(objections, list) else ()
    confidence = _confidence(answer.get("confidence"))
    vote = str(answer.get("vote", "propose" if "hunks" in answer else "abstain")).lower()
    if vote == "abstain":
        return Proposal(panelist, None, 0.0, rationale or "abstains", objections=objections)
    if confidence is None:
        return abstain(panelist, "answer has no confidence between 0 and 1", error=True)
    if vote == "endorse":
        label = str(answer.get("candidate", "")).strip().upper()
        table = known_candidates(context, history)
        if label not in table:
            return abstain(panelist, f"endorsed {label or 'nothing'}, which is not on the table", error=True)
        return Proposal(panelist, dict(table[label]), confidence, rationale, endorses=label, objections=objections)
    if vote != "propose":
        return abstain(panelist, f"unknown vote {vote[:40]!r}", error=True)
    hunks = answer.get("hunks")
    if not isinstance(hunks, dict):
        return abstain(panelist, "proposal without hunks", error=True)
    resolutions = {}
    for conflict in context.files:
        replacements = hunks.get(conflict.path)
        if isinstance(replacements, dict):      # {"0": "...", "1": "..."} is fine too
            replacements = [replacements.get(str(h.index)) for h in conflict.hunks]
        if not isinstance(replacements, list) or len(replacements) != len(conflict.hunks) \
                or not all(isinstance(r, str) for r in replacements):
            return abstain(panelist, f"proposal does not resolve every hunk of {conflict.path}", error=True)
        choices = {h.index: _lines(r, h) for h, r in zip(conflict.hunks, replacements)}
        resolutions[conflict.path] = conflict.render(choices)
    return Proposal(panelist, resolutions, confidence, rationale, objections=objections)


def _lines(replacement: str, hunk) -> tuple[str, ...]:
    lines = replacement.splitlines(keepends=True)
    sides = hunk.ours + hunk.theirs
    if lines and not lines[-1].endswith("\n") and (not sides or sides[-1].endswith("\n") or hunk.after):
        lines[-1] += "\n"
    return tuple(lines)


def _confidence(value) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if 1.0 < number <= 100.0:     # "85" meant 85 %
        number /= 100.0
    return number if 0.0 <= number <= 1.0 else None
