"""Differential test of the merge engine against ``git merge-tree --write-tree``.

For each pair of commits, merge with the engine and with C git and compare the verdict
(clean or conflicted), the conflicted paths and, for clean merges, the tree id.  Used by
``tests/test_difftest.py`` (generated histories) and ``bench/difftest`` (generated or any
existing repository).  Runs git as a subprocess; the engine itself stays pure.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from .engine import merge_commits

GIT_ENV = {
    "GIT_AUTHOR_NAME": "difftest", "GIT_AUTHOR_EMAIL": "difftest@example.invalid",
    "GIT_COMMITTER_NAME": "difftest", "GIT_COMMITTER_EMAIL": "difftest@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
}


def git_env() -> dict:
    env = dict(os.environ)
    env.update(GIT_ENV)
    return env


@dataclass(frozen=True)
class GitMerge:
    tree: bytes
    clean: bool
    paths: tuple


@dataclass(frozen=True)
class Comparison:
    ours: bytes
    theirs: bytes
    outcome: str          # "match", or the mismatch class (see classify)
    git: GitMerge
    engine_clean: bool
    engine_paths: tuple
    engine_tree: bytes
    engine_seconds: float
    git_seconds: float
    bases: int = 1             # merge bases the engine used (>1: criss-cross, virtual base)
    kinds: tuple = ()          # conflict kinds the engine reported


def git_merge_tree(repo_path, ours: bytes, theirs: bytes, env=None) -> GitMerge:
    out = subprocess.run(
        ["git", "merge-tree", "--write-tree", "--name-only", "-z", "--allow-unrelated-histories",
         ours.decode(), theirs.decode()],
        cwd=repo_path, env=env or git_env(), capture_output=True)
    if out.returncode not in (0, 1):
        raise RuntimeError(out.stderr.decode(errors="replace").strip())
    fields = out.stdout.split(b"\0")
    paths = []
    for f in fields[1:]:
        if not f:
            break
        paths.append(f.decode("utf-8", "surrogateescape"))
    return GitMerge(fields[0].strip(), out.returncode == 0, tuple(sorted(set(paths))))


def classify(git: GitMerge, clean: bool, paths: tuple, tree: bytes) -> str:
    if git.clean and clean:
        return "match" if git.tree == tree else "clean-tree-differs"
    if not git.clean and clean:
        return "SILENT-MERGE"  # the one class that must never happen
    if git.clean and not clean:
        return "spurious-conflict"
    return "match" if git.paths == paths else "conflicted-paths-differ"


def compare(repo, ours: bytes, theirs: bytes, env=None) -> Comparison:
    """Merge ours and theirs both ways; labels are the commit ids, as given to git."""
    t0 = time.perf_counter()
    res = merge_commits(repo.object_store, ours, theirs, labels=(ours.decode(), theirs.decode()))
    t1 = time.perf_counter()
    git = git_merge_tree(repo.path, ours, theirs, env)
    t2 = time.perf_counter()
    paths = res.conflicted_paths
    outcome = classify(git, res.clean, paths, res.tree)
    return Comparison(ours, theirs, outcome, git, res.clean, paths, res.tree, t1 - t0, t2 - t1,
                      len(res.bases), tuple(sorted({c.kind for c in res.conflicts})))


def run_generated(workdir, seed: int, n_commits: int = 40, n_pairs: int = 30) -> list:
    """Generate a seeded history in a fresh bare repo under workdir and compare n_pairs merges."""
    from dulwich.repo import Repo

    from .histgen import HistoryGenerator

    path = os.path.join(str(workdir), f"gen-{seed}.git")
    env = git_env()
    subprocess.run(["git", "init", "-q", "--bare", path], check=True, env=env)
    repo = Repo(path)
    gen = HistoryGenerator(repo, seed, env)
    gen.generate(n_commits)
    return [compare(repo, a, b, env) for a, b in gen.pairs(n_pairs)]


def merge_pairs_of_history(repo, limit: int | None = None) -> list:
    """(first parent, second parent) of every two-parent merge commit reachable from HEADs."""
    out = subprocess.run(["git", "rev-list", "--merges", "--parents", "--all"],
                         cwd=repo.path, capture_output=True, check=True, env=git_env())
    pairs = []
    for line in out.stdout.split(b"\n"):
        ids = line.split()
        if len(ids) == 3:
            pairs.append((ids[1], ids[2]))
    return pairs[:limit] if limit else pairs
