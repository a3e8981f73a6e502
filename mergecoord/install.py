"""Installing mergecoord's hooks without clobbering anyone's (after pre-commit): the
server's (`mergecoord init`) and a worker clone's (`mergecoord install-hooks`).

A hook that is already there and is not ours is moved to `<hook>.legacy` and our
launcher runs it first; ours are recognised by MARKER, so installing twice
changes nothing, and uninstalling puts the old hook back.
"""

import os
import subprocess
import sys
from pathlib import Path

from .errors import UserError
from .resources import hook_template

MARKER = "mergecoord-hook"
SERVER_HOOKS = ("pre-receive", "post-receive")
WORKER_HOOKS = ("commit-msg", "pre-push", "post-merge")


def gitolite_owns(path):
    """Whether a hook is gitolite's (a link to its hook driver or to one of its hooks): never
    ours to replace or chain (`server.gitolite` sets ours up beside it)."""
    return os.path.islink(path) and ("gitolite" in os.readlink(path)
                                     or os.path.basename(os.readlink(path)) == "multi-hook-driver")


def hooks_dir(git_dir, work_tree=None):
    """The hooks directory git will use for this repository, honouring core.hooksPath."""
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "config", "--get", "core.hooksPath"],
                          capture_output=True, text=True)
    custom = proc.stdout.strip()
    if custom:
        base = Path(work_tree or git_dir)
        return (base / os.path.expanduser(custom)).resolve()
    return Path(git_dir) / "hooks"


def worker_hooks_dir(common_dir, work_tree):
    """The hooks directory of a worker's clone, honouring core.hooksPath, or a one-line
    UserError when installing there would surprise: a hooks path from the global or
    system config is shared by every repository, and one inside the work tree is a
    directory the project tracks (our launchers carry this machine's paths)."""
    proc = subprocess.run(["git", "-C", str(work_tree), "config", "--show-scope", "--get", "core.hooksPath"],
                          capture_output=True, text=True)
    scope, _, value = proc.stdout.rstrip("\n").partition("\t")
    if proc.returncode or not value:
        return Path(common_dir) / "hooks"
    path = (Path(work_tree) / os.path.expanduser(value)).resolve()
    hint = f"run 'git -C {work_tree} config --local core.hooksPath .git/hooks' to use this clone's own, then again"
    if scope != "local":
        raise UserError(f"core.hooksPath is set in your {scope} git config ({value}), shared by other "
                        f"repositories; not installing there ({hint})")
    inside = Path(work_tree).resolve()
    if (path == inside or inside in path.parents) and Path(common_dir).resolve() not in (path, *path.parents):
        raise UserError(f"core.hooksPath points into the work tree ({value}), which the project tracks; "
                        f"not installing there ({hint})")
    return path


def worker_hooks(clone, uninstall=False):
    """Install (or, with `uninstall`, remove) the hooks of a worker's Clone;
    [(hook path, status)] where status is installed, updated, unchanged, chained or removed."""
    directory = worker_hooks_dir(clone.common_dir, clone.top)
    if uninstall:
        return [(directory / name, "removed") for name in WORKER_HOOKS if uninstall_hook(directory, name)]
    return [(directory / name, install_hook(directory, name)) for name in WORKER_HOOKS]


def hook_sys_path():
    """The directories the isolated hook interpreter needs: mergecoord's own, and
    tomli's on Pythons without tomllib."""
    # This module's own file, not `mergecoord.__file__`: run as `python -m mergecoord` from a
    # directory holding a folder named mergecoord, the package is a namespace without one.
    paths = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    if sys.version_info < (3, 11):
        import tomli

        paths.append(os.path.dirname(os.path.dirname(os.path.abspath(tomli.__file__))))
    return os.pathsep.join(paths)


def render(name, python=None):
    text = hook_template(name).read_text()
    return text.replace("@PYTHON@", python or sys.executable).replace("@SYS_PATH@", hook_sys_path())


def install_hook(directory, name, python=None, filename=None):
    """Install one hook (as `filename`, default its name); returns what happened:
    installed, updated, unchanged or chained."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (filename or name)
    content = render(name, python)
    status = "installed"
    if target.exists() or target.is_symlink():
        try:
            existing = target.read_text(errors="replace")
        except OSError:
            existing = ""
        if MARKER in existing:
            if existing == content:
                return "unchanged"
            status = "updated"
        else:
            legacy = directory / f"{name}.legacy"
            if gitolite_owns(target):
                raise UserError(f"{target} is gitolite's; mergecoord's hooks go in as gitolite "
                                "repo-specific hooks ('mergecoord init' on the repository sets them up)")
            if legacy.exists():
                raise UserError(f"{target} is not mergecoord's and {legacy} exists too; "
                                "merge them by hand, then run this again")
            os.replace(target, legacy)
            if not os.access(legacy, os.X_OK):
                legacy.chmod(legacy.stat().st_mode | 0o111)
            status = "chained"
    tmp = directory / f".{name}.mergecoord.tmp"
    tmp.write_text(content)
    tmp.chmod(0o755)
    os.replace(tmp, target)
    return status


def uninstall_hook(directory, name):
    target = directory / name
    if target.exists() and MARKER in target.read_text(errors="replace"):
        target.unlink()
        legacy = directory / f"{name}.legacy"
        if legacy.exists():
            os.replace(legacy, target)
        return True
    return False


def runs_ours(path):
    """Whether the hook at `path` runs mergecoord: our launcher itself, or gitolite's hook
    driver with one of its `<hook>.hNN-*` links pointing at our launcher."""
    def ours(p):
        try:
            with open(p, errors="replace") as f:
                return MARKER in f.read(4096)
        except OSError:
            return False

    if not gitolite_owns(path):
        return ours(path)
    directory, name = os.path.split(path)
    try:
        siblings = os.listdir(directory)
    except OSError:
        return False
    return any(ours(os.path.join(directory, n)) for n in siblings if n.startswith(name + ".h"))


def server_hook_problems(git_dir):
    """One line for each server hook that does not run mergecoord (removed, replaced by
    another, or displaced by gitolite), for `mergecoord status`."""
    directory = hooks_dir(git_dir)
    effect = {"post-receive": "pushes are not queued", "pre-receive": "answers are not checked"}
    out = []
    for name in SERVER_HOOKS:
        path = directory / name
        if not runs_ours(path):
            what = ("missing" if not os.path.lexists(path) else
                    "gitolite's hook driver, without mergecoord's repo-specific hook" if gitolite_owns(path)
                    else "not mergecoord's")
            out.append(f"hooks/{name} does not run mergecoord ({what}): {effect[name]}; "
                       f"run 'mergecoord init {git_dir}'")
    return out
