"""Pure merge logic over dulwich object stores."""

from .engine import MergeResult, PathConflict, Side, merge_bases, merge_commits, merge_trees

__all__ = ["MergeResult", "PathConflict", "Side", "merge_bases", "merge_commits", "merge_trees"]
