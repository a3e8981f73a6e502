"""Other local users for the tests that need more than one login (made with useradd,
so only as root), and running a command as one of them."""

import os
import pwd
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


class User:
    def __init__(self, entry):
        self.name, self.uid, self.gid, self.home = entry.pw_name, entry.pw_uid, entry.pw_gid, entry.pw_dir

    def run(self, argv, **kw):
        """`argv` run as this user (a plain subprocess when that is us already)."""
        return subprocess.run(as_user(self, argv), **kw)


def current():
    return User(pwd.getpwuid(os.geteuid()))


def make(name, groups=()):
    """The local user `name`, made (with `groups`, made too) when missing. Root only."""
    for group in groups:
        if subprocess.run(["getent", "group", group], capture_output=True).returncode:
            subprocess.run(["groupadd", "--system", group], check=True, capture_output=True)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        *(["--groups", ",".join(groups)] if groups else []), name],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    return User(entry)


def as_user(user, argv):
    """`argv` run as `user`, with that user's groups: itself when that is us already."""
    if os.geteuid() == user.uid:
        return list(argv)
    return ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups", *argv]


def cannot_run_mergecoord(user):
    """Why `user` cannot run this installation of mergecoord (None when it can): the
    README's rule that the user receiving pushes must be able to read and run it."""
    # Through sh, as the hook launchers do: `[ -x ]` is their test, and a path through a
    # directory the user cannot search (a pyenv Python under /root) fails it.
    probe = user.run(["sh", "-c", '[ -x "$1" ] && exec "$1" -c "import mergecoord.server.hook"', "sh", PYTHON],
                     cwd="/", capture_output=True, text=True)
    if probe.returncode:
        return (f"{user.name} cannot run {PYTHON} (the README's deployment section says why the "
                f"installation must be readable by the user receiving pushes) {probe.stderr.strip()[-200:]}")
    return None


def root_problem():
    """Why two-user tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to make local users (useradd); CI runs as root"
    missing = [p for p in ("useradd", "groupadd", "setpriv") if subprocess.run(
        ["sh", "-c", f"command -v {p}"], capture_output=True).returncode]
    return f"{', '.join(missing)} missing" if missing else None
