#!/usr/bin/env python3
"""Replay a repository's merge commits through mergecoord's merge and print counts.

For every two-parent merge commit (newest first, up to --limit), the two parents are merged
again with `mergecoord.merge.merge_commits` (git merge-tree). The script checks that:
  - the conflicted paths are exactly those `git merge-tree --name-only` lists;
  - the paths the panel gets (`conflicts.conflict_files`) are exactly git's text
    conflicts, or none (the merge goes to a human) and never fewer files than git reports;
  - every text conflict's hunks are derived faithfully: each hunk's sides are runs of
    stages 1/2/3 and the clean text between hunks comes from them; and where neither side
    changed anything git merged cleanly, taking "ours" (or "theirs") in every hunk gives
    back stage 2 (or 3) byte for byte.

    .venv/bin/python bench/real_history.py REPO.git [--limit 2000]

Runs on a copy-free bare repository path (objects the merges write are loose and
unreferenced; `git gc` prunes them). Prints one summary line per repository.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from checkout import use_this_checkout


def merges(repo, limit):
    from mergecoord.merge.engine import git_env

    out = subprocess.run(["git", "--git-dir", repo, "log", "--all", "--merges", "--format=%H %P",
                          f"-n{limit}"], capture_output=True, text=True, env=git_env(), check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            yield parts[1].encode(), parts[2].encode()


def git_paths(repo, ours, theirs):
    from mergecoord.merge.engine import git_env

    proc = subprocess.run(["git", "--git-dir", repo, "merge-tree", "--write-tree", "--name-only", "-z",
                           ours.decode(), theirs.decode()], capture_output=True, env=git_env())
    fields = proc.stdout.split(b"\0")
    paths = []
    for field in fields[1:]:
        if not field:
            break
        paths.append(field.decode("utf-8", "surrogateescape"))
    return proc.returncode == 0, tuple(sorted(set(paths)))


def main():
    use_this_checkout()
    from dulwich.repo import Repo

    from mergecoord.merge import MergeError, merge_commits
    from mergecoord.merge.engine import marked_texts
    from mergecoord.server.conflicts import file_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo")
    parser.add_argument("--limit", type=int, default=2000)
    args = parser.parse_args()
    store = Repo(args.repo).object_store
    counts = dict(merges=0, refused=0, conflicted=0, same_paths=0, text_files=0, derived=0, not_utf8=0,
                  panel_exact=0, to_human=0, roundtrip_ok=0, mismatches=0)
    start = time.perf_counter()
    for ours, theirs in merges(args.repo, args.limit):
        counts["merges"] += 1
        try:
            result = merge_commits(store, ours, theirs)
        except MergeError:
            counts["refused"] += 1          # unrelated histories: git refuses, and so do we
            continue
        clean, paths = git_paths(args.repo, ours, theirs)
        if (result.clean, result.conflicted_paths) == (clean, paths):
            counts["same_paths"] += 1
        else:
            counts["mismatches"] += 1
            print(f"  differs from git: {ours.decode()[:10]} {theirs.decode()[:10]}", file=sys.stderr)
        if result.clean:
            continue
        counts["conflicted"] += 1
        marked = marked_texts(store, result)
        texts = [c for c in result.conflicts if c.textual]
        derived = {}
        for c in texts:
            counts["text_files"] += 1
            data = [store[s.sha].data if s else b"" for s in (c.base, c.ours, c.theirs)]
            if any(b"\0" in d[:8000] for d in data) or not all(_utf8(d) for d in data):
                counts["not_utf8"] += 1
                continue
            f = file_of(store, c, marked.get(c.path))
            if f is None:
                continue
            counts["derived"] += 1
            derived[c.path] = f
            every = range(len(f.hunks))
            ours_all, theirs_all = f.render(dict.fromkeys(every, "ours")), f.render(dict.fromkeys(every, "theirs"))
            # Exact where neither side changed anything git merged cleanly; elsewhere each
            # hunk's sides were checked to be runs of the stages (from_markers).
            if ours_all == f.ours and theirs_all == f.theirs:
                counts["roundtrip_ok"] += 1
        everything_text = all(c.textual for c in result.conflicts)
        if everything_text and len(derived) == len(texts):
            counts["panel_exact"] += 1          # the panel gets exactly git's conflicted paths
        else:
            counts["to_human"] += 1
    seconds = time.perf_counter() - start
    print(f"{Path(args.repo).resolve()}: {counts['merges']} merges in {seconds:.0f} s; "
          f"verdict and conflicted paths equal to git merge-tree: {counts['same_paths']}/"
          f"{counts['merges'] - counts['refused']} ({counts['refused']} unrelated histories refused); "
          f"{counts['conflicted']} conflicted merges, {counts['text_files']} text-conflicted files "
          f"({counts['not_utf8']} binary or not UTF-8); hunks derived faithfully for "
          f"{counts['derived']}/{counts['text_files'] - counts['not_utf8']}; "
          f"all-ours/all-theirs give stages 2/3 byte for byte on {counts['roundtrip_ok']} of them "
          f"(the rest also carry clean changes of the other side); panel got exactly git's paths on "
          f"{counts['panel_exact']} merges, {counts['to_human']} went to a human")


def _utf8(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


if __name__ == "__main__":
    main()
