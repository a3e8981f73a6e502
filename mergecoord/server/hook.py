"""What the server's push hooks do, entered as `python -m mergecoord.server.hook NAME`
(the launchers in hooks/ call its `main`).

Hooks run inside every push, so this module is fast and defensive: it imports
only the standard library and the light state modules (never dulwich, click or
requests), it never makes a push fail or hang, and it never executes anything
that a worker pushed. It reads pushed commits only as data (`git cat-file`).
"""

import errno
import os
import sys

from ..central import Central, server_user
from ..commits import ZERO, has_marker, is_sha, read_commits
from ..errors import UserError, log_traceback
from ..state.answers import ANSWERS, MAX_ANSWER_BYTES, AnswerError, parse_answer_file
from ..untrusted import say


def read_answer(git_dir, sha):
    """The bytes of `answer.toml` in the pushed commit `sha`; AnswerError when it is not
    a commit holding a reasonably small answer.toml. Read as data with git cat-file."""
    import subprocess

    check = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch-check"],
                           input=f"{sha}\n{sha}:answer.toml\n".encode(), capture_output=True)
    rows = check.stdout.decode("utf-8", "replace").splitlines()
    if len(rows) < 2 or rows[0].split()[1:2] != ["commit"]:
        raise AnswerError("an answer must be a commit holding answer.toml")
    fields = rows[1].split()
    if len(fields) < 3 or fields[1] != "blob":
        raise AnswerError("the answer commit holds no answer.toml file")
    if int(fields[2]) > MAX_ANSWER_BYTES:
        raise AnswerError(f"answer.toml is larger than {MAX_ANSWER_BYTES // 1024} KiB")
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "blob", fields[0]],
                          capture_output=True)
    return proc.stdout


def check_answer_push(central, config, old, new, ref, user):
    """The normalised answer pushed to refs/mergecoord/answers/<id>; AnswerError if bad."""
    from ..state import decisions
    from .decisions.answer import check

    decision_id = ref[len(ANSWERS):]
    if new == ZERO:
        raise AnswerError(f"{ref} cannot be deleted: answers are part of the record")
    if not decisions.valid_id(decision_id) or not decisions.path_of(central, decision_id).exists():
        raise AnswerError(f"unknown decision {decision_id[:40]!r} (see 'git merge-decide list')")
    fields = parse_answer_file(read_answer(central.root, new))
    return check(central, config, decision_id, fields, user)


def pre_receive(central, lines, environ=None):
    """Refuse bad decision answers, pushes to the server's own refs, and (with
    repo.protect_main) direct pushes to main. Returns the one-line reasons.

    Every decision comes from the parsed config (`config.load`), never from the text
    of the file; when it cannot be parsed, this fails closed (`closed_refs`)."""
    from .. import config as config_mod

    relevant = [parts for parts in (line.split(" ", 2) for line in lines) if len(parts) == 3]
    relevant = [p for p in relevant if p[2].startswith("refs/mergecoord/") or p[2].startswith("refs/heads/")]
    if not relevant:
        return []
    # No push writes refs/mergecoord/* but an answer, whatever the config says.
    problems = [f"rejected {ref}: refs/mergecoord/ is written by the server "
                "(answer decisions with 'git merge-decide')"
                for _old, _new, ref in relevant if ref.startswith("refs/mergecoord/") and not ref.startswith(ANSWERS)]
    try:
        config = config_mod.load(central)
    except UserError as e:
        return problems + closed_refs(central, relevant, str(e))
    user = server_user(environ)
    stranger = central.not_writer()
    for old, new, ref in relevant:
        if ref.startswith(ANSWERS) and stranger:
            problems.append(f"rejected {ref}: {refusal(central, stranger)}")
            continue
        if ref.startswith(ANSWERS):
            try:
                check_answer_push(central, config, old, new, ref, user)
            except AnswerError as e:
                problems.append(f"rejected {ref}: {e}")
        elif ref == config.main_ref and config.protect_main and old != ZERO:
            problems.append(f"rejected {ref}: {config.main} is protected (repo.protect_main); push a "
                            f"{config.branches[0]} branch with {config.marker} and mergecoord merges it")
    return problems


def closed_refs(central, relevant, why):
    """When the config cannot be read (`why`), nothing can be checked: answers are refused,
    and so are pushes to whatever may be main (the default, the last good config's, HEAD's
    branch). Other branches go through; post-receive says why they were not queued."""
    guarded = {"refs/heads/main"}
    import json

    try:
        with open(central.file("config.cache.json"), encoding="utf-8") as f:
            guarded.add("refs/heads/" + json.load(f)["values"]["main"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(central.root, "HEAD"), encoding="utf-8", errors="replace") as f:
            head = f.read().strip()
        if head.startswith("ref: refs/heads/"):
            guarded.add(head[len("ref: "):])
    except OSError:
        pass
    why = why[:300]
    problems = []
    for _old, _new, ref in relevant:
        if ref.startswith(ANSWERS):
            problems.append(f"rejected {ref}: cannot check this answer: {why}")
        elif ref in guarded:
            problems.append(f"rejected {ref}: cannot tell whether it is protected: {why}")
    return problems


def record_answers(central, config, lines, environ=None):
    """Record the answers pushed (pre-receive checked them; a race with another answer
    is reported, not raised). True when one was queued for the runner."""
    if not any(ANSWERS in line for line in lines):
        return False
    from .decisions.answer import submit

    user = server_user(environ)
    queued = False
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) != 3 or not parts[2].startswith(ANSWERS) or parts[1] == ZERO:
            continue
        ref, decision_id = parts[2], parts[2][len(ANSWERS):]
        try:
            fields = parse_answer_file(read_answer(central.root, parts[1]))
            doc, entry = submit(central, config, decision_id, fields, user)
        except AnswerError as e:
            say(f"{ref} not recorded: {e}")
            continue
        if doc["answer"]["choice"] == "reject":
            say(f"decision {decision_id}: {user} sends {doc['branch']} back to its worker ({entry.id})")
        else:
            say(f"decision {decision_id} answered {doc['answer']['choice']} by {user}; "
                f"the runner applies it as {entry.id}")
        queued = True
    return queued


def refusal(central, stranger):
    """Why a push by another user than the repository's owner records nothing."""
    owner, me = stranger
    return (f"{central.root} belongs to {owner} and this push runs as {me}; push as {owner} (over ssh "
            "or HTTP), or share the repository with a group (git config core.sharedRepository group)")


def post_receive(central, lines):
    from .. import config as config_mod
    from ..state import queue

    stranger = central.not_writer()
    if stranger:        # its files would be ones the owner's runner cannot write
        say(f"push accepted but NOT queued: {refusal(central, stranger)}")
        return False
    config = config_mod.load(central)
    answered = record_answers(central, config, lines)
    updates, elsewhere = [], []
    for line in lines:
        # "<old> <new> <ref>", split on plain spaces only: str.split() would also
        # split a ref name at U+00A0 and the like, and drop that branch silently.
        parts = line.split(" ", 2)
        if len(parts) == 3 and is_sha(parts[1]) and parts[2].startswith("refs/heads/"):
            old, new, ref = parts
            branch = ref[len("refs/heads/"):]
            if config.branch_matches(branch):
                updates.append((branch, new))
            elif new != ZERO and ref != config.main_ref:
                elsewhere.append((branch, new))
    commits = read_commits(central.root, [new for _, new in updates + elsewhere if new != ZERO])
    for branch, new in elsewhere:      # marked as ready, but where nothing is queued from
        commit = commits.get(new)
        if commit is not None and has_marker(commit[2], config.marker):
            patterns = ", ".join(config.branches) or "none"
            say(f"{branch} says {config.marker} but only branches matching queue.branches "
                f"({patterns}) are queued: not queued")
    if not updates:
        if answered:
            hand_over(central, config)
        return answered
    queued = False
    for branch, new in updates:
        commit = commits.get(new)
        if new == ZERO or commit is None:
            entry = queue.withdraw(central, branch, "branch deleted")
            if entry:
                say(f"withdrew {branch} ({entry.id}): branch deleted")
            continue
        name, email, message = commit
        if has_marker(message, config.marker):
            worker = config.worker_name(email, name)
            entry, position, replaced = queue.enqueue(central, branch, new, worker)
            verb = "re-queued" if replaced else "queued"
            say(f"{verb} {branch} as {entry.id} (position {position})")
            queued = True
        else:
            entry = queue.withdraw(central, branch, f"{config.marker} removed")
            if entry:
                say(f"withdrew {branch} ({entry.id}): its tip no longer says {config.marker}")
    if queued or answered:
        hand_over(central, config)
    return queued or answered


def hand_over(central, config):
    """The queue changed: wake the serving runner (`mergecoord start`, e.g. the systemd
    service) at once, or else, with runner.autostart, start a detached one. True when
    a runner will take it now. A failure to start one is said as such: what was queued
    stays queued, and the next run merges it."""
    from . import wake

    if wake.wake(central):
        return True
    if not config.autostart:
        return False
    try:
        start_runner(central, config)
    except Exception:  # never break the push; the entry is safe in the queue
        say(f"queued, but the runner could not be started ({where_logged(central, 'post-receive')}); "
            "'mergecoord start --once' merges the queue")
        return False
    return True


def start_runner(central, config=None):
    """Start a detached `mergecoord start --once` unless a runner holds the runner lock.

    A runner that is about to exit re-checks the queue after releasing its lock,
    so an entry queued here is never stranded between the two. It starts from an
    allow-listed environment (`child.runner_environment`): the pusher's transport
    (credentials, GL_*, SSH_*, GIT_*) stays with the push."""
    if central.runner_active():
        return
    import subprocess

    from .. import config as config_mod
    from ..child import runner_environment

    env = runner_environment(config or config_mod.load(central))
    os.makedirs(central.file("logs"), exist_ok=True)
    log = open(central.file("logs", "runner.log"), "ab")
    subprocess.Popen(
        [sys.executable, "-I", "-m", "mergecoord", "--repo", central.root, "start", "--once"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
        cwd=central.root, start_new_session=True, close_fds=True,
    )
    log.close()


def log_failure(central, name):
    """Write the current exception's traceback to logs/hooks.log; its path, or None when
    the log cannot be written either."""
    try:
        central.ensure_state_dir()
    except OSError:
        return None
    return log_traceback(central.file("logs", "hooks.log"), name)


def where_logged(central, name):
    """Log the current exception; the words that tell the pusher where to look, or, when
    the log cannot be written, what the error was."""
    path = log_failure(central, name)
    if path:
        return f"details in {path}"
    error = sys.exc_info()[1]
    summary = f"{error.__class__.__name__}: {error}"[:200] if error else "unknown error"
    return f"{summary}; the details could not be written to {central.file('logs', 'hooks.log')}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    name = argv[0] if argv else ""
    git_dir = os.environ.get("GIT_DIR", ".")
    central = Central(git_dir)
    central.share()
    # Ref names are bytes to git; one that is not UTF-8 must not break the hook.
    # Lines end at "\n" only: splitlines() would cut a ref name at U+2028.
    lines = [line for line in sys.stdin.buffer.read().decode("utf-8", "backslashreplace").split("\n") if line]
    if name == "pre-receive":
        return pre_receive_main(central, lines)
    try:
        if name == "post-receive":
            post_receive(central, lines)
        return 0
    except UserError as e:
        say(f"{e} (push accepted; nothing queued)")
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES,
                           errno.EPERM):
            report_internal_error(central, name)
            return 0
        say(f"could not write {os.path.basename(os.fsdecode(e.filename or 'the state'))}: {e.strerror}; "
            "push accepted but NOT queued: push again once the server can write its state")
    except Exception:  # a hook must never break a push
        report_internal_error(central, name)
    return 0


def report_internal_error(central, name):
    say(f"internal error, push accepted but not queued ({where_logged(central, name)})")


def pre_receive_main(central, lines):
    """Exit status of the pre-receive hook: 1 with one line per refused ref. An internal
    error fails closed like an unreadable config: answers, refs/mergecoord/* and what
    may be main are refused, anything else goes through."""
    try:
        problems = pre_receive(central, lines)
    except Exception:
        where = where_logged(central, "pre-receive")
        relevant = [p for p in (line.split(" ", 2) for line in lines) if len(p) == 3]
        problems = [f"rejected {ref}: refs/mergecoord/ is written by the server"
                    for _o, _n, ref in relevant if ref.startswith("refs/mergecoord/") and not ref.startswith(ANSWERS)]
        problems += closed_refs(central, relevant, f"internal error ({where})")
    for problem in problems:
        say(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
