"""Operator commands: pause, resume, rollback, and the demo."""

import re
from pathlib import Path

import click

from ..central import server_user
from ..errors import UsageError, UserError
from .root import central_of, cli, config_of

MERGE_ID = re.compile(r"^m-\d{4,}$")


@cli.command()
@click.option("-m", "--message", "reason", default="", help="Why (shown by 'mergecoord status').")
@click.pass_context
def pause(ctx, reason):
    """Stop merging; pushes keep queueing until 'mergecoord resume'."""
    from ..state import pause as switch

    central = central_of(ctx, write=True)
    before = switch.state(central)
    record = switch.pause(central, reason)
    verb = "still paused" if before else "paused"
    from ..untrusted import printable

    click.echo(f"mergecoord: {verb} by {printable(record['by'])}" + (f": {printable(reason)}" if reason else "")
               + " (pushes keep queueing; 'mergecoord resume' to continue)")


@cli.command()
@click.pass_context
def resume(ctx):
    """Merge again after 'mergecoord pause'."""
    from ..state import pause as switch
    from ..state import queue

    central, config = central_of(ctx, write=True), config_of(ctx)
    record = switch.resume(central)
    if record is None:
        click.echo("mergecoord: the queue was not paused")
        return
    waiting = sum(1 for e in queue.entries(central) if e.status == queue.QUEUED)
    click.echo(f"mergecoord: resumed ({waiting} entr{'y' if waiting == 1 else 'ies'} waiting)")
    if waiting:
        from ..server.hook import hand_over

        hand_over(central, config)


@cli.command()
@click.argument("merge_id")
@click.pass_context
def rollback(ctx, merge_id):
    """Undo one merge (MERGE_ID like m-0007) with a revert commit on main.

    The revert goes through the queue like any merge (verified, landed by
    compare-and-swap); later merges stay. A revert that conflicts with later work is
    refused, naming the merges in the way."""
    from dulwich.repo import Repo

    from ..server.kinds import rollback as revert
    from ..state import journal, pause, queue

    if not MERGE_ID.match(merge_id):
        raise UsageError(f"'{merge_id}' is not a merge id (like m-0007; see 'mergecoord log')")
    central, config = central_of(ctx, write=True), config_of(ctx)
    record = journal.merges(central).get(merge_id)
    if record is None:
        raise UserError(f"unknown merge id {merge_id} (see 'mergecoord log')")
    if record.get("status") != "merged":
        raise UserError(f"{merge_id} is {record.get('status')}, not merged: nothing to roll back")
    branch = revert.PREFIX + merge_id
    queued = next((e for e in queue.entries(central) if e.kind == "rollback" and e.branch == branch), None)
    if queued is not None:
        raise UserError(f"the rollback of {merge_id} is already queued as {queued.id}")
    repo = Repo(str(central.git_dir))
    try:
        main = repo.refs[config.main_ref.encode()]
        target = revert.find_merge(repo.object_store, main, merge_id, record.get("commit"))
        revert.revert_tree(repo.object_store, main, target, merge_id, journal.landed(central))  # refuse now
    except revert.RollbackRefused as e:
        raise UserError(str(e)) from None
    entry, position, _ = queue.enqueue(central, branch, target.decode(), server_user(), kind="rollback")
    paused = pause.state(central) is not None
    click.echo(f"mergecoord: queued the rollback of {merge_id} as {entry.id} (position {position})"
               + ("; the queue is paused" if paused else ""))
    if not paused:
        from ..server.hook import hand_over

        hand_over(central, config)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--interactive", is_flag=True, help="Answer the escalated decision yourself.")
@click.option("--quiet", is_flag=True, hidden=True, help="Only the final lines.")
def demo(directory, interactive, quiet):
    """Replay the seed's story in a sandbox (default: a new temporary directory):
    three workers, clean merges, a conflict settled by the panel, one escalated to a
    human, the refactor task, what was learned, and the dashboard. No network."""
    from .demo import story

    if directory is not None and directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} is not empty; give a new or empty directory for the sandbox")
    story.run(directory, interactive=interactive, echo=(lambda line="": None) if quiet else click.echo)
