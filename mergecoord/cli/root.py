"""The root of the `mergecoord` command line: the click group, and what every command
shares (finding the central repository and its config, JSON output, output that goes on
when nobody reads it). Commands live in server.py, ops.py, worker.py and decide.py; the
package's __init__ registers them.

Errors the user can fix are one line (exit 1, or 2 for bad usage); anything
unexpected is logged with its traceback and the user gets one line pointing there.
"""

import os
import sys
import tempfile

import click

from ..central import default_repo_path, locate
from ..errors import UserError, log_traceback


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            from ..untrusted import printable

            error = click.ClickException(printable(str(e)))     # may quote a branch or a path
            error.exit_code = e.exit_code
            raise error from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130)
        except Exception:
            raise click.ClickException(f"internal error; {log_unexpected(ctx)}") from None


def log_unexpected(ctx, heading=None):
    """Log the exception being handled (in the repository's logs/cli.log, else the temp
    directory's mergecoord-error.log); the words that tell the user where to look."""
    repo = (ctx.obj or {}).get("central") if ctx is not None else None
    if repo is not None and repo.state_dir.is_dir():
        path = str(repo.path("logs", "cli.log"))
    else:
        path = os.path.join(tempfile.gettempdir(), "mergecoord-error.log")
    if log_traceback(path, heading or " ".join(sys.argv)):
        return f"the details are in {path}"
    return f"the details could not be written to {path}"


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


def silence_stdout():
    """The reader of our output went away (`mergecoord log | head`): send the rest of it
    nowhere, so neither a later write nor the flush at exit raises BrokenPipeError."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def echo_while_read(line=""):
    """click.echo for work that must go on when nobody reads its output any more: the
    runner's progress lines (`mergecoord start --once | head` still merges everything)."""
    try:
        click.echo(line)
    except BrokenPipeError:
        silence_stdout()
