"""The entry point of worker hooks installed by mergecoord before its package was laid out
by place: their launchers run `from mergecoord.workerhook import main`. Launchers
installed now enter at `mergecoord.clone.hooks`; this alias keeps the older ones working
until `mergecoord install-hooks` replaces them. It imports only that module."""

from .clone.hooks import main

__all__ = ["main"]
