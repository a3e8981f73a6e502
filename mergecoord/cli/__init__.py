"""The `mergecoord` command line: thin commands over the library (DESIGN.md §7), and the
`git-merge-decide` executable. `root.py` is the group; this module registers the
commands on it and is what the entry points call.
"""

import sys

import click

from . import decide
from . import ops  # noqa: F401  (registers pause, resume, rollback, demo)
from . import server  # noqa: F401  (registers init, start, queue, log, show, status)
from . import worker  # noqa: F401  (registers install-hooks, inbox)
from .root import cli, silence_stdout

cli.add_command(decide.decide)


def _repo_after_subcommand(ctx, _param, value):
    if value is not None:
        ctx.find_root().obj["repo_arg"] = value


def accept_repo_everywhere(group):
    """`--repo` also after the subcommand (`mergecoord start --once --repo R`), as
    people type it; the later one wins. Commands with their own --repo keep it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_repo_everywhere(command)
        if not any("--repo" in p.opts for p in command.params):
            command.params.append(click.Option(
                ["--repo", "repo_after_command"], metavar="PATH", expose_value=False, is_eager=True,
                callback=_repo_after_subcommand,
                help="The central bare repository (as before the command)."))


accept_repo_everywhere(cli)


def main():
    try:
        cli.main(prog_name="mergecoord")
    except BrokenPipeError:
        silence_stdout()
        sys.exit(1)


def merge_decide_main():
    decide.main()
