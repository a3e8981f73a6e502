"""The kinds of queue entry the runner merges, each behind the one interface of
`handler.py`: a pushed branch (`branch`), a human's answer to apply (`decision`), and the
revert of one merge (`rollback`)."""

from .handler import Context, Handler

__all__ = ["Context", "Handler", "handler_for"]


def handler_for(kind):
    """The handler of an entry's kind; an entry of a kind this version does not know is
    merged as the pushed branch it names. A kind's module is loaded when an entry of that
    kind comes (a runner that merges branches never loads the decisions' machinery)."""
    if kind == "decision":
        from .decision import DecisionHandler as handler
    elif kind == "rollback":
        from .rollback import RollbackHandler as handler
    else:
        from .branch import BranchHandler as handler
    return handler()
