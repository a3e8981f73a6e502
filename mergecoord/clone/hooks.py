"""What the hooks in a worker's clone do (commit-msg, pre-push, post-merge), entered
from the launchers in hooks/ as `clone.hooks.main([NAME, *ARGS])`.

They run on every commit, push and pull, so they import only the standard library
and the light clone/state modules (never dulwich, click or requests) and ask git
through a handful of short processes. They are advisors: only pre-push refuses,
and only a READY_TO_MERGE commit that still holds conflict markers. An internal
error of ours never stops the worker's commit, push or pull.
"""

import sys

from ..commits import ZERO, has_marker, read_commits
from ..errors import log_traceback
from ..untrusted import say
from . import inbox
from .settings import Clone


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    name, args = (argv[0], argv[1:]) if argv else ("", [])
    clone = None
    try:
        clone = Clone.find()
        if name == "commit-msg" and args:
            return commit_msg(clone, args[0])
        if name == "pre-push":
            return pre_push(clone, args, sys.stdin.read().splitlines())
        if name == "post-merge":
            return post_merge(clone)
        return 0
    except Exception:  # ours must never stand between a worker and git
        path = log_failure(clone, name)
        say(f"internal error in the {name} hook, ignored" + (f" (details in {path})" if path else ""))
        return 0


def log_failure(clone, name):
    """The traceback to `<git-common-dir>/mergecoord/hooks.log`: its path, or None."""
    if clone is None:
        return None
    return log_traceback(clone.common_dir / "mergecoord" / "hooks.log", name)


# -- commit-msg ----------------------------------------------------------------

def message_of(path, comment_char):
    """The commit message as git will record it: without comment lines and without
    what follows the scissors line (the hook sees the file before git cleans it)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    kept = []
    for line in text.splitlines():
        if line.startswith(comment_char) and line[1:].strip(" -") == ">8":
            break
        if not line.startswith(comment_char):
            kept.append(line)
    return "\n".join(kept)


def near_miss(message, marker):
    """Something that looks like the marker but is not it (`ready-to-merge`,
    `Ready To Merge`), unless it is negated (`NOT_READY_TO_MERGE`, `not ready to merge`)."""
    import re

    words = [w for w in re.split(r"[\s_-]+", marker) if w]
    if not words:
        return None
    pattern = re.compile(r"(?<![A-Za-z0-9])" + r"[\s_-]*".join(map(re.escape, words)) + r"(?![A-Za-z0-9])",
                         re.IGNORECASE)
    for match in pattern.finditer(message):
        before = message[:match.start()].rstrip(" _-").lower()
        if not before.endswith("not"):
            return match.group(0)
    return None


def commit_msg(clone, path):
    """Tell the worker what this commit will do on push; never refuse it."""
    comment = clone.get("core.commentchar", "#")
    message = message_of(path, "#" if comment in ("", "auto") else comment[0])
    marker, branch = clone.marker, clone.current_branch()
    if branch is None:               # rebase, bisect, detached work: nothing to advise
        return 0
    if has_marker(message, marker):
        if clone.branch_matches(branch):
            say(f"{marker}: pushing {branch} will queue it for merging into {clone.main}")
        else:
            say(f"warning: this commit says {marker} but branch {branch!r} does not match "
                f"{' or '.join(clone.branches)}: pushing it will not queue it "
                f"(work on a branch like {clone.branches[0].replace('*', 'my-feature')})")
        return 0
    miss = near_miss(message, marker)
    if miss and clone.branch_matches(branch):
        say(f"warning: {miss.strip()!r} is not the marker; write {marker} exactly "
            "(own line, prefix or suffix) to queue this branch when you push it")
    return 0


# -- pre-push ------------------------------------------------------------------

def pre_push(clone, args, lines):
    """Refuse READY commits with conflict markers; warn about branches far behind main."""
    remote = args[0] if args else "origin"
    updates = []
    for line in lines:
        parts = line.split()
        if len(parts) != 4 or parts[1] == ZERO or not parts[2].startswith("refs/heads/"):
            continue          # deletions, tags and other refs are not ours to judge
        updates.append((parts[1], parts[2][len("refs/heads/"):], parts[3]))
    if not updates:
        return 0
    commits = read_commits(clone.common_dir, [sha for sha, _, _ in updates])
    main_ref = f"refs/remotes/{remote}/{clone.main}"
    has_main = clone.git("rev-parse", "-q", "--verify", main_ref + "^{commit}").returncode == 0
    refused = False
    for sha, branch, remote_sha in updates:
        ready = sha in commits and has_marker(commits[sha][2], clone.marker)
        if not clone.branch_matches(branch):
            if ready:
                say(f"warning: {branch} does not match {' or '.join(clone.branches)}; "
                    f"its {clone.marker} will not queue it")
            continue
        if ready:
            found = conflict_markers(clone, base_of(clone, sha, remote_sha, main_ref if has_main else None), sha)
            if found:
                refused = True
                shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
                say(f"refusing to push {branch}: its {clone.marker} commit {sha[:10]} still has "
                    f"conflict markers at {shown} (resolve them and amend, or push with --no-verify)")
                continue
        if has_main:
            behind = clone.git("rev-list", "--count", f"{sha}..{main_ref}").stdout.strip()
            if behind.isdigit() and int(behind) >= clone.behind_limit:
                say(f"warning: {branch} is {behind} commits behind {remote}/{clone.main} (as of your "
                    f"last fetch); merging {clone.main} into it first makes conflicts less likely")
    return 1 if refused else 0


EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def base_of(clone, sha, remote_sha, main_ref):
    """Where the branch's own work starts: where it left main (what a merge brings
    in, however many pushes it took), else the remote's old tip, else nothing (every
    line of the tip is new)."""
    if main_ref:
        base = clone.git("merge-base", sha, main_ref).stdout.strip()
        if base:
            return base
    if remote_sha != ZERO and clone.git("cat-file", "-e", remote_sha + "^{commit}").returncode == 0:
        return remote_sha
    return EMPTY_TREE


def conflict_markers(clone, base, sha):
    """`path:line` of conflict markers among the lines added from `base` to `sha`,
    as git itself detects them (`diff --check`, honouring conflict-marker-size),
    with every whitespace rule switched off so only markers are reported."""
    proc = clone.git("-c", "core.whitespace=-blank-at-eol,-blank-at-eof,-space-before-tab,"
                           "-indent-with-non-tab,-tab-in-indent,-cr-at-eol",
                     "diff", "--check", "--no-ext-diff", "--no-renames", base, sha)
    found = []
    for line in proc.stdout.splitlines():
        if line.endswith(": leftover conflict marker"):
            found.append(line[:-len(": leftover conflict marker")])
    return found


# -- post-merge ----------------------------------------------------------------

def post_merge(clone):
    """After `git pull`: show the worker's tasks that this clone has not shown yet."""
    name, tasks = inbox.tasks_for(clone)
    open_tasks = [t for t in tasks if t.status != "acked"]
    if not open_tasks:
        return 0
    shown = inbox.memory(clone)["shown"]
    new = [t for t in open_tasks if t.id not in shown]
    for task in new:
        sys.stderr.write(inbox.describe_task(task, f"[{task.worker} Inbox] New refactor task {task.id}:") + "\n")
        sys.stderr.write(f"  Acknowledge with: mergecoord inbox ack {task.id}\n")
    older = len(open_tasks) - len(new)
    if older:
        say(f"{name} has {older} more open task{'s' if older > 1 else ''} ('mergecoord inbox' lists them)")
    if new:
        inbox.remember(clone, shown=[t.id for t in new])
    return 0


if __name__ == "__main__":
    sys.exit(main())
