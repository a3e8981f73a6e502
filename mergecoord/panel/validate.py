"""Checks a resolved text before anything is applied: no conflict markers, and it parses
where we can parse it (Python, JSON, TOML). Pure: never touches the file system."""

from __future__ import annotations

import ast
import json
import re
import tomllib

from .hunks import language_of

_MARKER = re.compile(r"^(<{7}|>{7}|\|{7})(\s|$)")
_SEPARATOR = re.compile(r"^={7}\s*$")


def conflict_marker_line(text: str, language: str = "text") -> int | None:
    """1-based line of the first conflict marker, or None.

    A lone "=======" is a setext heading underline in Markdown and reStructuredText, so it
    counts there only next to a real start/end marker.
    """
    lines = text.splitlines()
    hard = [n for n, line in enumerate(lines, 1) if _MARKER.match(line)]
    separators = [n for n, line in enumerate(lines, 1) if _SEPARATOR.match(line)]
    if language in ("markdown", "rst") and not hard:
        separators = []
    found = hard + separators
    return min(found) if found else None


def parse_data(language: str, text: str):
    """JSON or TOML text as data; ValueError when it does not parse. A JSON object that
    repeats a key is refused too: one of the values would silently win."""
    if language == "json":
        return json.loads(text, object_pairs_hook=_unique_keys)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


def _unique_keys(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen.add(key)
    return dict(pairs)


def validate_text(path: str, text: str) -> str | None:
    """None if `text` is a valid content for `path`, else a one-line reason."""
    language = language_of(path)
    line = conflict_marker_line(text, language)
    if line is not None:
        return f"conflict markers at line {line}"
    if language == "python":
        try:
            ast.parse(text, filename=path)
        except SyntaxError as exc:
            return f"python syntax error line {exc.lineno}: {exc.msg}"
        except ValueError as exc:          # e.g. null bytes
            return f"python source invalid: {exc}"
    elif language in ("json", "toml"):
        try:
            parse_data(language, text)
        except ValueError as exc:
            return f"{language} error: {exc}"
    return None
