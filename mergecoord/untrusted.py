"""The one gate for showing text that a push carried: branch names, author names,
subjects, file paths, answers, verify and panel output.

Everything a push carries is hostile. An escape sequence in a branch name can retitle
the operator's window, write to their clipboard (OSC 52) or hide the rest of a line; a
right-to-left override can make one name look like another. `printable` shows such
characters as visible escapes instead, so every byte is still accounted for and nothing
drives the terminal. Standard library only: the push hooks use it.
"""

import sys

_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}


def printable(text, *, multiline=False):
    """`text` (str, or bytes read as UTF-8) with every character that is not printable
    shown as an escape: C0 and C1 controls and DEL as ``\\xNN``, a byte that is not UTF-8
    as ``\\xNN`` of that byte, invisible format characters and line separators as
    ``\\uNNNN``. With `multiline`, newlines and tabs are kept as they are."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "surrogateescape")
    elif not isinstance(text, str):
        text = str(text)
    if text.isprintable():
        return text
    return "".join(_shown(c, multiline) for c in text)


def _shown(c, multiline):
    if c.isprintable():
        return c
    if multiline and c in "\n\t":
        return c
    if c in _ESCAPES:
        return _ESCAPES[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:          # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def say(message):
    """One line for the person at the other end of a hook (the pusher, the committer), as
    `mergecoord: ...` on stderr: branch names, users and errors in it are shown escaped,
    never as control sequences."""
    sys.stderr.write(f"mergecoord: {printable(message)}\n")
