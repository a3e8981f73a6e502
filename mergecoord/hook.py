"""The entry point of server hooks installed by mergecoord before its package was laid out
by place: their launchers run `from mergecoord.hook import main`. Launchers installed now
enter at `mergecoord.server.hook`; this alias keeps the older ones queueing pushes and
checking answers until `mergecoord init` replaces them. It imports only that module."""

from .server.hook import main

__all__ = ["main"]
