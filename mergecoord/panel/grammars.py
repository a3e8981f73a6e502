"""Which tree-sitter grammar parses a file, loaded on first use.

The grammars are the per-language wheels the tree-sitter project publishes on PyPI (each
ships its compiled parser, so nothing is downloaded at run time). tree-sitter is imported
here, inside `parser_for`, and only the structural strategy calls it: importing this module
costs nothing, and the push path (`mergecoord.server.hook`) never reaches it. Never raises for a
missing or broken grammar: the file is then simply not merged by structure.
"""

from __future__ import annotations

import importlib
import posixpath
from functools import lru_cache
from typing import Optional

# extension -> (grammar name, module, function returning the language pointer)
_BY_EXTENSION = {
    ".py": ("python", "tree_sitter_python", "language"), ".pyi": ("python", "tree_sitter_python", "language"),
    ".js": ("javascript", "tree_sitter_javascript", "language"),
    ".mjs": ("javascript", "tree_sitter_javascript", "language"),
    ".cjs": ("javascript", "tree_sitter_javascript", "language"),
    ".jsx": ("javascript", "tree_sitter_javascript", "language"),
    ".ts": ("typescript", "tree_sitter_typescript", "language_typescript"),
    ".mts": ("typescript", "tree_sitter_typescript", "language_typescript"),
    ".cts": ("typescript", "tree_sitter_typescript", "language_typescript"),
    ".tsx": ("tsx", "tree_sitter_typescript", "language_tsx"),
    ".go": ("go", "tree_sitter_go", "language"),
    ".rs": ("rust", "tree_sitter_rust", "language"),
    ".java": ("java", "tree_sitter_java", "language"),
    ".c": ("c", "tree_sitter_c", "language"), ".h": ("c", "tree_sitter_c", "language"),
    ".cc": ("cpp", "tree_sitter_cpp", "language"), ".cpp": ("cpp", "tree_sitter_cpp", "language"),
    ".cxx": ("cpp", "tree_sitter_cpp", "language"), ".hh": ("cpp", "tree_sitter_cpp", "language"),
    ".hpp": ("cpp", "tree_sitter_cpp", "language"), ".hxx": ("cpp", "tree_sitter_cpp", "language"),
    ".cs": ("c_sharp", "tree_sitter_c_sharp", "language"),
    ".rb": ("ruby", "tree_sitter_ruby", "language"), ".rake": ("ruby", "tree_sitter_ruby", "language"),
    ".gemspec": ("ruby", "tree_sitter_ruby", "language"),
    ".sh": ("bash", "tree_sitter_bash", "language"), ".bash": ("bash", "tree_sitter_bash", "language"),
    ".json": ("json", "tree_sitter_json", "language"),
    ".yml": ("yaml", "tree_sitter_yaml", "language"), ".yaml": ("yaml", "tree_sitter_yaml", "language"),
    ".toml": ("toml", "tree_sitter_toml", "language"),
}
_BY_NAME = {"Rakefile": ".rb", "Gemfile": ".rb", "Cargo.lock": ".toml"}

LANGUAGES = tuple(sorted({name for name, _, _ in _BY_EXTENSION.values()}))


def grammar_name(path: str) -> Optional[str]:
    """The grammar that parses `path`, or None when we have none for it."""
    found = _grammar(path)
    return found[0] if found else None


def _grammar(path: str):
    name = posixpath.basename(path)
    ext = _BY_NAME.get(name) or posixpath.splitext(name)[1].lower()
    return _BY_EXTENSION.get(ext)


def parser_for(path: str):
    """A tree-sitter parser for `path`, or None (no grammar for it, or it failed to load)."""
    found = _grammar(path)
    return _parser(*found) if found else None


@lru_cache(maxsize=None)
def _parser(name: str, module: str, function: str):
    try:
        import tree_sitter
        language = tree_sitter.Language(getattr(importlib.import_module(module), function)())
        return tree_sitter.Parser(language)
    except Exception:      # a grammar that is missing or does not load: no structural merge
        return None
