#!/usr/bin/env python3
"""Benchmark: how long from `git push` of a READY branch until main holds its merge,
measured side by side in one run, three ways:

1. autostart: the push hook starts a `mergecoord start --once` runner (the default);
2. service: a serving runner (`mergecoord start`, as the systemd unit runs it) that the
   push hook wakes through <repo.git>/mergecoord/wake;
3. service, poll only: the same runner with its wake FIFO taken away, so it only looks
   every runner.poll_interval (2 s), as serving runners did before the wake-up.

Pushes rotate between the three repositories to cancel drift; medians and ratios to
autostart are printed. Run:  .venv/bin/python bench/push_to_main.py [--pushes 20]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import ENV, git

ROOT = Path(__file__).resolve().parent.parent
MC = [sys.executable, "-m", "mergecoord"]


def main_ref(repo):
    """main's commit, read as git stores it (cheaper than a git process per look)."""
    try:
        return (repo / "refs" / "heads" / "main").read_text().strip()
    except FileNotFoundError:
        return ""


def listening(repo):
    """Whether a serving runner holds the repository's wake FIFO open."""
    try:
        os.close(os.open(repo / "mergecoord" / "wake", os.O_WRONLY | os.O_NONBLOCK))
        return True
    except OSError:
        return False


def setup(tmp, name, autostart):
    repo = tmp / f"{name}.git"
    subprocess.run(MC + ["init", "--create", str(repo)], env=ENV, check=True, capture_output=True)
    config = repo / "mergecoord" / "config.toml"
    if not autostart:
        config.write_text(config.read_text().replace("# autostart = true", "autostart = false"))
    seed = tmp / f"{name}-seed"
    git("clone", "-q", str(repo), str(seed))
    (seed / "README.md").write_text("# bench\n")
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "initial", cwd=seed)
    git("push", "-q", "origin", "HEAD:main", cwd=seed)
    return repo, seed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mergecoord-bench-") as tmp:
        tmp = Path(tmp)
        setups = {"autostart": setup(tmp, "autostart", True), "service": setup(tmp, "service", False),
                  "service, poll only": setup(tmp, "poll", False)}
        runners = []
        for name in ("service", "service, poll only"):
            repo = setups[name][0]
            runners.append(subprocess.Popen(MC + ["--repo", str(repo), "start"], env=ENV,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            while not listening(repo):
                time.sleep(0.01)
        os.unlink(setups["service, poll only"][0] / "mergecoord" / "wake")   # the runner keeps polling
        times = {name: [] for name in setups}
        try:
            for i in range(args.pushes):
                names = list(setups)
                names = names[i % 3:] + names[:i % 3]
                for name in names:
                    repo, clone = setups[name]
                    git("checkout", "-q", "-B", f"sprint/p{i}", "origin/main", cwd=clone)
                    (clone / f"p{i}.txt").write_text(f"{i}\n")
                    git("add", "-A", cwd=clone)
                    git("commit", "-q", "-m", f"push {i}\n\nREADY_TO_MERGE", cwd=clone)
                    before = main_ref(repo)
                    start = time.perf_counter()
                    git("push", "-q", "origin", f"sprint/p{i}", cwd=clone)
                    deadline = start + 60
                    while main_ref(repo) == before:
                        if time.perf_counter() > deadline:
                            sys.exit(f"bench/push_to_main.py: {name}: no merge within a minute")
                        time.sleep(0.001)
                    times[name].append(time.perf_counter() - start)
                    git("fetch", "-q", "origin", cwd=clone)
                    time.sleep(0.1)         # let an autostarted runner exit before the next push
        finally:
            for proc in runners:
                proc.terminate()
                proc.wait()
    base = statistics.median(times["autostart"])
    print(f"push -> main holds the merge, median of {args.pushes} each:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<20} {median * 1000:8.1f} ms   ratio to autostart {median / base:.2f}")


if __name__ == "__main__":
    main()
