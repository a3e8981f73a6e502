"""Errors the user can act on.

Anything raised as `UserError` is shown as one line, never as a traceback; its
`exit_code` follows DESIGN.md §7 (1: a failure to act on, 2: bad usage).
"""


class UserError(Exception):
    """A failure the user can fix; the message says what is wrong and what to do."""

    exit_code = 1


class UsageError(UserError):
    """The command was called wrongly."""

    exit_code = 2
