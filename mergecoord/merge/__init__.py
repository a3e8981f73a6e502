"""Merges computed by git (`git merge-tree --write-tree`), as plain data over a dulwich store."""
from .engine import (MergeError, MergeResult, PathConflict, Side, merge_bases, merge_commits,
                     merge_texts, merge_trees, path_bytes)

__all__ = ["Side", "PathConflict", "MergeResult", "MergeError", "merge_bases", "merge_commits",
           "merge_trees", "merge_texts", "path_bytes"]
