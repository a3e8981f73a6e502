#!/usr/bin/env python3
"""What running an agent CLI as a panelist costs the runner, side by side in one run.

    bench/agent_calls.py [--flood-mb 50] [--files 2000] [--calls 10]

1. Memory: an agent that prints --flood-mb MB. The runner's reader (mergecoord.child.run,
   which stops at 4 MiB and kills it) against reading it all (subprocess.run with
   capture_output, what the command panelist did before), each in a fresh interpreter:
   growth of peak RSS.
2. Time per call: a panelist call (prompt built, a throwaway copy of a checkout of --files
   files linked into a fresh tree, the allow-listed environment, the bounded run, the answer
   parsed) against running
   the same instant-answer agent bare with subprocess.run. A real agent takes seconds per
   call; the difference is what mergecoord adds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import ROOT, use_this_checkout

MEASURE = r'''
import resource, subprocess, sys
sys.path.insert(0, sys.argv[3])
from mergecoord import child
argv = [sys.executable, "-c", "import sys\nfor _ in range(%s): sys.stdout.buffer.write(b'x' * (1 << 20))" % sys.argv[2]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[1] == "child":
    child.run(argv, timeout=60)
else:
    subprocess.run(argv, capture_output=True, timeout=60).stdout.decode("utf-8", "replace")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
'''

AGENT = r'''
import json, sys
sys.stdin.read()
print(json.dumps({"vote": "propose", "hunks": {"a.py": ["X = 3\n"]}, "confidence": 0.9, "rationale": "bench"}))
'''


def grown_mb(how, megabytes):
    out = subprocess.run([sys.executable, "-c", MEASURE, how, str(megabytes), str(ROOT)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def per_call(files, calls):
    from mergecoord import child
    from mergecoord.panel.command import CommandPanelist
    from mergecoord.panel.hunks import ConflictContext, file_conflict
    from mergecoord.panel.prompt import PromptTemplates

    with tempfile.TemporaryDirectory() as temp:
        checkout = Path(temp) / "checkout"
        for i in range(files):
            path = checkout / f"pkg{i % 50}" / f"m{i}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"X = {i}\n" * 20)
            path.chmod(0o444)          # as resolution.checkout_for leaves them
        agent = Path(temp) / "agent.py"
        agent.write_text(AGENT)
        argv = [sys.executable, str(agent)]
        panelist = CommandPanelist(name="bench", command=argv, templates=PromptTemplates.load(ROOT / "templates" / "prompts"),
                                   env=child.environment(os.environ), timeout=60)
        context = ConflictContext("m-bench", "sprint/bench", "a", "b", "ours", "theirs",
                                  (file_conflict("a.py", "X = 0\n", "X = 1\n", "X = 2\n"),), workdir=str(checkout))
        panel_times, bare_times = [], []
        for _ in range(calls):       # interleaved: both sides see the same machine load
            started = time.perf_counter()
            proposal = panelist.propose(context, ())
            panel_times.append(time.perf_counter() - started)
            assert proposal.resolutions, proposal.error
            started = time.perf_counter()
            subprocess.run(argv, input=b"prompt", capture_output=True, check=True)
            bare_times.append(time.perf_counter() - started)
    return statistics.median(panel_times), statistics.median(bare_times)


def main():
    use_this_checkout()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-mb", type=int, default=50)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    bounded, unbounded = grown_mb("child", args.flood_mb), grown_mb("all", args.flood_mb)
    print(f"an agent printing {args.flood_mb} MB: peak RSS grows {bounded:.1f} MB with the bounded reader, "
          f"{unbounded:.1f} MB reading it all ({unbounded / max(bounded, 0.1):.0f}x)")
    panel, bare = per_call(args.files, args.calls)
    print(f"one panelist call, {args.files}-file checkout (median of {args.calls}): {panel * 1000:.0f} ms, "
          f"the bare agent {bare * 1000:.0f} ms: +{(panel - bare) * 1000:.0f} ms a call ({panel / bare:.2f}x)")
    print(json.dumps({"flood_mb": args.flood_mb, "rss_bounded_mb": round(bounded, 1),
                      "rss_unbounded_mb": round(unbounded, 1), "files": args.files,
                      "call_ms": round(panel * 1000, 1), "bare_ms": round(bare * 1000, 1)}))


if __name__ == "__main__":
    main()
