"""The kinds of queue entry the runner merges: a pushed branch, a human's decision, a rollback."""
