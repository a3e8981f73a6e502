"""Real repositories for the tests: a central bare repo set up with mergecoord, and
worker clones that commit and push with plain git (the installed hooks fire)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def git(*args, cwd=None, check=True, input=None, env=None):
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, input=input, env=env)
    if check and proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def mergecoord(*args, repo=None, check=False, input=None, env=None, cwd=None):
    """Run the real CLI in a subprocess, as a user would."""
    cmd = [sys.executable, "-m", "mergecoord"]
    if repo is not None:
        cmd += ["--repo", str(repo)]
    proc = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                          input=input, env=env, cwd=cwd)
    if check and proc.returncode:
        raise AssertionError(f"mergecoord {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def mergecoord_json(*args, repo=None):
    proc = mergecoord(*args, "--json", repo=repo, check=True)
    return json.loads(proc.stdout)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path_factory, monkeypatch):
    """No test reads the user's git config; every commit has a known identity."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("MERGECOORD_REPO", raising=False)
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n")


class Central:
    """The central bare repository."""

    def __init__(self, path):
        self.path = path

    @property
    def state(self):
        return self.path / "mergecoord"

    def set_config(self, text):
        (self.state / "config.toml").write_text(text)

    def mc(self, *args, **kw):
        return mergecoord(*args, repo=self.path, **kw)

    def json(self, *args):
        return mergecoord_json(*args, repo=self.path)

    def run_once(self):
        return self.mc("start", "--once", check=True)

    def git(self, *args, **kw):
        return git("--git-dir", str(self.path), *args, **kw)

    def show(self, rev_path):
        return self.git("show", rev_path).stdout

    def rev(self, rev):
        return self.git("rev-parse", rev).stdout.strip()

    def merge_ids(self, ref="main"):
        """Merge-Id trailers on main's first-parent chain, oldest first."""
        out = self.git("log", "--first-parent", "--format=%(trailers:key=Merge-Id,valueonly)", ref).stdout
        return [line.strip() for line in reversed(out.splitlines()) if line.strip()]

    def trailers(self, rev="main"):
        out = self.git("log", "-1", "--format=%(trailers:only,unfold)", rev).stdout
        return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)

    def wait_for(self, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.1)
        return predicate()


class Worker:
    """A worker's clone: edits files, commits, pushes with plain git."""

    def __init__(self, path, name, email):
        self.path, self.name, self.email = path, name, email

    def git(self, *args, **kw):
        return git(*args, cwd=self.path, **kw)

    def write(self, relpath, text):
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def read(self, relpath):
        return (self.path / relpath).read_text()

    def branch(self, name, start="origin/main"):
        self.git("fetch", "-q", "origin")
        self.git("checkout", "-q", "-B", name, start)

    def commit(self, message, files=None, ready=True):
        for relpath, text in (files or {}).items():
            self.write(relpath, text)
        self.git("add", "-A")
        if ready and "READY_TO_MERGE" not in message:
            message += "\n\nREADY_TO_MERGE"
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push(self, *refspec, force=False, check=True):
        args = ["push", "origin"] + (["--force"] if force else [])
        args += list(refspec) or ["HEAD"]
        return self.git(*args, check=check)

    def work(self, branch, files, message="work", ready=True, push=True):
        """Branch off the latest main, commit `files`, push: the whole worker story in one call."""
        self.branch(branch)
        sha = self.commit(message, files, ready=ready)
        if push:
            self.push()
        return sha


@pytest.fixture
def central(tmp_path):
    """A central bare repo with mergecoord set up (runner autostart off: tests drive it),
    and a first commit on main."""
    path = tmp_path / "central.git"
    mergecoord("init", "--create", path, check=True)
    repo = Central(path)
    text = (repo.state / "config.toml").read_text().replace("# autostart = true", "autostart = false")
    repo.set_config(text)
    seed = tmp_path / "seed"
    git("clone", "-q", str(path), str(seed))
    (seed / "README.md").write_text("# project\n")
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "initial", cwd=seed)
    git("push", "-q", "origin", "HEAD:main", cwd=seed)
    return repo


@pytest.fixture
def make_worker(tmp_path, central):
    def make(name, email=None):
        path = tmp_path / f"worker-{name.lower()}"
        git("clone", "-q", str(central.path), str(path))
        worker = Worker(path, name, email or f"{name.lower()}@example.com")
        worker.git("config", "user.name", name)
        worker.git("config", "user.email", worker.email)
        return worker
    return make


@pytest.fixture
def agents(tmp_path, monkeypatch):
    """Stand-in `claude`, `codex`, `gemini` and `aider` executables on PATH (tests/standins.py)."""
    from standins import install

    return install(tmp_path, monkeypatch)
