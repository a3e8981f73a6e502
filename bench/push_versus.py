#!/usr/bin/env python3
"""The cost of a push under this checkout's hooks against another checkout's, side by side.

Three bare repositories (no hooks; set up by OTHER; set up by this checkout) get the same
READY branch pushed in turn, in alternating order, --pushes times; the medians and the
overhead of each set of hooks over the plain push are printed. OTHER is a directory
holding another version of mergecoord (e.g. `git archive main | tar -x -C /tmp/main`); its
code runs with this project's interpreter.

    .venv/bin/python bench/push_versus.py /tmp/main [--pushes 40] [--protect-main]
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
from checkout import ENV

HERE = Path(__file__).resolve().parent.parent


def git(*args, cwd=None):
    return checkout.git(*args, cwd=cwd, text=False)


def set_up(repo, checkout, protect_main):
    """`mergecoord init` run from `checkout`, so that its code and hooks are the ones used."""
    subprocess.run([sys.executable, "-m", "mergecoord", "init", str(repo)], cwd=checkout, env=ENV, check=True,
                   capture_output=True)
    config = repo / "mergecoord" / "config.toml"
    text = config.read_text().replace("# autostart = true", "autostart = false")
    if protect_main:
        text = text.replace("# protect_main = false", "protect_main = true")
    config.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="another mergecoord checkout")
    parser.add_argument("--pushes", type=int, default=40)
    parser.add_argument("--protect-main", action="store_true", help="with repo.protect_main = true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mergecoord-bench-"))
    try:
        repos = {"no hooks": tmp / "plain.git", str(args.other): tmp / "other.git", "this checkout": tmp / "this.git"}
        for repo in repos.values():
            git("init", "-q", "--bare", "--initial-branch=main", str(repo))
        set_up(repos[str(args.other)], args.other, args.protect_main)
        set_up(repos["this checkout"], HERE, args.protect_main)
        clone = tmp / "pusher"
        git("init", "-q", "-b", "main", str(clone))
        (clone / "README").write_text("bench\n")
        git("add", "-A", cwd=clone)
        git("commit", "-q", "-m", "initial", cwd=clone)
        for name, repo in repos.items():
            git("remote", "add", f"r{list(repos).index(name)}", str(repo), cwd=clone)
            git("push", "-q", f"r{list(repos).index(name)}", "HEAD:main", cwd=clone)
        times = {name: [] for name in repos}
        for i in range(args.pushes):
            git("checkout", "-q", "-B", f"sprint/p{i}", "main", cwd=clone)
            (clone / f"p{i}.txt").write_text(f"{i}\n")
            git("add", "-A", cwd=clone)
            git("commit", "-q", "-m", f"push {i}\n\nREADY_TO_MERGE", cwd=clone)
            order = list(repos) if i % 2 else list(reversed(repos))       # alternate to cancel drift
            for name in order:
                start = time.perf_counter()
                git("push", "-q", f"r{list(repos).index(name)}", f"sprint/p{i}", cwd=clone)
                times[name].append(time.perf_counter() - start)
        median = {name: statistics.median(t) * 1000 for name, t in times.items()}
        plain = median["no hooks"]
        print(f"push{' with repo.protect_main' if args.protect_main else ''}, median of {args.pushes}: "
              + ", ".join(f"{name} {ms:.1f} ms" + ("" if name == "no hooks" else f" (+{ms - plain:.1f})")
                          for name, ms in median.items())
              + f" -> this checkout / other {median['this checkout'] / median[str(args.other)]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
