"""The consensus engine: rounds of proposals, candidate grouping, weighted confidence, a
synthesis per round, the threshold, and a transcript in the style of the team chat.

Pure orchestration over `Resolver`s: it knows nothing about which panelist is which, does no
I/O besides calling them (in parallel, one thread each), and never applies anything.

Confidence of a candidate (documented in the README):

    confidence(X) = sum(w_i * c_i for panelists i backing X) / sum(w_j for panelists j not recused)

w is a panelist's weight, c its stated confidence (0..1). Every panelist that abstains —
unsure, failed, timed out, answered garbage, or proposed something invalid — stays in the
denominator, so abstentions lower the confidence and one lone panelist cannot push a guess
through a larger panel. Only a *recusal* (a deterministic strategy saying "this conflict is
outside what I can settle mechanically") leaves the denominator, which is what lets the
built-in panel settle mechanical cases alone and lets LLMs settle semantic ones without the
built-in's silence vetoing them. With no one left voting, the confidence is 0.

The synthesis of a round takes, for every file, the text with the most weighted support;
its confidence is the lowest per-file confidence. For one-file conflicts it is simply the
best candidate.

Advocates (a panelist whose `advocate` attribute is "A" or "B": the worker who wrote that
side, speaking for it): an advocate's vote for its own side's text of a file counts only
when a neutral panelist backs the same text, or the synthesis of everyone else's votes
(the advocates' own-side votes left out) picks it. Otherwise the vote is shown and tallied
but adds no support, and the advocate stays in the denominator: two workers each voting
for their own work can never land anything on their own.
"""

from __future__ import annotations

import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Optional, Sequence

from .hunks import ConflictContext
from .resolver import Candidate, Proposal, Resolver, Round, abstain, clamp
from .transcript import header, one_line, render
from .validate import validate_text

__all__ = ["PanelOutcome", "Round", "Candidate", "Proposal", "Vote", "settle"]

Validator = Callable[[str, str], Optional[str]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Vote:
    """One panelist's stand in a round, as the decision box shows it."""
    panelist: str
    vote: str                   # a candidate label ("A", "B", "C", ...) or "abstain"
    confidence: float
    reason: str                 # one line: its rationale, or why it abstained
    advocate: str = ""          # the side it speaks for, "" for a neutral panelist
    counted: bool = True        # False: an advocate's vote for its own side that did not count
    recused: bool = False       # an abstention of a panelist with no competence here (not in the denominator)


@dataclass(frozen=True)
class PanelOutcome:
    resolved: bool
    resolutions: dict[str, str]
    confidence: float
    rounds: tuple[Round, ...]
    tally: dict[str, int]
    comment: str
    candidates: tuple[Candidate, ...]          # distinct proposals other than A/B, labelled C, D, ...
    winner: Optional[str] = None               # label of the applied candidate
    threshold: float = 0.85
    header: tuple[str, ...] = field(default=())
    advocates: Mapping[str, str] = field(default_factory=dict)     # panelist -> the side it speaks for

    def transcript(self) -> str:
        return render(self)

    def votes(self) -> tuple[Vote, ...]:
        """Every panelist's vote in the last round."""
        if not self.rounds:
            return ()
        last = self.rounds[-1]
        label_of = {name: c.label for c in last.candidates for name in c.supporters}
        out = []
        for p in last.proposals:
            label = label_of.get(p.panelist, "abstain")
            reason = p.rationale or p.error or ""
            if label == "abstain" and not p.abstained:
                reason = next((n.split(": ", 1)[-1] for n in last.notes if n.startswith(p.panelist + ":")), reason)
            out.append(Vote(p.panelist, label, clamp(p.confidence) if label != "abstain" else 0.0,
                            one_line(reason, 160), self.advocates.get(p.panelist, ""),
                            p.panelist not in last.uncounted, p.recused))
        return tuple(out)


def settle(context: ConflictContext, panel: Sequence[Resolver], *, threshold: float = 0.85,
           max_rounds: int = 3, validate: Validator = validate_text,
           weights: Optional[Mapping[str, float]] = None, on_round: Optional[Progress] = None) -> PanelOutcome:
    """Let the panel discuss `context` for up to `max_rounds` rounds.

    Resolved when a round's synthesis reaches `threshold`; only candidates whose every file
    passes `validate` can win. Stops early when a round repeats the previous one exactly, or
    after one round when every panelist is `deterministic` (they would only say the same
    thing again). `on_round(number, max_rounds)` is called as each round starts.
    """
    weight = {r.name: float((weights or {}).get(r.name, getattr(r, "weight", 1.0))) for r in panel}
    advocates = {r.name: r.advocate for r in panel if getattr(r, "advocate", None) in ("A", "B")}
    labels = _Labels(context)
    rounds: list[Round] = []
    seen: dict[str, Candidate] = {}
    for number in range(1, max_rounds + 1):
        if on_round is not None:
            on_round(number, max_rounds)
        history = tuple(rounds)
        proposals = _ask(panel, context, history)
        round_ = _judge(number, proposals, context, weight, labels, validate, advocates)
        rounds.append(round_)
        for candidate in round_.candidates + ((round_.synthesis,) if round_.synthesis else ()):
            seen[candidate.label] = candidate
        if round_.synthesis is not None and round_.confidence >= threshold:
            break
        if all(getattr(r, "deterministic", False) for r in panel):
            break
        if len(rounds) > 1 and _same_answers(rounds[-2], rounds[-1]):
            break
    last = rounds[-1]
    resolved = last.synthesis is not None and last.confidence >= threshold
    extra = tuple(seen[label] for label in sorted(seen, key=_label_order) if label not in ("A", "B"))
    return PanelOutcome(
        resolved=resolved,
        resolutions=dict(last.synthesis.resolutions) if resolved else {},
        confidence=last.confidence,
        rounds=tuple(rounds),
        tally=_tally(last),
        comment=_comment(last, resolved, threshold, len(rounds)),
        candidates=extra,
        winner=last.synthesis.label if resolved else None,
        threshold=threshold,
        header=header(context, advocates),
        advocates=advocates,
    )


def _ask(panel: Sequence[Resolver], context: ConflictContext, history: tuple[Round, ...]) -> list[Proposal]:
    # One thread per panelist: a round costs the slowest panelist, not the sum.
    def one(resolver: Resolver) -> Proposal:
        try:
            proposal = resolver.propose(context, history)
        except Exception as exc:   # a panelist that errs abstains; it never stops the panel
            redact = getattr(resolver, "redact", lambda text: text)
            return abstain(resolver.name, redact(f"failed: {type(exc).__name__}: {exc}"), error=True)
        if proposal.panelist != resolver.name:   # a panelist speaks only for itself
            proposal = replace(proposal, panelist=resolver.name)
        return proposal

    if not panel:
        return []
    with ThreadPoolExecutor(max_workers=len(panel)) as pool:
        return list(pool.map(one, panel))


class _Labels:
    """Stable labels for distinct resolutions: A = main's side everywhere, B = the branch's."""

    def __init__(self, context: ConflictContext):
        self._by_key: dict[tuple, str] = {}
        self._next = 0
        ours = {f.path: f.render({h.index: "ours" for h in f.hunks}) for f in context.files}
        theirs = {f.path: f.render({h.index: "theirs" for h in f.hunks}) for f in context.files}
        self._by_key.setdefault(_key(ours), "A")
        self._by_key.setdefault(_key(theirs), "B")
        # Each side's text of each file, normalised: what an advocate's own-side vote is.
        self.sides = {"A": {p: _normal(t) for p, t in ours.items()}, "B": {p: _normal(t) for p, t in theirs.items()}}

    def label(self, resolutions: Mapping[str, str]) -> str:
        key = _key(resolutions)
        if key not in self._by_key:
            self._by_key[key] = _nth_label(self._next)
            self._next += 1
        return self._by_key[key]


def _nth_label(n: int) -> str:
    letters = string.ascii_uppercase[2:]          # C..Z, then C2, D2, ...
    return letters[n % len(letters)] + (str(n // len(letters) + 1) if n >= len(letters) else "")


def _label_order(label: str) -> tuple[int, str]:
    return (len(label), label)


def _normal(text: str) -> str:
    # Proposals that differ only in trailing blanks are the same proposal.
    return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")


def _key(resolutions: Mapping[str, str]) -> tuple:
    return tuple(sorted((path, _normal(text)) for path, text in resolutions.items()))


def _judge(number: int, proposals: list[Proposal], context: ConflictContext,
           weight: Mapping[str, float], labels: _Labels, validate: Validator,
           advocates: Optional[Mapping[str, str]] = None) -> Round:
    paths = [f.path for f in context.files]
    notes: list[str] = []
    valid: list[Proposal] = []
    for p in proposals:
        if p.abstained:
            continue
        problem = _problem(p, paths, validate)
        if problem:
            notes.append(f"{p.panelist}: rejected, {problem}")
        else:
            valid.append(p)
    voting = sum(weight.get(p.panelist, 1.0) for p in proposals if not p.recused)

    def share(support: float) -> float:
        return min(1.0, support / voting) if voting > 0 else 0.0

    def strength(p: Proposal) -> float:
        return weight.get(p.panelist, 1.0) * clamp(p.confidence)

    counts = _advocacy(valid, paths, advocates or {}, labels.sides, strength)
    uncounted = tuple(p.panelist for p in valid if not all(counts(p, path) for path in paths))

    groups: dict[str, list[Proposal]] = {}
    texts: dict[str, Mapping[str, str]] = {}
    for p in valid:
        label = labels.label(p.resolutions)
        groups.setdefault(label, []).append(p)
        texts.setdefault(label, {path: p.resolutions[path] for path in paths})
    candidates = sorted(
        (Candidate(label=label, resolutions=texts[label], supporters=tuple(p.panelist for p in ps),
                   confidence=share(sum(strength(p) for p in ps if p.panelist not in uncounted)))
         for label, ps in groups.items()),
        key=lambda c: (-c.confidence, _label_order(c.label)))

    synthesis, confidence = None, 0.0
    chosen: dict[str, str] = {}
    backers: set[str] = set()
    per_file: list[float] = []
    for path in paths:
        support: dict[str, float] = {}
        first: dict[str, tuple[str, list[str]]] = {}
        for p in valid:
            if not counts(p, path):
                continue
            k = _normal(p.resolutions[path])
            support[k] = support.get(k, 0.0) + strength(p)
            first.setdefault(k, (p.resolutions[path], []))[1].append(p.panelist)
        if not support:
            break
        best = max(support, key=lambda k: support[k])   # first seen wins a tie: stable
        chosen[path] = first[best][0]
        backers.update(first[best][1])
        per_file.append(share(support[best]))
    if valid and len(per_file) == len(paths):
        confidence = min(per_file)
        label = labels.label(chosen)
        synthesis = Candidate(label=label, resolutions=chosen,
                              supporters=tuple(p.panelist for p in proposals if p.panelist in backers),
                              confidence=confidence)
    return Round(number=number, proposals=tuple(proposals), candidates=tuple(candidates),
                 synthesis=synthesis, confidence=confidence, notes=tuple(notes), uncounted=uncounted)


def _advocacy(valid: list[Proposal], paths: list[str], advocates: Mapping[str, str],
              sides: Mapping[str, Mapping[str, str]], strength: Callable[[Proposal], float]):
    """counts(proposal, path): whether the proposal's text for `path` adds support. An
    advocate's text that is its own side's counts only when a neutral panelist backs that
    text, or the synthesis of all other votes (own-side votes left out) picks it."""
    def own(p: Proposal, path: str) -> bool:
        side = advocates.get(p.panelist)
        return side is not None and _normal(p.resolutions[path]) == sides[side][path]

    agreed: set[tuple[str, str]] = set()
    for path in paths:
        support: dict[str, float] = {}
        for p in valid:
            if own(p, path):
                continue
            k = _normal(p.resolutions[path])
            support[k] = support.get(k, 0.0) + strength(p)
            if p.panelist not in advocates:
                agreed.add((path, k))
        if support:
            agreed.add((path, max(support, key=lambda k: support[k])))

    def counts(p: Proposal, path: str) -> bool:
        return not own(p, path) or (path, _normal(p.resolutions[path])) in agreed
    return counts


def _problem(p: Proposal, paths: list[str], validate: Validator) -> Optional[str]:
    for path in paths:
        if path not in p.resolutions:
            return f"no resolution for {path}"
        reason = validate(path, p.resolutions[path])
        if reason:
            return f"{path}: {reason}"
    return None


def _same_answers(a: Round, b: Round) -> bool:
    def sig(r: Round) -> list:
        return [(p.panelist, None if p.abstained else _key(p.resolutions), round(clamp(p.confidence), 3))
                for p in r.proposals]
    return sig(a) == sig(b)


def _tally(r: Round) -> dict[str, int]:
    tally: dict[str, int] = {}
    for c in sorted(r.candidates, key=lambda c: _label_order(c.label)):
        tally[c.label] = len(c.supporters)
    abstentions = len(r.proposals) - sum(tally.values())
    if abstentions:
        tally["abstain"] = abstentions
    return tally


def _comment(r: Round, resolved: bool, threshold: float, rounds: int) -> str:
    if resolved:
        return (f"Consensus on {r.synthesis.label}: backed by {', '.join(r.synthesis.supporters)} "
                f"({r.confidence:.0%}) in round {r.number}")
    if not r.candidates:
        reasons = "; ".join(p.rationale for p in r.proposals if p.rationale)[:200]
        return f"No panelist proposed a valid resolution ({reasons or 'empty panel'})"
    if len(r.candidates) > 1:
        votes = ", ".join(f"{c.label} {len(c.supporters)}" for c in r.candidates)
        return f"Panel split ({votes}); best confidence {r.confidence:.0%} below threshold {threshold:.0%}"
    return (f"Only {', '.join(r.candidates[0].supporters)} backed {r.candidates[0].label}; "
            f"confidence {r.confidence:.0%} below threshold {threshold:.0%} after {rounds} round(s)")
