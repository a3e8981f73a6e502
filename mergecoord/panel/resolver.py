"""The one resolver interface, and the plain data that flows through a panel discussion.

Built-in strategies, HTTP LLMs and external commands all implement `Resolver`; the consensus
engine sees only `Proposal`s and never asks which kind of panelist made one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Optional, Protocol, runtime_checkable

from .hunks import ConflictContext


@dataclass(frozen=True)
class Proposal:
    """One panelist's answer in one round.

    `resolutions` maps every conflicted path to its full resolved text; None means the
    panelist abstains. `recused` marks an abstention of a panelist that has no competence
    for this conflict (a deterministic strategy that does not apply): it takes the panelist
    out of the vote instead of counting against every candidate, the way an ordinary
    abstention (unsure, error, timeout, garbage) does.
    """
    panelist: str
    resolutions: Optional[Mapping[str, str]]
    confidence: float = 0.0
    rationale: str = ""
    endorses: Optional[str] = None          # label of an earlier candidate this answer backs
    objections: tuple[str, ...] = ()
    recused: bool = False
    error: Optional[str] = None             # why the panelist could not answer (already redacted)

    @property
    def abstained(self) -> bool:
        return self.resolutions is None

    def redacted(self, redact: Callable[[str], str]) -> "Proposal":
        """The same proposal with `redact` applied to every text a human will read."""
        return replace(self, rationale=redact(self.rationale), objections=tuple(redact(o) for o in self.objections),
                       error=redact(self.error) if self.error else None)


def abstain(panelist: str, reason: str, *, recused: bool = False, error: bool = False) -> Proposal:
    return Proposal(panelist=panelist, resolutions=None, rationale=reason, recused=recused,
                    error=reason if error else None)


@dataclass(frozen=True)
class Candidate:
    """A distinct resolution on the table. Labels are stable across rounds: "A" is main's side
    of every hunk, "B" the branch's side, "C", "D", ... the other proposals in order of
    appearance (the decision's extra options)."""
    label: str
    resolutions: Mapping[str, str]
    supporters: tuple[str, ...] = ()
    confidence: float = 0.0


@dataclass(frozen=True)
class Round:
    number: int
    proposals: tuple[Proposal, ...]
    candidates: tuple[Candidate, ...]        # the candidates of this round, best first
    synthesis: Optional[Candidate]           # what the round proposes (may combine files of several candidates)
    confidence: float
    notes: tuple[str, ...] = field(default=())   # e.g. "gpt: rejected, python syntax error line 3"
    uncounted: tuple[str, ...] = field(default=())   # advocates whose vote for their own side did not count


@runtime_checkable
class Resolver(Protocol):
    """A panelist. `propose` must not raise for ordinary failures (it abstains instead) and
    must never put a secret into the proposal."""
    name: str

    def propose(self, context: ConflictContext, history: tuple[Round, ...]) -> Proposal: ...


def clamp(value: float) -> float:
    """A stated confidence as a number in 0..1 (anything else is 0)."""
    try:
        return max(0.0, min(1.0, float(value)))
    except (TypeError, ValueError):
        return 0.0
