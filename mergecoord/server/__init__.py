"""What runs in the central bare repository: the push hooks, the runner that merges the
queue into main (its entry kinds, resolution, verification, recovery), the decisions a
human answers, the learning store, and telling the outside world (webhooks, the
published state ref).

The push hooks import this package on every push: it stays free of imports.
"""
