"""Strategy: both sides made the same change up to whitespace that cannot change meaning.

Python is compared token by token (whitespace inside strings and indentation are meaning),
JSON and TOML as data, free-form languages by words and symbols, everything else line by
line where only runs of blanks between words may differ. Pure.
"""

from __future__ import annotations

import io
import re
import tokenize
from typing import Optional

from .hunks import ConflictHunk, FileConflict
from .validate import parse_data

_WORDS = re.compile(r"\w+|[^\w\s]")
# Two operator characters with a blank between them may fuse into another operator once
# the blank goes ("a + +b" vs "a ++b"): free-form languages with those are not compared.
_FUSIBLE = re.compile(r"[-+*/%=<>!&|:.^?]\s+[-+*/%=<>!&|:.^?]")


_FREE_FORM = {"c", "cpp", "java", "javascript", "typescript", "go", "rust", "css"}


def whitespace_equal(conflict: FileConflict, hunk: ConflictHunk) -> Optional[tuple[str, ...]]:
    """Main's side when both sides differ only in whitespace that cannot change meaning."""
    ours, theirs = "".join(hunk.ours), "".join(hunk.theirs)
    if _WORDS.findall(ours) != _WORDS.findall(theirs):
        return None
    language = conflict.language
    quoted = re.search(r"[\"'`]", ours + theirs) is not None
    if language == "python":
        a = _python_tokens(conflict.render_one(hunk.index, "ours"))
        same = a is not None and a == _python_tokens(conflict.render_one(hunk.index, "theirs"))
    elif language in ("json", "toml"):
        try:
            same = (parse_data(language, conflict.render_one(hunk.index, "ours"))
                    == parse_data(language, conflict.render_one(hunk.index, "theirs")))
        except ValueError:
            same = False
    elif language in _FREE_FORM and not quoted:
        same = not (_FUSIBLE.search(ours) or _FUSIBLE.search(theirs))
    elif len(hunk.ours) != len(hunk.theirs):
        same = False
    elif quoted:
        # Whitespace inside quotes is data: only indentation and trailing blanks may differ
        # (and indentation only where it carries no meaning).
        same = all(x.strip() == y.strip() and (language in _FREE_FORM or _indent(x) == _indent(y))
                   for x, y in zip(hunk.ours, hunk.theirs))
    else:
        # Indentation can be meaning (Markdown lists, YAML, make), and so can a blank
        # between words in a shell line: only runs of blanks and trailing blanks may differ.
        same = all(_indent(x) == _indent(y) and x.split() == y.split()
                   for x, y in zip(hunk.ours, hunk.theirs))
    return hunk.ours if same else None


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _python_tokens(text: str) -> Optional[list[tuple[int, str]]]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    out = []
    for tok in tokens:
        if tok.type in (tokenize.NL, tokenize.ENDMARKER):
            continue
        keep_text = tok.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
        out.append((tok.type, tok.string if keep_text else ""))
    return out
