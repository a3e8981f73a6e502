#!/usr/bin/env python3
"""Benchmark of the core loop, measured side by side in one run.

1. The cost of a push with mergecoord's hooks installed against the same push
   into a repository without them (median over --pushes pushes; the ratio and
   the added milliseconds are what matter: these machines are noisy).
2. Merge throughput of the runner against C git doing the same merges
   (`git merge-tree --write-tree`, `git commit-tree`, `git update-ref`), on a
   small repository and on one of --files files (default 20,000).

Run with the project's interpreter:  .venv/bin/python bench/core_loop.py
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import checkout
from checkout import ENV, use_this_checkout


def git(*args, cwd=None, input=None):
    return checkout.git(*args, cwd=cwd, input=input, text=False)


def mergecoord(*args):
    subprocess.run([sys.executable, "-m", "mergecoord", *map(str, args)], env=ENV, check=True,
                   capture_output=True)


def make_repo(path, files, dirs):
    """A bare repository whose main holds `files` files in `dirs` directories (via fast-import)."""
    git("init", "-q", "--bare", "--initial-branch=main", str(path))
    per_dir = max(1, files // dirs)
    lines = ["commit refs/heads/main", "committer Bench <bench@example.com> 1700000000 +0000",
             "data 7", "initial"]
    for i in range(files):
        body = f"file {i}\n" + "line\n" * 20
        lines += [f"M 100644 inline d{i // per_dir:04d}/f{i:05d}.txt", f"data {len(body.encode())}", body]
    git("fast-import", "--quiet", cwd=path, input=("\n".join(lines) + "\n").encode())
    git("gc", "-q", cwd=path)


def add_branches(path, count, dirs):
    """`count` READY branches, each editing one file in its own directory (via fast-import)."""
    main = git("rev-parse", "main", cwd=path).decode().strip()
    lines = []
    for b in range(count):
        msg = f"work {b}\n\nREADY_TO_MERGE\n"
        d = (b * 7) % dirs
        body = f"changed by branch {b}\n"
        lines += [f"commit refs/heads/sprint/b{b:03d}",
                  f"committer Bench <bench@example.com> {1700000100 + b} +0000",
                  f"data {len(msg)}", msg, f"from {main}",
                  f"M 100644 inline d{d:04d}/new{b:03d}.txt", f"data {len(body)}", body]
    git("fast-import", "--quiet", cwd=path, input=("\n".join(lines) + "\n").encode())
    return [f"sprint/b{b:03d}" for b in range(count)]


def bench_push(tmp, pushes, protect_main=False):
    tmp = tmp / ("protected" if protect_main else "open")
    tmp.mkdir()
    plain, hooked = tmp / "plain.git", tmp / "hooked.git"
    for repo in (plain, hooked):
        make_repo(repo, 50, 5)
    mergecoord("init", hooked)
    config = hooked / "mergecoord" / "config.toml"
    text = config.read_text().replace("# autostart = true", "autostart = false")
    if protect_main:           # every push is checked against main's protection
        text = text.replace("# protect_main = false", "protect_main = true")
    config.write_text(text)
    clone = tmp / "pusher"
    git("clone", "-q", str(plain), str(clone))
    git("remote", "add", "hooked", str(hooked), cwd=clone)
    git("fetch", "-q", "hooked", cwd=clone)
    times = {"plain": [], "hooked": []}
    for i in range(pushes):
        git("checkout", "-q", "-B", f"sprint/p{i}", "origin/main", cwd=clone)
        (clone / f"p{i}.txt").write_text(f"{i}\n")
        git("add", "-A", cwd=clone)
        git("commit", "-q", "-m", f"push {i}\n\nREADY_TO_MERGE", cwd=clone)
        order = ("plain", "hooked") if i % 2 else ("hooked", "plain")   # alternate to cancel drift
        for name in order:
            remote = "origin" if name == "plain" else "hooked"
            start = time.perf_counter()
            git("push", "-q", remote, f"sprint/p{i}", cwd=clone)
            times[name].append(time.perf_counter() - start)
    plain_ms = statistics.median(times["plain"]) * 1000
    hooked_ms = statistics.median(times["hooked"]) * 1000
    queued = len(__import__("json").loads((hooked / "mergecoord" / "queue.json").read_text())["entries"])
    label = "push with repo.protect_main" if protect_main else "push"
    print(f"{label}, median of {pushes}: without hooks {plain_ms:.1f} ms, with hooks {hooked_ms:.1f} ms "
          f"-> ratio {hooked_ms / plain_ms:.2f}, +{hooked_ms - plain_ms:.1f} ms per push "
          f"({queued} queued)")
    return hooked_ms - plain_ms


def bench_merges(tmp, label, files, dirs, branches, rounds=5):
    """Per-merge time of the runner against C git doing the same merges, in `rounds`
    alternating rounds of `branches` merges each (the order flips every round, so drift
    in the machine's load hits both sides alike); medians of the rounds."""
    from mergecoord import config as config_mod
    from mergecoord.central import locate
    from mergecoord.server.runner import Runner
    from mergecoord.state import queue

    base = tmp / f"{label}-base.git"
    make_repo(base, files, dirs)
    ours, theirs = tmp / f"{label}-mergecoord.git", tmp / f"{label}-git.git"
    names = add_branches(base, branches * rounds, dirs)
    for dest in (ours, theirs):
        shutil.copytree(base, dest)
    mergecoord("init", ours)
    central = locate(ours)

    def c_git(batch):
        start = time.perf_counter()
        for name in batch:
            main = git("rev-parse", "main", cwd=theirs).decode().strip()
            tree = git("merge-tree", "--write-tree", "main", name, cwd=theirs).decode().split()[0]
            commit = git("commit-tree", tree, "-p", main, "-p", name, "-m", f"Merge {name}",
                         cwd=theirs).decode().strip()
            git("update-ref", "refs/heads/main", commit, main, cwd=theirs)
        return (time.perf_counter() - start) / len(batch)

    def runner(batch):
        for name in batch:
            sha = git("rev-parse", name, cwd=ours).decode().strip()
            queue.enqueue(central, name, sha, "Bench")
        run = Runner(central, config_mod.load(central), echo=lambda line: None)
        start = time.perf_counter()
        outcomes = run.run(once=True)
        elapsed = (time.perf_counter() - start) / len(batch)
        assert sum(1 for _, o in outcomes if o.status == "merged") == len(batch), outcomes
        return elapsed

    times = {"git": [], "runner": []}
    for r in range(rounds):
        batch = names[r * branches:(r + 1) * branches]
        for side in (("git", "runner") if r % 2 == 0 else ("runner", "git")):
            times[side].append((c_git if side == "git" else runner)(batch))
    git_ms = statistics.median(times["git"]) * 1000
    ours_ms = statistics.median(times["runner"]) * 1000
    same = git("rev-parse", "main^{tree}", cwd=ours) == git("rev-parse", "main^{tree}", cwd=theirs)
    print(f"merges, {label} ({files} files, {rounds} rounds of {branches} branches): C git {git_ms:.1f} ms/merge, "
          f"mergecoord runner {ours_ms:.1f} ms/merge -> ratio {ours_ms / git_ms:.2f} "
          f"(medians of the rounds; final trees {'identical' if same else 'DIFFER'})")
    return ours_ms / git_ms


def main():
    use_this_checkout()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--branches", type=int, default=20, help="merges per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mergecoord-bench-"))
    try:
        bench_push(tmp, args.pushes)
        bench_push(tmp, args.pushes, protect_main=True)
        bench_merges(tmp, "small", 50, 5, args.branches, args.rounds)
        bench_merges(tmp, "large", args.files, 200, args.branches, args.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
