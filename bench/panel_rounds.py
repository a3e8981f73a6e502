#!/usr/bin/env python3
"""Panelists of one round are asked in parallel: a round costs the slowest panelist plus a
small overhead, not the sum of their latencies.

    bench/panel_rounds.py [--latencies 0.05,0.1,0.2,0.4] [--rounds 3] [--repeat 3]

Each panelist sleeps its fixed latency and proposes; they never agree, so every run goes the
full number of rounds. Prints per-run wall time per round against the slowest panelist.
"""

import argparse
import statistics
import time

from checkout import use_this_checkout


class FixedLatency:
    def __init__(self, name, latency):
        self.name, self.latency = name, latency

    def propose(self, context, history):
        from mergecoord.panel.resolver import Proposal

        time.sleep(self.latency)
        text = f"X = {self.name!r}  # round {len(history) + 1}\n"
        return Proposal(self.name, {"a.py": text}, 0.5, "fixed-latency panelist")


def main():
    use_this_checkout()
    from mergecoord.panel.consensus import settle
    from mergecoord.panel.hunks import ConflictContext, file_conflict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", default="0.05,0.1,0.2,0.4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    latencies = [float(x) for x in args.latencies.split(",")]
    panel = [FixedLatency(f"p{i}", latency) for i, latency in enumerate(latencies)]
    context = ConflictContext("m-bench", "sprint/bench", "a", "b", "ours", "theirs",
                              (file_conflict("a.py", "X = 0\n", "X = 1\n", "X = 2\n"),))
    slowest, total = max(latencies), sum(latencies)
    per_round = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        outcome = settle(context, panel, max_rounds=args.rounds)
        elapsed = time.perf_counter() - started
        assert len(outcome.rounds) == args.rounds and not outcome.resolved
        per_round.append(elapsed / args.rounds)
    median = statistics.median(per_round)
    print(f"panelists: {len(panel)} with latencies {', '.join(f'{x:g}s' for x in latencies)}")
    print(f"slowest panelist: {slowest:.3f}s   sum of latencies: {total:.3f}s")
    print(f"round (median of {args.repeat} runs x {args.rounds} rounds): {median:.3f}s")
    print(f"ratio round / slowest panelist: {median / slowest:.3f}x "
          f"(overhead {1000 * (median - slowest):.1f} ms; sequential would be {total / slowest:.2f}x)")


if __name__ == "__main__":
    main()
