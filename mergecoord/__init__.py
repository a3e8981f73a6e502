"""mergecoord: merges READY branches of many parallel workers into main, one at a time.

This module is imported by the push hooks, so it must stay free of imports.
"""

__version__ = "0.1.0"
