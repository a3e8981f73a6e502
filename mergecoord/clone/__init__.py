"""What runs in a worker's clone: the worker hooks (commit-msg, pre-push, post-merge),
the clone's settings and who the worker is, the inbox read from the fetched
`refs/mergecoord/state`, and the clone's end of `git merge-decide`.

The worker hooks import this package on every commit, push and pull: it stays free of
imports, and nothing here imports the server's modules (a clone reaches the central
repository only through git).
"""
