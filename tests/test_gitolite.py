"""gitolite, as the README deploys it: a real gitolite3 (its own home, its conf pushed
through gitolite-admin) in front of the central repository. Pushes reach it as sshd
would hand them over, through gitolite-shell with SSH_ORIGINAL_COMMAND (a two-line
stand-in for ssh, so no daemon is needed); everything behind that is gitolite's own."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, git

GITOLITE = shutil.which("gitolite")
MC = str(ROOT / ".venv" / "bin" / "mergecoord")
DECIDE = str(ROOT / ".venv" / "bin" / "git-merge-decide")
pytestmark = pytest.mark.skipif(not (GITOLITE and shutil.which("ssh-keygen")),
                                reason="gitolite3 or ssh-keygen missing (apt-get install gitolite3; .ci/run installs it)")

CONF = """\
@deciders = alice
@workers  = alice bob apollo

repo gitolite-admin
    RW+ = admin

repo project
    RW+ sprint/                  = @workers
    RW  main                     = admin
    RW  refs/mergecoord/answers/ = @deciders
    R                            = @all
"""


class Gitolite:
    """gitolite set up in `home` for the user running the tests."""

    def __init__(self, base):
        self.home = base / "gitolite-home"
        self.home.mkdir()
        self.base = base
        self.env = {"PATH": os.environ["PATH"], "HOME": str(self.home)}
        keys = base / "keys"
        keys.mkdir()
        for user in ("admin", "alice", "bob", "apollo"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user, "-f", str(keys / user)],
                           check=True)
        self.run("setup", "-pk", str(keys / "admin.pub"))
        self.shell = Path(self.run("query-rc", "GL_BINDIR").stdout.strip()) / "gitolite-shell"
        ssh = base / "ssh"       # what sshd's authorized_keys line does: gitolite-shell <user>
        ssh.write_text("#!/bin/sh\n"
                       f"HOME={self.home} SSH_CONNECTION='127.0.0.1 1 127.0.0.1 22' SSH_ORIGINAL_COMMAND=\"$2\" "
                       f"exec {self.shell} \"${{1#gl-}}\"\n")
        ssh.chmod(0o755)
        os.environ["GIT_SSH_COMMAND"] = str(ssh)
        os.environ["GIT_SSH_VARIANT"] = "simple"        # git passes just HOST COMMAND
        self.keys = keys

    def run(self, *args, check=True):
        return subprocess.run([GITOLITE, *args], env=self.env, cwd=self.home, capture_output=True, text=True,
                              check=check)

    def enable_repo_specific_hooks(self):
        rc = self.home / ".gitolite.rc"
        text = rc.read_text()
        text = text.replace('# LOCAL_CODE                =>  "$ENV{HOME}/local",', 'LOCAL_CODE => "$ENV{HOME}/local",')
        text = text.replace("# 'repo-specific-hooks',", "'repo-specific-hooks',")
        rc.write_text(text)
        (self.home / "local" / "hooks" / "repo-specific").mkdir(parents=True)
        self.run("setup")

    def push_conf(self, conf):
        admin = self.base / "gitolite-admin"
        if not admin.exists():
            git("clone", "-q", "gl-admin:gitolite-admin", str(admin))
        for user in ("alice", "bob", "apollo"):
            shutil.copy(self.keys / f"{user}.pub", admin / "keydir" / f"{user}.pub")
        (admin / "conf" / "gitolite.conf").write_text(conf)
        git("add", "-A", cwd=admin)
        git("commit", "-q", "-m", "conf", cwd=admin)
        return git("push", "-q", "origin", "HEAD:master", cwd=admin)


@pytest.fixture
def gitolite(tmp_path, monkeypatch):
    for var in ("GIT_SSH_COMMAND", "GIT_SSH_VARIANT"):      # set by Gitolite; restored after the test
        monkeypatch.setenv(var, "")
    yield Gitolite(tmp_path)


def mc(*args, env):
    return subprocess.run([MC, *map(str, args)], env=env, capture_output=True, text=True)


def test_init_installs_its_hooks_as_gitolite_repo_specific_hooks_and_deciders_can_be_a_group(gitolite, tmp_path):
    gitolite.push_conf(CONF)
    repo = gitolite.home / "repositories" / "project.git"
    hooks = repo / "hooks"
    update = os.readlink(hooks / "update")

    # gitolite's repo-specific hooks are off: init changes none of gitolite's hooks and says what to do.
    proc = mc("init", repo, env=gitolite.env)
    assert proc.returncode == 1
    assert "gitolite's repo-specific hooks are off" in proc.stdout
    assert "'repo-specific-hooks' in ENABLE" in proc.stdout
    assert not (hooks / "pre-receive").exists() and not (hooks / "post-receive").exists()
    assert os.readlink(hooks / "update") == update

    # With them on, init installs its launchers in LOCAL_CODE and prints the conf lines.
    gitolite.enable_repo_specific_hooks()
    proc = mc("init", repo, env=gitolite.env)
    assert proc.returncode == 1 and "not active" in proc.stderr
    lines = proc.stdout.splitlines()
    start = lines.index("    repo project")
    options = [line.strip() for line in lines[start + 1:start + 3]]
    assert options == ["option hook.pre-receive  = mergecoord-pre-receive",
                       "option hook.post-receive = mergecoord-post-receive"]
    assert (gitolite.home / "local" / "hooks" / "repo-specific" / "mergecoord-post-receive").exists()
    assert not (hooks / "post-receive").exists()

    # The admin adds them to gitolite.conf; gitolite links its driver and our launchers in.
    gitolite.push_conf(CONF + "\nrepo project\n    " + "\n    ".join(options) + "\n")
    assert os.path.basename(os.readlink(hooks / "post-receive")) == "multi-hook-driver"
    proc = mc("init", repo, env=gitolite.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gitolite runs them on this repository" in proc.stdout
    assert os.readlink(hooks / "update") == update
    status = json.loads(mc("--repo", repo, "status", "--json", env=gitolite.env).stdout)
    assert status["warnings"] == []

    # HEAD to main, which repositories gitolite made lack.
    git("--git-dir", str(repo), "symbolic-ref", "HEAD", "refs/heads/main")
    clones = {}
    for user in ("admin", "alice", "bob", "apollo"):
        clones[user] = tmp_path / f"clone-{user}"
        git("clone", "-q", f"gl-{user}:project", str(clones[user]))
        git("config", "user.name", user.title(), cwd=clones[user])
        git("config", "user.email", f"{user}@example.com", cwd=clones[user])
    admin = clones["admin"]
    (admin / "f.py").write_text("def f():\n    return 1\n")
    git("add", "-A", cwd=admin)
    git("commit", "-q", "-m", "base", cwd=admin)
    git("push", "-q", "origin", "HEAD:main", cwd=admin)

    for user, value in (("apollo", 2), ("bob", 3)):
        work = clones[user]
        git("fetch", "-q", cwd=work)
        git("checkout", "-q", "-b", f"sprint/{user}", "origin/main", cwd=work)
        (work / "f.py").write_text(f"def f():\n    return {value}\n")
        git("commit", "-q", "-am", f"return {value}\n\nREADY_TO_MERGE", cwd=work)
    said = git("push", "origin", "sprint/apollo", cwd=clones["apollo"]).stderr
    assert "remote: mergecoord: queued sprint/apollo as m-0001" in said
    said = git("push", "origin", "sprint/bob", cwd=clones["bob"]).stderr
    assert "remote: mergecoord: queued sprint/bob as m-0002" in said

    def decisions():
        proc = subprocess.run([DECIDE, "list", "--json"], cwd=clones["alice"], capture_output=True, text=True)
        return json.loads(proc.stdout)["decisions"] if proc.returncode == 0 else []

    deadline = time.monotonic() + 60
    while not decisions() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [d["branch"] for d in decisions()] == ["sprint/bob"]

    # bob may not write answers: gitolite refuses, and he sees gitolite's own words.
    proc = subprocess.run([DECIDE, "d-0001", "B"], cwd=clones["bob"], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FATAL: W refs/mergecoord/answers/d-0001 project bob DENIED by fallthru" in proc.stderr
    # Deciders named by a gitolite group: mergecoord's own check refuses bob too...
    config = repo / "mergecoord" / "config.toml"
    config.write_text(config.read_text().replace("# deciders = []", 'deciders = ["@deciders"]'))
    proc = subprocess.run([DECIDE, "d-0001", "B"], cwd=clones["bob"], capture_output=True, text=True)
    assert proc.returncode == 1 and "bob may not decide (escalation.deciders: @deciders)" in proc.stderr
    # ...and lets alice answer: GL_USER names her, gitolite says she is in @deciders.
    proc = subprocess.run([DECIDE, "d-0001", "B", "-m", "three"], cwd=clones["alice"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "decision d-0001 answered B by alice" in proc.stdout

    deadline = time.monotonic() + 60
    while "Resolved-By: human" not in git("--git-dir", str(repo), "log", "-1", "main").stdout:
        assert time.monotonic() < deadline, (repo / "mergecoord" / "logs" / "runner.log").read_text()
        time.sleep(0.2)
    assert git("--git-dir", str(repo), "show", "main:f.py").stdout == "def f():\n    return 3\n"
