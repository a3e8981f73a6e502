#!/usr/bin/env python3
"""Benchmark: the cost of a push over smart HTTP with mergecoord's hooks against the
same push without them, measured side by side in one run.

Both repositories are served by one real web server on 127.0.0.1 (apache2 by default,
or nginx + fcgiwrap), configured with templates/http/, with basic auth; the hooked one
is set up with `mergecoord init` (runner.autostart off, so that no runner competes for
the CPU). Pushes alternate between the two to cancel drift; medians, their ratio and
the milliseconds the hooks add are printed. Needs the server installed (see
tests/webserver.py); run as root it serves as the user mergecoord-http.

    .venv/bin/python bench/http_push.py [--server apache2|nginx] [--pushes 40]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import ENV, ROOT, git, use_this_checkout


def main():
    use_this_checkout(tests=True)
    from webserver import WebServer, as_user, problem

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=("apache2", "nginx"), default="apache2")
    parser.add_argument("--pushes", type=int, default=40)
    args = parser.parse_args()
    reason = problem(args.server)
    if reason:
        sys.exit(f"bench/http_push.py: {args.server}: {reason}")
    repos = Path(tempfile.mkdtemp(prefix="mergecoord-bench-repos-"))
    work = Path(tempfile.mkdtemp(prefix="mergecoord-bench-"))
    repos.chmod(0o755)
    try:
        with WebServer(args.server, repos, {"bench": "bench-secret"}) as server:
            os.chown(repos, server.user.uid, server.user.gid)
            env = {"PATH": os.environ["PATH"], "HOME": str(server.work)}
            mc = str(ROOT / ".venv" / "bin" / "mergecoord")
            for name in ("plain.git", "hooked.git"):
                subprocess.run(as_user(server.user, ["git", "init", "-q", "--bare", "--initial-branch=main",
                                                     str(repos / name)]), env=env, check=True)
            subprocess.run(as_user(server.user, [mc, "init", str(repos / "hooked.git")]), env=env, check=True,
                           capture_output=True)
            config = repos / "hooked.git" / "mergecoord" / "config.toml"
            subprocess.run(as_user(server.user, ["tee", str(config)]), env=env, check=True, capture_output=True,
                           text=True, input=config.read_text().replace("# autostart = true", "autostart = false"))
            clone = work / "clone"
            git("init", "-q", "--initial-branch=main", str(clone))
            git("remote", "add", "plain", server.url("plain.git", "bench"), cwd=clone)
            git("remote", "add", "hooked", server.url("hooked.git", "bench"), cwd=clone)
            (clone / "README.md").write_text("# bench\n")
            git("add", "-A", cwd=clone)
            git("commit", "-q", "-m", "initial", cwd=clone)
            for remote in ("plain", "hooked"):
                git("push", "-q", remote, "main", cwd=clone)
            times = {"plain": [], "hooked": []}
            for i in range(args.pushes):
                git("checkout", "-q", "-B", f"sprint/p{i}", "main", cwd=clone)
                (clone / f"p{i}.txt").write_text(f"{i}\n")
                git("add", "-A", cwd=clone)
                git("commit", "-q", "-m", f"push {i}\n\nREADY_TO_MERGE", cwd=clone)
                for remote in (("plain", "hooked") if i % 2 else ("hooked", "plain")):
                    start = time.perf_counter()
                    git("push", "-q", remote, f"sprint/p{i}", cwd=clone)
                    times[remote].append(time.perf_counter() - start)
            queued = len(json.loads(subprocess.run([mc, "--repo", str(repos / "hooked.git"), "queue", "--json"],
                                                   capture_output=True, text=True).stdout)["entries"])
    finally:
        shutil.rmtree(repos, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    plain = statistics.median(times["plain"]) * 1000
    hooked = statistics.median(times["hooked"]) * 1000
    print(f"push over HTTP ({args.server}), median of {args.pushes}: without hooks {plain:.1f} ms, "
          f"with hooks {hooked:.1f} ms -> ratio {hooked / plain:.2f}, +{hooked - plain:.1f} ms per push "
          f"({queued} queued)")


if __name__ == "__main__":
    main()
