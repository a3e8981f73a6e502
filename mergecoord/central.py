"""The central bare repository and the state directory inside its git dir.

Located with plain file checks (no dulwich): the push hooks use this too.
"""

import os
from pathlib import Path

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
    """A bare repository that mergecoord coordinates."""

    def __init__(self, git_dir):
        self.git_dir = Path(git_dir).resolve()
        self.state_dir = self.git_dir / STATE_DIRNAME
        self.lock = Lock(str(self.state_dir / "state.lock"))

    def __repr__(self):
        return f"Central({str(self.git_dir)!r})"

    def path(self, *parts):
        return self.state_dir.joinpath(*parts)

    @property
    def config_path(self):
        return self.path("config.toml")

    @property
    def initialised(self):
        return self.config_path.is_file()

    def ensure_state_dir(self):
        for sub in ("", "logs"):
            self.path(sub).mkdir(exist_ok=True)


def locate(path, *, need_init=True):
    """The Central for `path`, or a one-line UserError saying what is wrong."""
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
