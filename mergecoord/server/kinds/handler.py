"""The one interface every kind of queue entry implements, and the narrow context it gets.

The runner takes every entry the same way: it claims it, asks the handler of its kind to
`prepare` it on a given main (a candidate tree, or an outcome that ends the entry),
verifies the candidate, asks the handler to `commit` it, lands that commit by
compare-and-swap and finishes (journal, follow-up steps). Only preparing and committing
differ by kind; landing and what follows are the runner's, apart from the kind's last
word just before the compare-and-swap (`moved_on`).

A handler gets a `Context`, never the runner: the state (`central`), the config, the
object store, the main commit it merges onto, and the services it may use. The main is an
input like any other: preparing on a commit that is not (yet) main's is the same call.
Handlers never move a ref: they write objects and return plain data (`MergeOutcome`).
"""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Context:
    central: object     # the central repository and its state directory (Central)
    config: object      # the parsed config (Config)
    store: object       # the repository's object store (dulwich): where candidates are written
    main: bytes         # the commit the entry merges onto
    echo: object        # echo(line): one line on the runner's output (sanitised and redacted there)
    panels: object      # the panel's seats for a conflict (server.panels.Panels)

    def onto(self, main):
        """The same context merging onto another commit."""
        return replace(self, main=main)


class Handler:
    """A kind of queue entry ("branch", "decision", "rollback")."""

    kind = ""

    def prepare(self, context, entry):
        """`entry` merged onto `context.main`: a MergeOutcome "ready" with the candidate
        `tree`, or an outcome that ends the entry (failed, escalated, up-to-date, ...)."""
        raise NotImplementedError

    def commit(self, context, entry, outcome):
        """The commit to land (hex) for the ready, verified `outcome`: its first parent is
        `context.main`."""
        raise NotImplementedError

    def moved_on(self, context, entry):
        """Why `entry` must not land any more, as its `reasons` object (whose `detail` says
        it in words), asked again under the state lock just before main moves; None when
        it still stands."""
        return None
