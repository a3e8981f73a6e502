"""Runs the `[verify]` command on a checkout of a merged tree before main may move.

The tree is written from a dulwich object store into a fresh temporary directory (no
repository, no working tree of ours is touched), the command runs there with a timeout, and
its output is kept for the transcript. A timed-out command's whole process group is killed.
The command runs pushed code: it gets only the environment it is given (see
`child.environment`), optionally as another user, and never a pipe it could hold open.

Besides the checkout (its working directory) the command learns which candidate it checks
from `Identity`, as MERGECOORD_* variables, so it can hand the work to a CI elsewhere
(`templates/verify-via-ci.sh`). The branch name in them is a pusher's: a value in the
environment, never part of a shell string.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from ..child import environment, kill_everything_of, wait_or_kill

MAX_OUTPUT = 64 * 1024       # keep the tail: that is where test runners print the verdict


@dataclass(frozen=True)
class Identity:
    """The candidate a verify command checks: entry `merge_id` of `branch`, merged onto
    `base` (main, or the candidate of the entry before it) into `tree`, committed as
    `commit` (all hex)."""
    merge_id: str
    branch: str
    tree: str
    base: str
    commit: str = ""

    def environment(self) -> dict:
        return {"MERGECOORD_MERGE_ID": self.merge_id, "MERGECOORD_BRANCH": self.branch,
                "MERGECOORD_TREE": self.tree, "MERGECOORD_BASE": self.base,
                "MERGECOORD_COMMIT": self.commit}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    output: str
    returncode: Optional[int]
    timed_out: bool


def check(object_store, identity: Identity, config, secrets, cancel=None) -> VerifyResult:
    """Run the config's `[verify]` command on the tree of `identity` as the runner does: as
    `verify.user` when one is set, from an allow-listed environment that holds none of
    `secrets` (the runner's keys) unless `verify.env` names the variable, plus the
    candidate's identity (`Identity.environment`). Setting `cancel` (an Event) kills it: a
    speculative candidate that no longer counts."""
    user = verify_user(config)
    env = verify_environment(config, secrets, user)
    env.update(identity.environment())
    return run_verify(object_store, identity.tree.encode(), config.verify_command, timeout=config.verify_timeout,
                      env=env, user=user, cancel=cancel)


def verify_user(config):
    """The pwd entry of `verify.user`, or None."""
    if not config.verify_user:
        return None
    import pwd

    return pwd.getpwnam(config.verify_user)


def verify_environment(config, secrets, user=None, environ=None) -> dict:
    """The verify command runs the pushed code: it gets the basics and `verify.env` (an
    allow-list), never the runner's keys."""
    secrets = set(secrets)
    env = environment(os.environ if environ is None else environ, config.verify_env)
    if user is not None:        # it runs as that user: its own home and name
        env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    return {k: v for k, v in env.items() if v not in secrets or k in config.verify_env}


def checkout_tree(object_store, tree: bytes, directory: Path) -> None:
    """Write `tree` (recursively) into `directory`, keeping executable bits and symlinks.
    Submodules are left as empty directories; names that would escape are refused."""
    for name, mode, sha in object_store[tree].iteritems():
        if name in (b".", b"..", b".git") or b"/" in name or b"\0" in name:
            raise ValueError(f"refusing to check out the entry {name!r}")
        target = directory / os.fsdecode(name)
        if stat.S_ISDIR(mode):
            target.mkdir()
            checkout_tree(object_store, sha, target)
        elif mode == 0o160000:          # gitlink: a submodule we do not have
            target.mkdir()
        elif stat.S_ISLNK(mode):
            os.symlink(os.fsdecode(object_store[sha].data), target)
        else:
            target.write_bytes(object_store[sha].data)
            if mode & 0o111:
                target.chmod(0o755)


def run_verify(object_store, tree: bytes, command: Union[str, Sequence[str]], *, timeout: float,
               env: Optional[Mapping[str, str]] = None, user=None, cancel=None) -> VerifyResult:
    """Check `tree` out in a temp dir and run `command` there (a string runs through the
    shell, a list is run as is); ok when it exits 0 within `timeout` seconds.

    `user` (a pwd entry) runs it as that user, who then owns the checkout; the runner must
    be root for that. The output goes to a file, not a pipe, and only the process is
    waited for: a daemon the command leaves behind holding its output (`setsid cmd &`)
    cannot hold the runner past the timeout."""
    shown = command if isinstance(command, str) else shlex.join(command)
    if user is not None and user.pw_uid == os.geteuid():
        user = None                          # already that user: nothing to switch
    if user is not None and os.geteuid() != 0:
        return VerifyResult(False, f"cannot run {shown} as {user.pw_name}: verify.user needs the runner "
                                   "to run as root", None, False)
    with tempfile.TemporaryDirectory(prefix="mergecoord-verify-") as temp, tempfile.TemporaryFile() as out:
        checkout = Path(temp) / "tree"
        checkout.mkdir()
        checkout_tree(object_store, tree, checkout)
        as_user = {}
        if user is not None:
            _hand_over(Path(temp), user)
            as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        argv = command if not isinstance(command, str) else ["/bin/sh", "-c", command]
        try:
            process = subprocess.Popen(list(argv), cwd=checkout, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, env=dict(env) if env is not None else None,
                                       start_new_session=True, **as_user)
        except OSError as exc:
            return VerifyResult(False, f"cannot run {shown}: {exc.strerror}", None, False)
        timed_out = not wait_or_kill(process, timeout, cancel) and not (cancel is not None and cancel.is_set())
        if user is not None:
            kill_everything_of(user)
        text = _tail(out)
        if timed_out:
            return VerifyResult(False, text + f"\n[verify timed out after {timeout:g}s]\n", None, True)
        if cancel is not None and cancel.is_set():
            return VerifyResult(False, text + "\n[verify cancelled]\n", None, False)
        return VerifyResult(process.returncode == 0, text, process.returncode, False)


def _hand_over(directory: Path, user) -> None:
    """The checkout belongs to `user`, who runs the command in it."""
    for root, dirs, files in os.walk(directory):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, user.pw_uid, user.pw_gid)


def _tail(file) -> str:
    """The last MAX_OUTPUT characters written to `file`: where test runners print the verdict."""
    size = file.seek(0, os.SEEK_END)
    file.seek(max(0, size - 4 * MAX_OUTPUT))
    text = file.read().decode("utf-8", errors="replace")
    if size > 4 * MAX_OUTPUT or len(text) > MAX_OUTPUT:
        text = "[... output truncated]\n" + text[-MAX_OUTPUT:]
    return text
