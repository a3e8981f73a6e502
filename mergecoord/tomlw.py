"""A small TOML writer for the files mergecoord writes (decisions, tasks, answers).

Values are strings, numbers, booleans, lists of those, and tables; every string
is escaped, so nothing a worker wrote (a branch name, a commit message) can
inject keys or tables into the file.
"""

import math


def _string(s):
    out = ['"']
    for ch in str(s):
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 0xD800 <= code <= 0xDFFF:
            # A byte that was not UTF-8 (a git path read with surrogateescape): TOML holds
            # only Unicode, so it is written as the visible escape untrusted.printable shows.
            out.append(f"\\\\x{code - 0xDC00:02x}" if code >= 0xDC80 else f"\\\\u{code:04x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code & 0xFFFF:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _key(k):
    k = str(k)
    if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k):
        return k
    return _string(k)


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("TOML has no NaN or infinity here")
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    if v is None:
        raise ValueError("TOML has no null; leave the key out")
    return _string(v)


def dumps(doc):
    """TOML text for `doc` (a dict); nested dicts become [tables]."""
    lines = []
    _emit(doc, [], lines)
    return "\n".join(lines).strip() + "\n"


def _emit(table, prefix, lines):
    scalars = {k: v for k, v in table.items() if v is not None and not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if prefix and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in prefix) + "]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables.items():
        _emit(v, prefix + [k], lines)


def loads(text):
    try:
        import tomllib
    except ImportError:
        import tomli as tomllib
    return tomllib.loads(text)
