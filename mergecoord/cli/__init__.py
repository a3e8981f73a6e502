"""The `mergecoord` command line: thin commands over the library (DESIGN.md §7).

Errors the user can fix are one line (exit 1, or 2 for bad usage); anything
unexpected is logged with its traceback and the user gets one line pointing there.
"""

import os
import sys
import tempfile
import time
import traceback

import click

from ..central import default_repo_path, locate
from ..errors import UserError


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            error = click.ClickException(str(e))
            error.exit_code = e.exit_code
            raise error from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130)
        except Exception:
            path = log_unexpected(ctx)
            raise click.ClickException(f"internal error; the details are in {path}") from None


def log_unexpected(ctx):
    repo = (ctx.obj or {}).get("central")
    if repo is not None and repo.state_dir.is_dir():
        path = repo.path("logs", "cli.log")
        path.parent.mkdir(exist_ok=True)
    else:
        path = os.path.join(tempfile.gettempdir(), "mergecoord-error.log")
    with open(path, "a") as f:
        f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n{traceback.format_exc()}\n")
    return path


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--repo", metavar="PATH", help="The central bare repository (default: $MERGECOORD_REPO, else the current directory).")
@click.version_option(package_name="mergecoord")
@click.pass_context
def cli(ctx, repo):
    """Merge coordinator: queues READY_TO_MERGE branches pushed to a central bare
    repository and merges them into main, one at a time."""
    ctx.ensure_object(dict)
    ctx.obj["repo_arg"] = repo


def central_of(ctx, need_init=True, write=False):
    """The Central the command works on (cached on the context). With `write`, a
    command that changes the state refuses to run as anyone but the repository's
    owner (or, in a shared repository, a member of its group)."""
    obj = ctx.find_root().obj
    if "central" not in obj:
        obj["central"] = locate(default_repo_path(obj.get("repo_arg")), need_init=need_init)
    if write:
        obj["central"].require_writer()
    return obj["central"]


def config_of(ctx):
    from .. import config

    obj = ctx.find_root().obj
    if "config" not in obj:
        obj["config"] = config.load(central_of(ctx))
    return obj["config"]


def echo_json(value):
    import json

    click.echo(json.dumps(value, indent=2, sort_keys=True))


from . import server  # noqa: E402  (registers the commands)
from . import ops  # noqa: E402,F401  (pause, resume, rollback, demo)
from . import worker  # noqa: E402,F401  (install-hooks, inbox)
from .decide import decide as _decide  # noqa: E402

cli.add_command(_decide)


def _repo_after_subcommand(ctx, _param, value):
    if value is not None:
        ctx.find_root().obj["repo_arg"] = value


def accept_repo_everywhere(group):
    """`--repo` also after the subcommand (`mergecoord start --once --repo R`), as
    people type it; the later one wins. Commands with their own --repo keep it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_repo_everywhere(command)
        if command.name != "init" and not any("--repo" in p.opts for p in command.params):
            command.params.append(click.Option(
                ["--repo"], metavar="PATH", expose_value=False, is_eager=True,
                callback=_repo_after_subcommand,
                help="The central bare repository (as before the command)."))


accept_repo_everywhere(cli)


def main():
    cli.main(prog_name="mergecoord")


def merge_decide_main():
    from . import decide

    decide.main()
