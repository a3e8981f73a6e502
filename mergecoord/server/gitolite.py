"""Living with gitolite: its hooks, its repo-specific hooks, and its groups.

gitolite owns part of every repository's `hooks/` directory: `update` is its access
check, and with the `repo-specific-hooks` feature a `pre-receive`/`post-receive`
listed in gitolite.conf (`option hook.post-receive = NAME`) becomes a symlink to
its hook driver, which runs `$LOCAL_CODE/hooks/repo-specific/NAME` through a
`post-receive.h00-NAME` symlink. Each `gitolite setup` or push of gitolite-admin
re-creates those links. So on a gitolite repository mergecoord never installs
`hooks/pre-receive` or `hooks/post-receive` itself (gitolite would silently replace
them, or they would displace its driver): its launchers go into
`$LOCAL_CODE/hooks/repo-specific/` and gitolite.conf names them.

Also here: `@group` deciders, answered by `gitolite list-memberships`. Imported by
the pre-receive hook (for deciders), so standard library only; it never changes
gitolite's own files or its configuration.
"""

import os
import subprocess

HOOKS = {"pre-receive": "mergecoord-pre-receive", "post-receive": "mergecoord-post-receive"}


def manages(git_dir):
    """Whether gitolite manages this repository: it writes `gl-conf` into the
    repositories it compiles rules for, and links its `update` hook into all of them."""
    update = os.path.join(git_dir, "hooks", "update")
    return os.path.exists(os.path.join(git_dir, "gl-conf")) or (
        os.path.islink(update) and "gitolite" in os.readlink(update))


def _gitolite(*args, environ=None):
    env = os.environ if environ is None else environ
    # Inside a push gitolite names its own directory; distributions may put the
    # command elsewhere (Debian: /usr/bin/gitolite), so PATH is the fallback.
    program = os.path.join(env.get("GL_BINDIR") or "", "gitolite")
    if not os.access(program, os.X_OK):
        program = "gitolite"
    try:
        proc = subprocess.run([program, *args], capture_output=True, text=True, timeout=30,
                              env={k: v for k, v in env.items() if not k.startswith("GIT_")})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc


def query_rc(name):
    """A gitolite rc value (from the gitolite user's ~/.gitolite.rc), or "" when unset;
    None when the gitolite command cannot be run."""
    proc = _gitolite("query-rc", name)
    if proc is None or proc.returncode not in (0, 1):
        return None
    return proc.stdout.strip()


def groups_of(user, environ=None):
    """The gitolite groups (`@name`) `user` belongs to; empty when gitolite cannot say."""
    proc = _gitolite("list-memberships", "-u", user, environ=environ)
    if proc is None or proc.returncode:
        return set()
    return {line.strip() for line in proc.stdout.splitlines() if line.strip().startswith("@")}


def is_decider(user, deciders, environ=None):
    """`user` is named in `deciders`, or is in one of its `@group`s (gitolite's groups:
    asked only when a `@group` is listed)."""
    if user in deciders:
        return True
    wanted = {d for d in deciders if d.startswith("@")}
    return bool(wanted and wanted & groups_of(user, environ))


def wiring(git_dir, local_code):
    """{hook: True/False}: whether gitolite runs our launcher for that hook here (its
    driver in `hooks/<hook>` and a `hooks/<hook>.hNN-<ours>` link to our launcher)."""
    from ..install import gitolite_owns

    hooks = os.path.join(git_dir, "hooks")
    out = {}
    for hook, name in HOOKS.items():
        ours = os.path.realpath(os.path.join(local_code, "hooks", "repo-specific", name))
        linked = [n for n in _listdir(hooks) if n.startswith(hook + ".h")
                  and os.path.realpath(os.path.join(hooks, n)) == ours]
        out[hook] = bool(linked) and gitolite_owns(os.path.join(hooks, hook))
    return out


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def repo_name(git_dir, repo_base):
    """The repository's name in gitolite.conf: its path under GL_REPO_BASE without .git."""
    rel = os.path.relpath(os.path.realpath(git_dir), os.path.realpath(repo_base or "/"))
    if repo_base and not rel.startswith(".."):
        return rel[:-4] if rel.endswith(".git") else rel
    name = os.path.basename(git_dir)
    return name[:-4] if name.endswith(".git") else name


def conf_lines(name):
    return [f"repo {name}",
            f"    option hook.pre-receive  = {HOOKS['pre-receive']}",
            f"    option hook.post-receive = {HOOKS['post-receive']}"]


def setup(git_dir, install_hook):
    """Install mergecoord's launchers as gitolite repo-specific hooks for `git_dir`.

    Returns (active, lines): whether gitolite already runs them here, and what to
    tell the person (what was installed, or exactly what is left to do)."""
    local_code = query_rc("LOCAL_CODE")
    if local_code is None:
        return False, [
            "the 'gitolite' command did not run; run this as the gitolite user (e.g. sudo -u git -i), then:",
            *_rc_recipe()]
    post_compile = query_rc("POST_COMPILE") or ""
    if not local_code or "repo-specific-hooks" not in post_compile:
        return False, ["gitolite's repo-specific hooks are off; to turn them on:", *_rc_recipe(),
                       f"then run 'mergecoord init {git_dir}' again"]
    from pathlib import Path

    directory = Path(local_code, "hooks", "repo-specific")
    lines = []
    for hook, name in HOOKS.items():
        status = install_hook(directory, hook, filename=name)
        lines.append(f"{status} gitolite repo-specific hook {directory / name}")
    admin_base = query_rc("GL_ADMIN_BASE") or ""
    if admin_base and os.path.realpath(local_code).startswith(os.path.realpath(admin_base) + os.sep):
        lines.append(f"LOCAL_CODE is inside the gitolite-admin repository: commit {directory.name}/"
                     + " and ".join(HOOKS.values()) + " there too, or the next admin push may not carry them")
    wired = wiring(git_dir, local_code)
    if all(wired.values()):
        lines.append("gitolite runs them on this repository (gitolite.conf names them)")
        return True, lines
    name = repo_name(git_dir, query_rc("GL_REPO_BASE"))
    lines += ["to finish, add these options to the repository in gitolite.conf and push gitolite-admin:",
              *("    " + line for line in conf_lines(name)),
              f"then 'mergecoord init {git_dir}' says they are active"]
    return False, lines


def _rc_recipe():
    return ['    in ~/.gitolite.rc: LOCAL_CODE => "$ENV{HOME}/local", and \'repo-specific-hooks\' in ENABLE',
            "    then: mkdir -p ~/local/hooks/repo-specific && gitolite setup"]
