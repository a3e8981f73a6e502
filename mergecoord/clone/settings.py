"""A worker's clone as mergecoord sees it: its settings (`git config mergecoord.*`, or
the central config's when it is on this machine), who the worker is, and its remote.

The worker hooks (commit-msg, pre-push, post-merge) use this, so it imports only the
standard library and asks git through a few short `git` processes. It never writes
outside the clone's own git config.
"""

import os
import subprocess
from pathlib import Path

from ..errors import UserError

FETCH_REFSPEC = "+refs/mergecoord/*:refs/mergecoord/*"     # what makes `git pull` bring the inbox

# Settings a clone reads from its own git config (`git config mergecoord.<key>`);
# `install-hooks` copies them from the central config when it can read it.
DEFAULTS = {"marker": "READY_TO_MERGE", "branches": ("sprint/*",), "main": "main",
            "behindlimit": 50}


class Clone:
    """A non-bare repository whose remote is a mergecoord central repository."""

    def __init__(self, top, git_dir, common_dir, config):
        self.top, self.git_dir, self.common_dir = Path(top), Path(git_dir), Path(common_dir)
        self.config = config          # lower-cased key -> [values], from one `git config` call

    @classmethod
    def find(cls, path=None):
        """The clone at `path` (default: the current directory), or a one-line UserError."""
        where = str(path or ".")
        if path is not None and not Path(path).is_dir():
            raise UserError(f"{path}: no such directory")
        proc = subprocess.run(
            ["git", "-C", where, "rev-parse", "--path-format=absolute", "--is-bare-repository",
             "--git-dir", "--git-common-dir", "--show-toplevel"],
            capture_output=True, text=True, env=git_env())
        lines = proc.stdout.splitlines()
        if lines[:1] == ["true"]:
            raise UserError(f"{os.path.abspath(where)} is a bare repository; this command is for a "
                            "worker's clone (the central repository is set up by 'mergecoord init')")
        if proc.returncode or len(lines) < 4:
            raise UserError(f"{os.path.abspath(where)} is not inside a git clone "
                            "(run this in your clone of the central repository)")
        _, git_dir, common_dir, top = lines[:4]
        return cls(top, git_dir, common_dir, read_config(top))

    def git(self, *args, check=False, input=None):
        return subprocess.run(["git", "-C", str(self.top), *args], capture_output=True, text=True,
                              input=input, check=check, env=git_env())

    # -- settings ---------------------------------------------------------------

    def get(self, key, default=None):
        values = self.config.get(key.lower())
        return values[-1] if values else default

    @property
    def marker(self):
        return self.get("mergecoord.marker") or DEFAULTS["marker"]

    @property
    def branches(self):
        return tuple(self.config.get("mergecoord.branches") or DEFAULTS["branches"])

    @property
    def main(self):
        return self.get("mergecoord.main") or DEFAULTS["main"]

    @property
    def behind_limit(self):
        try:
            return int(self.get("mergecoord.behindlimit", DEFAULTS["behindlimit"]))
        except ValueError:
            return DEFAULTS["behindlimit"]

    def branch_matches(self, branch):
        from ..config import branch_matches

        return branch_matches(branch, self.branches)

    def current_branch(self):
        """The checked-out branch's short name, or None on a detached HEAD."""
        proc = self.git("symbolic-ref", "-q", "--short", "HEAD")
        return proc.stdout.strip() or None

    def remote(self, explicit=None):
        """The remote that is the central repository: explicit, else the current
        branch's, else origin, else the only one."""
        remotes = self.git("remote").stdout.split()
        if explicit:
            if explicit not in remotes:
                raise UserError(f"{self.top} has no remote named {explicit!r} "
                                f"(its remotes: {', '.join(remotes) or 'none'})")
            return explicit
        branch = self.current_branch()
        upstream = self.get(f"branch.{branch}.remote") if branch else None
        for name in (upstream, "origin"):
            if name in remotes:
                return name
        if len(remotes) == 1:
            return remotes[0]
        if not remotes:
            raise UserError(f"{self.top} has no remote (it must be a clone of the central repository: "
                            "'git remote add origin URL')")
        raise UserError(f"{self.top} has several remotes and none is named origin (pass --remote NAME)")

    def set(self, key, *values):
        """Set `key` in the clone's own git config to `values` (several for a multi-valued key)."""
        self.git("config", "--local", "--unset-all", key)
        for value in values:
            self.git("config", "--local", "--add", key, value, check=True)
        self.config[key.lower()] = list(values)

    def track_state(self, remote, on=True):
        """Make `git fetch`/`git pull` from `remote` bring refs/mergecoord/* (or stop);
        True when the config changed."""
        key = f"remote.{remote}.fetch"
        present = FETCH_REFSPEC in self.config.get(key, [])
        if on and not present:
            self.git("config", "--local", "--add", key, FETCH_REFSPEC, check=True)
        elif not on and present:
            self.git("config", "--local", "--fixed-value", "--unset", key, FETCH_REFSPEC, check=True)
        else:
            return False
        self.config = read_config(self.top)
        return True

    def adopt_central_settings(self, remote):
        """Copy the central config's marker, branches and main into `mergecoord.*` when
        `remote` is a path on this machine to an initialised central repository (the
        hooks cannot read a server's config over the network; elsewhere the defaults,
        or what the worker sets with `git config mergecoord.*`, apply)."""
        from .. import config as config_mod
        from ..central import Central

        url = self.get(f"remote.{remote}.url", "")
        if url.startswith("file://"):
            url = url[len("file://"):]
        if not url or "://" in url or (":" in url.split("/")[0] and not os.path.exists(url)):
            return False
        central = Central(Path(url) if os.path.isabs(url) else self.top / url)
        if not central.initialised:
            return False
        try:
            config = config_mod.load(central)
        except (UserError, OSError):
            return False
        self.set("mergecoord.marker", config.marker)
        self.set("mergecoord.branches", *config.branches)
        self.set("mergecoord.main", config.main)
        return True

    # -- who the worker is ------------------------------------------------------

    def identity(self):
        """(name, email, where the name came from). The name is `mergecoord.worker`
        when set (install-hooks --worker), else `user.name`."""
        email = self.get("user.email", "")
        worker = self.get("mergecoord.worker")
        if worker:
            return worker, email, "git config mergecoord.worker"
        return self.get("user.name", ""), email, "git config user.name"


def git_env():
    """The environment for git here: never prompt (a hook or a fetch must not hang)."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


def read_config(top):
    """All of git's config for the clone in one process: lower-cased key -> [values]."""
    proc = subprocess.run(["git", "-C", str(top), "config", "-z", "--list"],
                          capture_output=True, text=True, env=git_env())
    config = {}
    for item in proc.stdout.split("\0"):
        if item:
            key, _, value = item.partition("\n")
            config.setdefault(key.lower(), []).append(value)
    return config
