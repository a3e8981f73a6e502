#!/usr/bin/env python3
"""Mine real merge conflicts from a public repository's history into a corpus file.

    bench/mine_corpus.py GIT_DIR OUT.json.xz [--merges N] [--max-files N] [--name owner/name]

For each of the newest N two-parent merge commits reachable from the repository's branches,
`git merge-tree --write-tree` merges the two parents exactly as the runner does (git's own
verdict, its own merge base); every path git leaves conflicted is recorded. A conflicted text
file with both sides present becomes a corpus file: base (stage 1, empty for add/add), ours
(stage 2, the first parent: the mainline), theirs (stage 3, the merged branch), git's file
with diff3 markers (the style the runner reads hunks from), and the merge commit's version as the human's resolution.

What is kept, and why (the rule the corpus test relies on):
- a file is kept only when the human's version is a plausible resolution of *this*
  conflict: everything git merged cleanly (the text outside the conflict regions) is in the
  human's file unchanged and in order. A merge commit that also edited lines git had merged
  cleanly ("evil merge") says nothing about how the conflict should be settled; such a file
  is listed as `skipped` with the reason, and its merge is not counted for "landed whole";
- a human version that still holds conflict markers is no resolution at all: skipped too;
- binary files, files over 256 KiB, non-UTF-8 text, files the human deleted, and paths in
  other kinds of conflict (modify/delete, rename, mode, submodule) are not corpus files; they
  are counted in `other` so a merge holding one can never count as landed whole;
- merges with more than --max-files conflicted paths (mass forward-merges) are left out.

Only this repository's objects are read; nothing is built or run. The output is one
xz-compressed JSON document, small because the four versions of a file compress together.
"""

from __future__ import annotations

import argparse
import json
import lzma
import subprocess
import sys
import time

from checkout import use_this_checkout

MAX_BYTES = 256 * 1024


def git(git_dir: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "--git-dir", git_dir, *args], capture_output=True, check=check)


def blob(git_dir: str, spec: str) -> bytes | None:
    result = git(git_dir, "cat-file", "blob", spec, check=False)
    return result.stdout if result.returncode == 0 else None


def text_of(data: bytes | None) -> str | None:
    if data is None or len(data) > MAX_BYTES or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def merge_tree(git_dir: str, ours: str, theirs: str):
    """(tree, {path: {stage: (mode, oid)}}) of git's merge, or None when it is clean."""
    result = git(git_dir, "-c", "merge.conflictStyle=diff3", "merge-tree", "--write-tree", "-z",
                 "--no-messages", ours, theirs, check=False)
    if result.returncode == 0:
        return None
    if result.returncode != 1:
        raise RuntimeError(result.stderr.decode(errors="replace").strip())
    fields = result.stdout.split(b"\0")
    tree = fields[0].decode()
    stages: dict[str, dict[int, tuple[str, str]]] = {}
    for field in fields[1:]:
        if not field:
            break
        info, path = field.split(b"\t", 1)
        mode, oid, stage = info.decode().split()
        stages.setdefault(path.decode("utf-8", "surrogateescape"), {})[int(stage)] = (mode, oid)
    return tree, stages


def regions(marked: str):
    """git's file with markers as a list of clean segments (lists of lines) between conflict
    regions, or None when the markers cannot be read unambiguously."""
    segments, current, depth = [], [], 0
    for line in marked.splitlines(keepends=True):
        if line.startswith("<<<<<<< "):
            if depth:
                return None
            depth = 1
            segments.append(current)
            current = []
        elif line.startswith(">>>>>>> "):
            if not depth:
                return None
            depth = 0
        elif not depth:
            current.append(line)
    if depth:
        return None
    segments.append(current)
    return segments


def plausible(marked: str, human: str) -> bool:
    """Everything git merged cleanly is in the human's file, unchanged and in order: the file's
    first and last clean segments are its very start and end (the structural tier's own test
    of a merged file, `bytree.keeps_segments`)."""
    from mergecoord.panel.bytree import keeps_segments

    segments = regions(marked)
    return segments is not None and len(segments) >= 2 and keeps_segments(segments, human)


def mine(git_dir: str, merges: int, max_files: int, log=sys.stderr):
    commits = git(git_dir, "rev-list", "--merges", "--branches", "--date-order", f"--max-count={merges}",
                  "--parents").stdout.decode().split("\n")
    found = []
    started = time.monotonic()
    for n, line in enumerate(commits, 1):
        parts = line.split()
        if len(parts) != 3:
            continue
        merge, ours, theirs = parts
        try:
            outcome = merge_tree(git_dir, ours, theirs)
        except RuntimeError as exc:
            print(f"{merge}: merge-tree failed: {exc}", file=log)
            continue
        if outcome is None:
            continue
        tree, stages = outcome
        if len(stages) > max_files:
            continue
        entry = {"commit": merge, "paths": len(stages), "files": [], "skipped": [], "other": []}
        for path, by_stage in sorted(stages.items()):
            modes = {mode for mode, _ in by_stage.values()}
            if 2 not in by_stage or 3 not in by_stage or not modes <= {"100644", "100755"}:
                entry["other"].append(path)
                continue
            sides = [text_of(blob(git_dir, by_stage[s][1])) if s in by_stage else "" for s in (1, 2, 3)]
            human = text_of(blob(git_dir, f"{merge}:{path}"))
            marked = text_of(blob(git_dir, f"{tree}:{path}"))
            if any(s is None for s in sides) or marked is None:
                entry["other"].append(path)
                continue
            if human is None:
                entry["skipped"].append({"path": path, "why": "the human deleted it or it is not text"})
                continue
            if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in human.splitlines()):
                entry["skipped"].append({"path": path, "why": "the human committed conflict markers"})
                continue
            if not plausible(marked, human):
                entry["skipped"].append({"path": path, "why": "the human also changed lines git had merged"})
                continue
            base, ours_text, theirs_text = sides
            entry["files"].append({"path": path, "base": base, "ours": ours_text, "theirs": theirs_text,
                                   "marked": marked, "human": human})
        found.append(entry)
        if n % 250 == 0:
            print(f"{n} merges read, {len(found)} conflicted, {time.monotonic() - started:.0f}s", file=log)
    return found


def main(argv=None) -> int:
    use_this_checkout()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("git_dir")
    parser.add_argument("out")
    parser.add_argument("--merges", type=int, default=3000, help="newest merge commits to read")
    parser.add_argument("--max-files", type=int, default=30, help="leave out merges with more conflicted paths")
    parser.add_argument("--name", default="", help="owner/name recorded in the corpus")
    args = parser.parse_args(argv)
    found = mine(args.git_dir, args.merges, args.max_files)
    document = {"repository": args.name, "merges_read": args.merges, "merges": found}
    with lzma.open(args.out, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as out:
        json.dump(document, out, ensure_ascii=False, separators=(",", ":"))
    files = sum(len(m["files"]) for m in found)
    print(f"{args.name or args.git_dir}: {len(found)} conflicted merges, {files} corpus files -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
