"""The central bare repository and the state directory inside its git dir.

Located with plain file checks (no dulwich): the push hooks use this too.
"""

import os

from .errors import UsageError, UserError
from .state.files import Lock

STATE_DIRNAME = "mergecoord"


def _is_git_dir(path):
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _is_bare(git_dir):
    """Read core.bare from the config without a git process (cheap, exact enough)."""
    try:
        text = (git_dir / "config").read_text(errors="replace")
    except OSError:
        return False
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
        elif section == "core" and "=" in line:
            key, _, value = line.partition("=")
            if key.strip().lower() == "bare":
                return value.strip().lower() in ("true", "yes", "on", "1")
    return False


class Central:
    """A bare repository that mergecoord coordinates.

    `file()` gives state paths as strings and is what the push-hook path uses
    (pathlib alone costs a push ~4 ms of imports); `path()`, `git_dir` and
    `state_dir` give `Path`s for everything else."""

    def __init__(self, git_dir):
        self.root = os.path.realpath(os.fspath(git_dir))
        self.state_root = os.path.join(self.root, STATE_DIRNAME)
        self.lock = Lock(os.path.join(self.state_root, "state.lock"))

    def __repr__(self):
        return f"Central({self.root!r})"

    @property
    def git_dir(self):
        from pathlib import Path

        return Path(self.root)

    @property
    def state_dir(self):
        return self.git_dir / STATE_DIRNAME

    def runner_lock(self):
        """The lock a runner holds while it works: one runner per repository."""
        return Lock(self.file("runner.lock"))

    def runner_active(self):
        probe = self.runner_lock()
        if probe.acquire(blocking=False):
            probe.release()
            return False
        return True

    def file(self, *parts):
        return os.path.join(self.state_root, *parts)

    def path(self, *parts):
        return self.state_dir.joinpath(*parts)

    @property
    def config_path(self):
        return self.path("config.toml")

    @property
    def initialised(self):
        return os.path.isfile(self.file("config.toml"))

    def ensure_state_dir(self):
        os.makedirs(self.file("logs"), exist_ok=True)


def server_user(environ=None):
    """Who acts on the server, as its transport says: GL_USER (gitolite/GitLab),
    REMOTE_USER (smart HTTP), else the login of the process."""
    env = os.environ if environ is None else environ
    for var in ("GL_USER", "REMOTE_USER"):
        if env.get(var):
            return env[var]
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def locate(path, *, need_init=True):
    """The Central for `path`, or a one-line UserError saying what is wrong."""
    from pathlib import Path

    p = Path(path).expanduser()
    if not p.exists():
        raise UsageError(f"{p}: no such directory (pass --repo or set MERGECOORD_REPO)")
    p = p.resolve()
    if (p / ".git").exists():
        raise UserError(
            f"{p} is not a bare repository (mergecoord runs on the central repository: "
            "'git init --bare', or pass --repo)"
        )
    if not _is_git_dir(p):
        raise UserError(f"{p} is not a git repository (pass --repo or set MERGECOORD_REPO)")
    if not _is_bare(p):
        raise UserError(f"{p} is not a bare repository (run 'git init --bare' or pass --repo)")
    central = Central(p)
    if need_init and not central.initialised:
        raise UserError(f"{p} is not set up for mergecoord (run 'mergecoord init {p}')")
    return central


def default_repo_path(explicit=None):
    return explicit or os.environ.get("MERGECOORD_REPO") or os.getcwd()
