"""The kinds of queue entry the runner merges, each behind the one interface of
`handler.py`: a pushed branch (`branch`), a human's answer to apply (`decision`), and the
revert of one merge (`rollback`)."""

from .branch import BranchHandler
from .decision import DecisionHandler
from .handler import Context, Handler
from .rollback import RollbackHandler

HANDLERS = {handler.kind: handler for handler in (BranchHandler(), DecisionHandler(), RollbackHandler())}

__all__ = ["Context", "Handler", "HANDLERS", "handler_for"]


def handler_for(kind):
    """The handler of an entry's kind; an entry of a kind this version does not know is
    merged as the pushed branch it names."""
    return HANDLERS.get(kind) or HANDLERS["branch"]
