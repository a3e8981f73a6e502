"""Errors the user can act on, and the log of those they cannot.

Anything raised as `UserError` is shown as one line, never as a traceback; its
`exit_code` follows DESIGN.md §7 (1: a failure to act on, 2: bad usage). An unexpected
error goes with its traceback to a log (`log_traceback`), and the user gets one line
pointing there. Imported by the hooks: the standard library only.
"""


class UserError(Exception):
    """A failure the user can fix; the message says what is wrong and what to do."""

    exit_code = 1


class UsageError(UserError):
    """The command was called wrongly."""

    exit_code = 2


def log_traceback(path, heading):
    """Append the exception being handled, with its traceback, to the log at `path` under
    `--- <time> <heading>`; `path`, or None when the log cannot be written either."""
    import os
    import time
    import traceback

    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {heading}\n{traceback.format_exc()}\n")
        return path
    except OSError:
        return None
