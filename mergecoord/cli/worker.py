"""Worker commands: install-hooks (in a clone) and inbox (in a clone or on the central repo).

They work in a worker's clone (the current directory, or CLONE); the top-level
--repo only selects the central repository for `inbox` run on the server.
"""

from pathlib import Path

import click

from .. import install
from ..clone import inbox as clone_inbox
from ..clone.inbox import NOTHING_PUBLISHED, STATE_REF, describe_task
from ..clone.settings import Clone
from ..errors import UsageError, UserError
from ..untrusted import printable
from .root import central_of, cli, echo_json

TASK_FIELDS = ("id", "worker", "priority", "file", "feedback", "suggestion", "learning",
               "decision", "merge_id", "created", "status")


@cli.command("install-hooks")
@click.argument("clone", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--uninstall", is_flag=True, help="Remove mergecoord's hooks and put back what was there.")
@click.option("--worker", metavar="NAME", help="Your worker name as the server knows you "
              "(stored as git config mergecoord.worker; default: user.name).")
@click.option("--remote", metavar="NAME", help="The remote that is the central repository "
              "(default: the current branch's remote, else origin).")
def install_hooks(clone, uninstall, worker, remote):
    """Install the worker hooks in CLONE (default: the current directory): commit-msg,
    pre-push and post-merge; existing hooks keep running as <hook>.legacy. Also makes
    'git pull' fetch refs/mergecoord/* so that new tasks show after a pull."""
    target = Clone.find(clone)
    name = target.remote(remote)
    for path, status in install.worker_hooks(target, uninstall=uninstall):
        note = f" (the existing hook now runs as {path.name}.legacy)" if status == "chained" else ""
        click.echo(f"{status} hook {path}{note}")
    if uninstall:
        if target.track_state(name, False):
            click.echo(f"'git pull' no longer fetches refs/mergecoord/* from {name}")
        click.echo(f"mergecoord hooks are removed from {target.top}")
        return
    if target.track_state(name):
        click.echo(f"'git pull' now fetches refs/mergecoord/* from {name}")
    target.adopt_central_settings(name)
    if worker:
        target.set("mergecoord.worker", worker)
    error = clone_inbox.fetch_state(target, name)
    if error == NOTHING_PUBLISHED:
        click.echo(f"{name} has published no state yet (tasks appear there after merges)")
    elif error:
        click.echo(f"warning: could not fetch {STATE_REF} from {name} ({printable(error)})", err=True)
    target = Clone.find(target.top)
    who, _, source = target.identity()
    click.echo(f"worker: {who or '(unknown: set --worker NAME)'} ({source}); "
               f"ready marker {target.marker} on branches {' '.join(target.branches)}")
    click.echo(f"mergecoord hooks are set up in {target.top}")


@cli.group(invoke_without_command=True)
@click.option("--worker", metavar="NAME", help="Whose tasks (default: you, in a clone; everyone, on the central repo).")
@click.option("--all", "show_all", is_flag=True, help="Include acknowledged tasks.")
@click.option("--no-fetch", is_flag=True, help="In a clone: do not fetch the latest state first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def inbox(ctx, worker, show_all, no_fetch, as_json):
    """Your refactor tasks: what was decided against your work and what to do next."""
    if ctx.invoked_subcommand is not None:
        return
    source, name, tasks = read_inbox(ctx, worker, fetch=not no_fetch)
    if as_json:
        echo_json({"source": source, "worker": name,
                   "tasks": [{k: getattr(t, k) for k in TASK_FIELDS} for t in tasks]})
        return
    shown = [t for t in tasks if show_all or t.status != "acked"]
    whose = f"{printable(name)}'s inbox" if name else "inboxes"
    if not shown:
        click.echo(f"{whose}: no open tasks" + (f" ({len(tasks)} acknowledged; --all shows them)" if tasks else ""))
        return
    click.echo(f"{whose}: {len(shown)} task{'s' if len(shown) > 1 else ''}")
    for task in shown:
        click.echo("")
        click.echo(describe_task(task) + (" (acknowledged)" if task.status == "acked" else ""))
    if any(t.status != "acked" for t in shown):
        click.echo("")
        click.echo("Acknowledge a task with: mergecoord inbox ack TASK")


@inbox.command("ack")
@click.argument("task_id", metavar="TASK")
@click.pass_context
def inbox_ack(ctx, task_id):
    """Acknowledge TASK (like t-0007): it no longer shows as open."""
    import re

    from ..state import tasks

    if not re.fullmatch(r"t-[0-9]{4,9}", task_id):
        raise UsageError(f"{task_id!r} is not a task id (they look like t-0007; see 'mergecoord inbox')")
    clone = clone_here(ctx)
    if clone is None:
        central = central_of(ctx, write=True)
        known = {t.id: t for t in tasks.all_tasks(central)}
        if task_id not in known:
            raise UserError(f"unknown task {task_id} (see 'mergecoord inbox')")
        if known[task_id].status == "acked":
            click.echo(f"{task_id} was already acknowledged")
            return
        task = tasks.ack(central, task_id)
    else:
        task, already = clone_inbox.ack(clone, task_id)
        if already:
            click.echo(f"{task_id} was already acknowledged")
            return
    click.echo(f"acknowledged {task_id} ({printable(task.worker)}: {printable(task.file or task.feedback)})")


def clone_here(ctx):
    """The clone the inbox works in, or None for the central repository: --repo
    means the central one; else a work tree here means a clone; else the central
    repository as server commands find it (MERGECOORD_REPO, the current directory)."""
    if ctx.find_root().obj.get("repo_arg"):
        return None
    try:
        return Clone.find()
    except UserError:
        return None


def read_inbox(ctx, worker, fetch):
    """(source, worker name, tasks): from the fetched state ref in a clone, or from
    the task store on the central repository."""
    from ..state import tasks

    clone = clone_here(ctx)
    if clone is None:
        return "central", worker, tasks.all_tasks(central_of(ctx), worker)
    if fetch:
        try:
            remote = clone.remote()
            error = clone_inbox.fetch_state(clone, remote)
        except UserError as e:
            remote, error = "the central repository", str(e)
        if error and error != NOTHING_PUBLISHED:
            click.echo(f"warning: could not fetch from {printable(remote)}; showing the tasks as of the "
                       f"last fetch ({printable(error)})", err=True)
    name, mine = clone_inbox.tasks_for(clone, worker)
    if not name:
        raise UserError("who are you? set 'git config mergecoord.worker NAME' (or user.name), or pass --worker")
    return "clone", name, mine
