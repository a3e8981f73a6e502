"""Merge engine: git-compatible three-way merges over a dulwich object store."""
from .engine import MergeResult, PathConflict, Side, merge_bases, merge_commits, merge_trees

__all__ = ["Side", "PathConflict", "MergeResult", "merge_bases", "merge_commits", "merge_trees"]
