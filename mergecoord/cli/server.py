"""Server commands: init, start, queue, log, status, show."""

import json
import os
import subprocess
import time
from pathlib import Path

import click

from .. import install
from ..central import locate
from ..errors import UsageError, UserError
from ..resources import template
from ..server import reasons
from ..state import journal, pause, queue
from ..untrusted import printable
from .root import central_of, cli, config_of, echo_json, echo_while_read


@cli.command()
@click.argument("repo", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--create", is_flag=True, help="Create the bare repository if it does not exist.")
@click.pass_context
def init(ctx, repo, create):
    """Set up REPO (a bare repository; or the one --repo names) for mergecoord: config and
    server hooks."""
    from ..server import gitolite
    from ..state.files import repair

    named = ctx.find_root().obj.get("repo_arg")
    if repo is None and named is None:
        raise UsageError("which repository? mergecoord init REPO (or mergecoord --repo REPO init)")
    if repo is not None and named is not None and Path(named).resolve() != repo.resolve():
        raise UsageError(f"two repositories given: {printable(named)} (--repo) and {printable(str(repo))}")
    repo = repo if repo is not None else Path(named)
    require_git()
    if create and not repo.exists():
        proc = subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(repo)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise UserError(f"could not create {repo}: {proc.stderr.strip()}")
        click.echo(f"created bare repository {repo}")
    central = locate(repo, need_init=False)
    ctx.find_root().obj["central"] = central
    central.require_writer()
    central.ensure_state_dir()
    # The stamp says from when pushes are mergecoord's to adopt; the lock files exist
    # from the start so that a reader (who may not write here) never creates one.
    for name in ("initialised", "state.lock", "runner.lock"):
        if not os.path.exists(central.file(name)):
            open(central.file(name), "a").close()
    if central.config_path.exists():
        click.echo(f"kept {central.config_path}")
    else:
        central.config_path.write_text(template("mergecoord.toml").read_text())
        click.echo(f"wrote {central.config_path}")
    changed = repair(central.state_root, central.share(), os.stat(central.root).st_gid)
    if changed:
        click.echo(f"shared {changed} file(s) under {central.state_dir} with the repository's group "
                   "(core.sharedRepository)")
    if gitolite.manages(central.root):
        click.echo(f"gitolite manages the hooks of {central.git_dir}: mergecoord's go in as its "
                   "repo-specific hooks")
        active, lines = gitolite.setup(central.root, install.install_hook)
        for line in lines:
            click.echo(line)
        if not active:
            raise UserError(f"mergecoord's hooks are not active on {central.git_dir} yet (see above)")
        click.echo(f"mergecoord is set up on {central.git_dir}")
        return
    directory = install.hooks_dir(central.git_dir)
    for name in install.SERVER_HOOKS:
        status = install.install_hook(directory, name)
        note = f" (the existing hook now runs as {name}.legacy)" if status == "chained" else ""
        click.echo(f"{status} hook {directory / name}{note}")
    click.echo(f"mergecoord is set up on {central.git_dir}")


def require_git():
    """git computes every merge (`git merge-tree --write-tree`, git 2.38 or newer)."""
    from ..merge.engine import MIN_GIT, git_version

    version, text = git_version()
    if version[:2] < MIN_GIT:
        wanted = ".".join(map(str, MIN_GIT))
        raise UserError(f"mergecoord needs git {wanted} or newer (it merges with 'git merge-tree "
                        f"--write-tree'); found: {printable(text)}")


@cli.command()
@click.option("--once", is_flag=True, help="Drain the queue, print a summary and exit.")
@click.pass_context
def start(ctx, once):
    """Run the merge runner (in the foreground)."""
    import signal

    from . import dashboard
    from ..server import wake
    from ..server.runner import Runner

    central, config = central_of(ctx, write=True), config_of(ctx)
    echo = echo_while_read
    runner = Runner(central, config, echo=echo)
    if once:
        began = time.monotonic()
        waiting = [e for e in queue.entries(central) if e.status == queue.QUEUED]
        if waiting:
            echo(f"[Merge Coordinator] Detected {len(waiting)} "
                 f"{'entry' if len(waiting) == 1 else 'entries'} ready for merge:")
            for e in waiting:
                echo(f"- {printable(e.branch)}")
        outcomes = runner.run(once=True)
        if outcomes is None:
            echo("another runner is active; it will merge the queue")
            return
        if runner.is_paused():
            echo("[Merge Coordinator] the queue is paused ('mergecoord resume' to continue)")
        if outcomes:
            echo("")
            echo("[Merge Coordinator] All merges complete!" if not queue.claim_peek(central)
                 else "[Merge Coordinator] Stopped with entries still queued.")
            for line in dashboard.run_report(outcomes, time.monotonic() - began):
                echo(line)
        elif not runner.is_paused():
            echo("[Merge Coordinator] the queue is empty: nothing to merge")
        return
    echo(f"mergecoord runner on {central.git_dir} (Ctrl-C to stop)")
    stopping = []

    def on_term(signum, frame):
        # systemctl stop: finish the entry in hand, then leave. The wake-up cuts the
        # wait for the next poll short; a runner still waiting for the lock just goes.
        stopping.append(signum)
        if not runner.lock.held:
            raise KeyboardInterrupt
        wake.wake(central)

    signal.signal(signal.SIGTERM, on_term)
    try:
        runner.run(once=False, wait=True, should_stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    click.echo("stopped")


def queue_rows(central):
    rows = []
    entries = queue.entries(central)
    merges = journal.merges(central) if any(e.status == queue.MERGING for e in entries) else {}
    for position, entry in enumerate(entries, 1):
        record = merges.get(entry.id) if entry.status == queue.MERGING else None
        rows.append({"id": entry.id, "position": position, "branch": entry.branch, "sha": entry.sha,
                     "worker": entry.worker, "status": entry.status, "kind": entry.kind,
                     "queued_at": entry.queued_at, "reason": reasons.of_record(record) if record else None})
    return rows


@cli.command("queue")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def queue_cmd(ctx, as_json):
    """List the branches waiting to be merged, in order."""
    central = central_of(ctx)
    rows = queue_rows(central)
    if as_json:
        echo_json({"paused": pause.is_paused(central), "entries": rows})
        return
    if not rows:
        click.echo("queue is empty")
    for row in rows:
        click.echo(f"{row['position']:>3}  {row['id']}  {row['status']:<8} {printable(row['branch'])}  "
                   f"{row['sha'][:10]}  {printable(row['worker'])}")


LOG_FIELDS = ("id", "branch", "sha", "worker", "status", "kind", "commit", "resolved_by", "conflicts",
              "detail", "rounds", "confidence", "decision", "queued_at", "started_at", "finished_at")


def log_fields(rec):
    """A journal record's LOG_FIELDS as `log --json` and `show --json` give them: a field
    without a value is null (the journal writes "" for a merge without a decision), and an
    entry journaled before kinds existed was a branch."""
    row = {k: None if rec.get(k) == "" else rec.get(k) for k in LOG_FIELDS}
    row["kind"] = row["kind"] or "branch"
    return row


def log_rows(central):
    merges = journal.merges(central)
    why = reasons.of_merges(merges)
    return [{**log_fields(rec), "reason": why[mid]} for mid, rec in merges.items()]


@cli.command("log")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def log_cmd(ctx, as_json):
    """The history of merges, oldest first."""
    central = central_of(ctx)
    rows = log_rows(central)
    if as_json:
        echo_json({"merges": rows})
        return
    if not rows:
        click.echo("no merges yet")
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["finished_at"] or row["queued_at"] or 0))
        how = f" ({row['resolved_by']})" if row["resolved_by"] else ""
        click.echo(f"{row['id']}  {when}  {row['status']:<10}{printable(how):<12} {printable(row['branch'] or '')}  "
                   f"{printable(row['worker'] or '')}")


@cli.command()
@click.argument("merge_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx, merge_id, as_json):
    """What happened to one merge (MERGE_ID like m-0007), with the panel's transcript."""
    central = central_of(ctx)
    merges = journal.merges(central)
    record = merges.get(merge_id)
    if record is None:
        raise UserError(f"unknown merge id {merge_id} (see 'mergecoord log')")
    reason = reasons.of_merges(merges)[merge_id]
    transcript = central.path("transcripts", f"{merge_id}.txt")
    text = transcript.read_text() if transcript.exists() else ""
    if as_json:
        echo_json({**log_fields(record), "reason": reason, "history": record["history"],
                   "transcript": text})
        return
    for key in LOG_FIELDS:
        value = record.get(key)
        if value not in (None, "", [], 0):
            if key.endswith("_at"):
                value = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
            shown = ", ".join(map(printable, value)) if isinstance(value, list) else printable(value)
            click.echo(f"{key + ':':<13}{shown}")
    if reason:
        click.echo(f"{'reason:':<13}{printable(reasons.describe(reason))}")
    click.echo("history:")
    for step in record["history"]:
        click.echo(f"  {time.strftime('%H:%M:%S', time.localtime(step['time']))}  {printable(step['event'])}")
    if text:
        click.echo("")
        click.echo(printable(text.rstrip(), multiline=True))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (documented in the README).")
@click.option("--watch", is_flag=True, help="Refresh in place until Ctrl-C.")
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1), help="Seconds between refreshes.")
@click.option("--count", type=click.IntRange(1), hidden=True, help="Stop after this many refreshes.")
@click.pass_context
def status(ctx, as_json, watch, interval, count):
    """The dashboard: what is happening and how well it is going."""
    import sys

    from ..server.status import summary as status_of
    from . import dashboard

    central, config = central_of(ctx), config_of(ctx)
    colour = dashboard.use_color(sys.stdout)
    keep = True if colour else None        # click drops escapes off a terminal unless told to keep them
    if not watch:
        summary = status_of(central, config)
        if as_json:
            echo_json(summary)
        else:
            click.echo(dashboard.render(summary, color=colour), color=keep)
        return
    tty = dashboard.can_redraw(sys.stdout)
    if tty and not as_json:
        click.echo("\x1b[2J", nl=False)
    shown = 0
    try:
        while True:
            summary = status_of(central, config)
            if as_json:
                click.echo(json.dumps(summary, sort_keys=True))          # one document per line
            else:
                frame = dashboard.render(summary, color=colour)
                stamp = time.strftime("%H:%M:%S")
                if tty:      # home, draw, clear what is left of a longer previous frame
                    click.echo("\x1b[H" + frame + f"\n{stamp}  (Ctrl-C to stop)\x1b[J", nl=False, color=keep)
                else:
                    click.echo(f"{frame}\n{stamp}\n", color=keep)
            shown += 1
            if count and shown >= count:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    if tty and not as_json:
        click.echo("")
