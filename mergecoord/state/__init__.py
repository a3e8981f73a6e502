"""Server-side state kept inside the bare repository's git dir (DESIGN.md §3).

Each module of this package owns one kind of state file; nothing else opens them.
Imported by the push hooks: only the standard library, and nothing heavy.
"""
