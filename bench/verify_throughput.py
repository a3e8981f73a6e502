#!/usr/bin/env python3
"""Benchmark: how long a queue of verified merges takes to drain, sequentially, with
`verify.parallel = 4` and with `verify.batch = 4`, side by side in one run.

Each mode gets its own central repository with the same 20 READY branches (one small file
each) pushed in one `git push`; 2 of them are planted bad. The verify command is a check
bound by a sleep (2 s) that fails when the tree holds a bad branch's file. One `mergecoord
start --once` drains each queue; its wall time is measured, and each mode must end with
the same main content: every good branch, no bad one.

Run:  .venv/bin/python bench/verify_throughput.py [--branches 20] [--bad 6,14] [--sleep 2]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import ENV, git

MODES = (("sequential", ""), ("parallel = 4", "parallel = 4\n"), ("batch = 4", "batch = 4\n"))


def setup(tmp, name, settings, branches, bad, sleep):
    """A central repository for one mode (push_to_main's, runner autostart off), its queue
    filled with `branches`."""
    from push_to_main import setup as central_repository

    repo, seed = central_repository(tmp, name, autostart=False)
    config = repo / "mergecoord" / "config.toml"
    check = f"sleep {sleep}; ! ls work | grep -q bad"
    config.write_text(config.read_text().replace("[verify]\n", f"[verify]\ncommand = '{check}'\n{settings}", 1))
    for i in range(branches):
        name = f"bad{i:02d}" if i + 1 in bad else f"good{i:02d}"
        git("checkout", "-q", "-B", f"sprint/{name}", "origin/main", cwd=seed)
        (seed / "work").mkdir(exist_ok=True)
        (seed / "work" / f"{name}.txt").write_text(f"{name}\n")
        git("add", "-A", cwd=seed)
        git("commit", "-q", "-m", f"{name}\n\nREADY_TO_MERGE", cwd=seed)
    git("push", "-q", "origin", *[f"sprint/{'bad' if i + 1 in bad else 'good'}{i:02d}" for i in range(branches)],
        cwd=seed)
    return repo


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--bad", default="6,14", help="1-based positions of the bad branches in the queue")
    parser.add_argument("--sleep", type=float, default=2.0, help="seconds the verify command sleeps")
    args = parser.parse_args()
    from checkout import use_this_checkout

    use_this_checkout()
    mc = [sys.executable, "-m", "mergecoord"]
    bad = {int(n) for n in args.bad.split(",") if n}
    good = sorted(f"work/good{i:02d}.txt" for i in range(args.branches) if i + 1 not in bad)
    with tempfile.TemporaryDirectory(prefix="mergecoord-bench-") as tmp:
        tmp = Path(tmp)
        results = []
        for n, (mode, settings) in enumerate(MODES):
            repo = setup(tmp, f"mode{n}", settings, args.branches, bad, args.sleep)
            started = time.monotonic()
            subprocess.run(mc + ["--repo", str(repo), "start", "--once"], env=ENV, check=True,
                           capture_output=True)
            wall = time.monotonic() - started
            files = sorted(git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", "main", "work").split())
            merges = len(git("--git-dir", str(repo), "rev-list", "--first-parent", "--merges", "main").split())
            results.append((mode, wall, files, merges))
    base = results[0][1]
    print(f"{args.branches} branches, {len(bad)} bad (positions {sorted(bad)}), verify sleeps {args.sleep:g} s")
    print(f"{'mode':<14} {'wall':>8} {'ratio':>7}  main")
    for mode, wall, files, merges in results:
        content = "all good, no bad" if files == good else f"WRONG: {len(files)} files"
        print(f"{mode:<14} {wall:7.1f}s {wall / base:6.2f}x  {merges} merges, {content}")
    same = all(files == results[0][2] for _, _, files, _ in results)
    print("same main content in every mode:", "yes" if same else "NO")
    return 0 if same and results[0][2] == good else 1


if __name__ == "__main__":
    sys.exit(main())
