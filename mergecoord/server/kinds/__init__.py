"""The kinds of queue entry the runner merges, each behind the one interface of
`handler.py`: a pushed branch (`branch`), a human's answer to apply (`decision`), and the
revert of one merge (`rollback`)."""

from .branch import BranchHandler
from .handler import Context, Handler

__all__ = ["Context", "Handler", "handler_for"]


def handler_for(kind):
    """The handler of an entry's kind; an entry of a kind this version does not know is
    merged as the pushed branch it names. The branch kind (and with it the merge machinery)
    is loaded with the runner, before it takes an entry; the decision and rollback kinds
    when an entry of theirs comes (a runner that merges branches never loads them)."""
    if kind == "decision":
        from .decision import DecisionHandler as handler
    elif kind == "rollback":
        from .rollback import RollbackHandler as handler
    else:
        handler = BranchHandler
    return handler()
