"""The central bare repository and the state directory inside its git dir.

Located with plain file checks (no dulwich): the push hooks use this too.
"""

import os

from .errors import UsageError, UserError
from .state.files import Lock

STATE_DIRNAME = "mergecoord"


def _is_git_dir(path):
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def core_config(git_dir):
    """The [core] keys (lower-cased) of a repository's own config file, read without a
    git process: cheap, and exact enough for core.bare and core.sharedRepository."""
    try:
        with open(os.path.join(os.fspath(git_dir), "config"), errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    section, values = "", {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.strip("[]").strip().lower()
        elif section == "core" and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip().lower()] = value.split("#")[0].split(";")[0].strip().strip('"')
    return values


def _is_bare(git_dir):
    return core_config(git_dir).get("bare", "").lower() in ("true", "yes", "on", "1")


def is_bare_repository(path):
    """Whether `path` is itself a bare repository's git dir (plain file checks)."""
    from pathlib import Path

    return _is_git_dir(Path(path)) and _is_bare(path)


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

    # -- who may write ------------------------------------------------------------

    def share(self):
        """Make this process create files as core.sharedRepository asks (files.share);
        returns that mode (None: not shared)."""
        from .state.files import share

        return share(core_config(self.root).get("sharedrepository"))

    def owner(self):
        """(uid, login) of the repository's owner: the owner of its git dir."""
        uid = os.stat(self.root).st_uid
        return uid, login_of(uid)

    def may_write(self):
        """Whether this process may write here without leaving behind files that the
        owner (or, in a shared repository, the group) cannot use."""
        from .state.files import may_write, shared_mode

        try:
            shared = shared_mode(core_config(self.root).get("sharedrepository"))
        except ValueError:
            shared = None
        return may_write(self.root, shared)

    def not_writer(self):
        """None when this process may write here, else (owner login, caller login)."""
        if self.may_write():
            return None
        return self.owner()[1], login_of(os.geteuid())


    def require_writer(self, argv=None):
        """Refuse, in one line naming the owner and the command to run instead, a
        command that would write here as another user: it would leave files behind
        that the owner's pushes and runner cannot replace or append to."""
        who = self.not_writer()
        if who is None:
            return
        owner, me = who
        raise UserError(f"{self.root} belongs to {owner}, not {me}: run this as {owner}, "
                        f"e.g. {run_as(owner, self.root, argv)}")


def run_as(user, root, argv=None):
    """The command line that repeats this command as `user` (sudo does not pass
    MERGECOORD_REPO through, so the repository is named with --repo)."""
    import shlex
    import sys

    argv = list(sys.argv if argv is None else argv)
    program = argv[0] if argv else "mergecoord"
    if os.path.basename(program) == "__main__.py":
        program = [sys.executable, "-m", "mergecoord"]
    else:
        program = [os.path.abspath(program) if os.sep in program else program]
    rest = argv[1:]
    if "init" not in rest and not any(a == "--repo" or a.startswith("--repo=") for a in rest):
        rest = ["--repo", root] + rest
    return "sudo -u " + shlex.join([user, *program, *rest])


def login_of(uid):
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


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
    central.share()
    if need_init and not central.initialised:
        raise UserError(f"{p} is not set up for mergecoord (run 'mergecoord init {p}')")
    return central


def default_repo_path(explicit=None):
    return explicit or os.environ.get("MERGECOORD_REPO") or os.getcwd()
