"""The corpus of real conflicts (tests/realcorpus/*.json.xz, made by bench/mine_corpus.py from
public histories) replayed through the built-in panelist, file by file and merge by merge.

Shared by tests/test_real_conflicts.py (zero wrong, and the figures) and bench/structural.py (the timings).
A settled file is *same* when it equals the merge commit's file, *equivalent* when
tests/realcorpus/equivalent.txt lists it with the reason, and *wrong* otherwise.
"""

from __future__ import annotations

import json
import lzma
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mergecoord.panel.builtin import resolve_file
from mergecoord.panel.changelog import is_changelog
from mergecoord.panel.grammars import grammar_name
from mergecoord.panel.hunks import from_markers, language_of
from mergecoord.panel.validate import validate_text

CORPUS = Path(__file__).parent / "realcorpus"


@dataclass(frozen=True)
class FileVerdict:
    repository: str
    commit: str
    path: str
    language: str
    verdict: str          # "same", "equivalent", "wrong" or "escalated"
    how: str


def repositories() -> list[Path]:
    return sorted(CORPUS.glob("*.json.xz"))


def load(path: Path) -> dict:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def equivalents() -> dict[tuple[str, str], str]:
    found = {}
    listing = CORPUS / "equivalent.txt"
    for line in listing.read_text().splitlines() if listing.exists() else ():
        if line.strip() and not line.startswith("#"):
            commit, path, reason = line.split(None, 2)
            found[(commit, path)] = reason
    return found


def kind_of(path: str) -> str:
    if is_changelog(path):
        return "changelog"
    return grammar_name(path) or language_of(path)


def judge(repository: str, merge: dict, known: dict) -> list[FileVerdict]:
    verdicts = []
    for f in merge["files"]:
        # exactly as the runner builds it: git's hunks, read off git's diff3-marked file
        conflict = from_markers(f["path"], f["base"], f["ours"], f["theirs"], f["marked"])
        if conflict is None or not conflict.hunks:
            verdicts.append(FileVerdict(repository, merge["commit"], f["path"], kind_of(f["path"]),
                                        "escalated", "git's hunks cannot be read back: for a human"))
            continue
        result = resolve_file(conflict)
        if isinstance(result, str) or validate_text(f["path"], result.text) is not None:
            verdict, how = "escalated", result if isinstance(result, str) else "invalid"
        elif result.text == f["human"]:
            verdict, how = "same", result.how
        elif (merge["commit"][:12], f["path"]) in known:
            verdict, how = "equivalent", result.how
        else:
            verdict, how = "wrong", result.how
        verdicts.append(FileVerdict(repository, merge["commit"], f["path"], kind_of(f["path"]), verdict, how))
    return verdicts


def replay(paths=None):
    """Every verdict, and the merges: conflicted, judged (no file left out because the human
    also edited what git had merged) and landed whole (every conflicted path a text file that
    was settled)."""
    known = equivalents()
    verdicts: list[FileVerdict] = []
    merges = Counter()
    for path in paths or repositories():
        document = load(path)
        name = document["repository"]
        for merge in document["merges"]:
            found = judge(name, merge, known)
            verdicts.extend(found)
            merges["conflicted"] += 1
            if merge["skipped"]:
                continue
            merges["judged"] += 1
            if not merge["other"] and found and all(v.verdict in ("same", "equivalent") for v in found):
                merges["landed"] += 1
    return verdicts, merges
