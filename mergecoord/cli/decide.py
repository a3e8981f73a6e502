"""`git merge-decide` (and `mergecoord decide`): answer the decisions the panel escalated.

    git merge-decide                      show the pending decision and ask (on a terminal)
    git merge-decide list [--json]        every decision and its status
    git merge-decide show ID [--diff]     the decision box (and A-to-B diff)
    git merge-decide ID CHOICE [-m WHY] [--file PATH=CHOICE]
    git merge-decide reject ID [-m WHY]   send the branch back to its worker unmerged

In the bare repository it works on the state directly; in a clone it fetches
refs/mergecoord/* and answers by pushing refs/mergecoord/answers/<id>.
"""

import os
import subprocess
import sys

import click

from ..errors import UsageError, UserError
from ..untrusted import printable
from .root import echo_json


def source_for(repo_arg, remote):
    """Where decisions live: the bare repository (local) or the remote of this clone."""
    from ..server.decisions.local import LocalDecisions
    from ..clone.decide import RemoteDecisions

    from .. import config
    from ..central import is_bare_repository, locate

    if repo_arg or is_bare_repository(os.getcwd()):
        # In the bare repository itself without asking git, which refuses a repository
        # owned by another user ("dubious ownership") before we could say whose it is.
        central = locate(repo_arg or os.getcwd())
        return LocalDecisions(central, config.load(central))
    proc = subprocess.run(["git", "rev-parse", "--is-bare-repository", "--absolute-git-dir", "--show-toplevel"],
                          capture_output=True, text=True)
    lines = proc.stdout.split("\n")
    if proc.returncode and not lines[0]:
        raise UserError("not in a git repository (run in a clone of the central repository, "
                        "or in the central repository, or pass --repo)")
    if lines[0].strip() == "true":
        central = locate(lines[1].strip())
        return LocalDecisions(central, config.load(central))
    return RemoteDecisions(lines[2].strip() or os.getcwd(), remote or "origin")


def parse_files(values):
    files = {}
    for value in values:
        path, sep, choice = value.rpartition("=")
        if not sep or not path or not choice:
            raise UsageError(f"--file takes PATH=CHOICE (got {value!r})")
        files[path] = choice
    return files


@click.command("decide", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("words", nargs=-1, metavar="[list | show ID | reject ID | ID CHOICE]")
@click.option("-m", "--message", "rationale", default="", help="Why (recorded with the answer).")
@click.option("--file", "file_choices", multiple=True, metavar="PATH=CHOICE", help="A choice for one file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (list, show).")
@click.option("--diff", "with_diff", is_flag=True, help="With show: the diff between A and B.")
@click.option("--remote", default=None, help="In a clone: the remote to use (default origin).")
@click.option("--repo", "repo_opt", default=None, metavar="PATH", help="The central bare repository.")
@click.option("--as", "as_name", default=None, metavar="NAME",
              help="On the central repository, as its owner: answer for NAME (recorded as entered by you).")
@click.pass_context
def decide(ctx, words, rationale, file_choices, as_json, with_diff, remote, repo_opt, as_name):
    """Answer the merge decisions that the panel escalated to a human.

    \b
      git merge-decide                 the pending decision, on a terminal: Choose [A/B]
      git merge-decide list [--json]   every decision and its status
      git merge-decide show ID [--diff]
      git merge-decide ID CHOICE [-m WHY] [--file PATH=CHOICE]
      git merge-decide reject ID [-m WHY]
      git merge-decide --as NAME ID CHOICE   on the server, as the repository's owner

    CHOICE is A (main's side), B (the branch's side), an AI proposal C, D, ...,
    or one letter per conflicted file (ABB). In the central bare repository the
    answer is recorded directly; in a clone it is pushed to
    refs/mergecoord/answers/ID and checked by the server.
    """
    root = ctx.find_root().obj or {}
    repo_arg = repo_opt or root.get("repo_arg") or os.environ.get("MERGECOORD_REPO")
    files = parse_files(file_choices)
    words = list(words)
    if as_name is not None and not as_name.strip():
        raise UsageError("--as needs the name of the person you answer for")

    def answering():
        source = source_for(repo_arg, remote)
        if source.where == "local":
            source.central.require_writer()      # before a human types an answer, not after
        if as_name:
            source.speak_for(as_name.strip())
        return source

    if not words:
        if files or rationale:
            raise UsageError("give the decision id: git merge-decide ID CHOICE")
        return interactive(answering())
    verb = words[0]
    if as_name and (verb in ("list", "show") or (len(words) == 1 and not files)):
        raise UsageError("--as goes with an answer: git merge-decide --as NAME ID CHOICE")
    if verb == "list" and len(words) == 1:
        return list_decisions(source_for(repo_arg, remote), as_json)
    if verb == "show" and len(words) == 2:
        return show(source_for(repo_arg, remote), words[1], as_json, with_diff)
    if verb == "reject" and len(words) == 2:
        return answer_one(answering(), words[1], "reject", {}, rationale)
    if len(words) == 2 or (len(words) == 1 and files):
        return answer_one(answering(), words[0], words[1] if len(words) == 2 else "",
                          files, rationale)
    if len(words) == 1 and verb.startswith("d-"):
        return show(source_for(repo_arg, remote), verb, as_json, with_diff)
    raise UsageError("usage: git merge-decide [list | show ID [--diff] | reject ID | ID CHOICE [-m WHY]]")


def list_decisions(source, as_json):
    from .decision_box import listing

    docs = source.all()
    if as_json:
        return echo_json({"decisions": docs})
    if not docs:
        click.echo("no decisions")
    for doc in docs:
        click.echo(listing(doc))


def show(source, decision_id, as_json, with_diff):
    from .decision_box import answered, box, diff

    doc = source.load(decision_id)
    if as_json:
        return echo_json(doc)
    click.echo(box(doc))
    if doc["status"] != "pending":
        answer = doc.get("answer") or {}
        click.echo(f"status: {doc['status']}" + (f" ({printable(answered(answer))})" if answer else ""))
    if with_diff:
        click.echo(printable(diff(source.git_dir_for(doc), doc), multiline=True), nl=False)


def answer_one(source, decision_id, choice, files, rationale):
    doc = source.load(decision_id)
    source.check(doc, choice, files, rationale)
    click.echo(printable(source.submit(decision_id, choice, files, rationale), multiline=True))


def interactive(source):
    from ..state.answers import AnswerError, prompt_letters
    from .decision_box import box, diff, listing

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("not a terminal: use 'git merge-decide list' and 'git merge-decide ID CHOICE'")
    pending = [d for d in source.all() if d["status"] == "pending"]
    if not pending:
        click.echo("no decision is waiting for a human")
        return
    doc = pending[0]
    if len(pending) > 1:
        for n, d in enumerate(pending, 1):
            click.echo(f"{n:>3}. {listing(d)}")
        while True:
            picked = ask(f"Which decision? [1-{len(pending)}]: ")
            if picked is None or picked.lower() == "q":
                return click.echo("nothing decided")
            if picked.isdigit() and 1 <= int(picked) <= len(pending):
                doc = pending[int(picked) - 1]
                break
            if any(d["id"] == picked for d in pending):
                doc = next(d for d in pending if d["id"] == picked)
                break
            click.echo(f"type a number from 1 to {len(pending)}, or q")
    click.echo(box(doc))
    many = f"; one letter per file, e.g. {'A' * (len(doc['files']) - 1)}B" if len(doc["files"]) > 1 else ""
    click.echo(f"(d: show the diff, r: reject the branch, q: quit{many})")
    while True:
        choice = ask(f"Choose [{prompt_letters(doc)}]: ")
        if choice is None or choice.lower() == "q":
            return click.echo("nothing decided")
        if choice.lower() == "d":
            click.echo(printable(diff(source.git_dir_for(doc), doc), multiline=True), nl=False)
            continue
        if choice.lower() == "r":
            choice = "reject"
        try:
            source.check(doc, choice, {}, "")
            break
        except AnswerError as e:
            click.echo(printable(str(e)))
    rationale = ask("Rationale (optional): ") or ""
    click.echo(f"[Merge Coordinator] Human decision: {choice if choice == 'reject' else choice.upper()}")
    click.echo(printable(source.submit(doc["id"], choice, {}, rationale), multiline=True))


def ask(prompt):
    try:
        return input(prompt).strip()
    except EOFError:
        click.echo("")
        return None


def main():
    """The `git-merge-decide` executable: errors are one line on stderr, exit 1 or 2."""
    try:
        decide.main(prog_name="git merge-decide", standalone_mode=False)
    except UserError as e:
        click.echo(f"git merge-decide: {printable(str(e))}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        click.echo(f"git merge-decide: {printable(e.format_message())}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:           # `git merge-decide list | head`
        from .root import silence_stdout

        silence_stdout()
        sys.exit(1)
    except Exception:
        from .root import log_unexpected

        where = log_unexpected(None, "git merge-decide " + " ".join(sys.argv[1:]))
        click.echo(f"git merge-decide: internal error; {where}", err=True)
        sys.exit(1)
    sys.exit(0)
