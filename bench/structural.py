#!/usr/bin/env python3
"""What the structural strategy costs, and what the push path does not pay for it.

    bench/structural.py [--limit N]

1. Time per conflicted file of the real-conflict corpus (tests/realcorpus/) for the
   structural tier alone (`bytree.merge_by_tree`: parse three versions, merge, re-parse,
   validate), over the files with a grammar or a changelog, against the line strategies
   of the same built-in panelist on the same files (whitespace and union, hunk by hunk):
   median and p95 of each, and their ratio, measured side by side in one run.
2. The push path: the modules `import mergecoord.server.hook` loads (`python -X importtime`),
   beside those of the runner's panel; tree-sitter must appear only in the second.
"""

import argparse
import statistics
import subprocess
import sys
import time

from checkout import use_this_checkout


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def imports(module: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True)
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines()[1:] if line.startswith("import time:")}


def main() -> int:
    use_this_checkout("tree_sitter", tests=True)
    import real_conflicts
    import mergecoord.panel.builtin  # noqa: F401  (loads what the runner loads)
    from mergecoord.panel.bytree import merge_by_tree
    from mergecoord.panel.changelog import is_changelog
    from mergecoord.panel.grammars import grammar_name
    from mergecoord.panel.hunks import from_markers
    from mergecoord.panel.insertions import union_of_insertions
    from mergecoord.panel.whitespace import whitespace_equal

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="at most this many files (0: all)")
    args = parser.parse_args()

    files = [f for path in real_conflicts.repositories() for merge in real_conflicts.load(path)["merges"]
             for f in merge["files"] if grammar_name(f["path"]) or is_changelog(f["path"])]
    tree_times, line_times = [], []
    for f in files[:args.limit or None]:
        conflict = from_markers(f["path"], f["base"], f["ours"], f["theirs"], f["marked"])
        if conflict is None or not conflict.hunks:
            continue
        started = time.perf_counter()
        for hunk in conflict.hunks:
            whitespace_equal(conflict, hunk) or union_of_insertions(conflict, hunk)
        line_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        merge_by_tree(conflict)
        tree_times.append(time.perf_counter() - started)
    ms = lambda s: f"{s * 1000:7.1f} ms"
    print(f"{len(tree_times)} conflicted files with a grammar or a changelog")
    print(f"  structural tier:  median {ms(statistics.median(tree_times))}   p95 {ms(percentile(tree_times, 95))}")
    print(f"  line strategies:  median {ms(statistics.median(line_times))}   p95 {ms(percentile(line_times, 95))}")
    print(f"  ratio (structural / line), median: {statistics.median(tree_times) / statistics.median(line_times):.1f}x")

    hook, panel = imports("mergecoord.server.hook"), imports("mergecoord.panel.builtin")
    parsers = lambda mods: sorted(m for m in mods if m.startswith("tree_sitter"))
    print(f"push path (import mergecoord.server.hook): {len(hook)} modules, parsers: {parsers(hook) or 'none'}, "
          f"panel modules: {sorted(m for m in hook if m.startswith('mergecoord.panel')) or 'none'}")
    print(f"runner's panel (import mergecoord.panel.builtin): {len(panel)} modules, "
          f"parsers at import: {parsers(panel) or 'none (loaded on first use)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
