"""Smart HTTP, as the README deploys it: the central repository served by real
`git http-backend` behind a real web server on loopback (apache2, and nginx + fcgiwrap),
each with the project's own configuration snippet, basic auth for alice (a decider) and
bob (not one). The web server's user owns the repository and runs the hooks and the
runner, as www-data does."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import git
from webserver import ROOT, WebServer, as_user, problem, snippet

USERS = {"alice": "alice-secret", "bob": "bob-secret"}
DECIDE = str(ROOT / ".venv" / "bin" / "git-merge-decide")
MC = str(ROOT / ".venv" / "bin" / "mergecoord")


@pytest.fixture(params=["apache2", "nginx"])
def served(request):
    """(server, path of the bare repository) with mergecoord set up by the server's user."""
    reason = problem(request.param)
    if reason:
        pytest.skip(f"{request.param}: {reason}")
    repos = Path(tempfile.mkdtemp(prefix="mergecoord-repos-"))
    repos.chmod(0o755)
    try:
        with WebServer(request.param, repos, USERS) as server:
            os.chown(repos, server.user.uid, server.user.gid)
            repo = repos / "project.git"
            env = {"PATH": os.environ["PATH"], "HOME": str(server.work)}
            subprocess.run(as_user(server.user, [MC, "init", "--create", str(repo)]), env=env, check=True,
                           capture_output=True)
            config = repo / "mergecoord" / "config.toml"
            text = config.read_text().replace("# deciders = []", 'deciders = ["alice"]')
            assert 'deciders = ["alice"]' in text
            subprocess.run(as_user(server.user, ["tee", str(config)]), input=text, text=True, env=env,
                           check=True, capture_output=True)
            # A hook of the administrator's, chained before ours: it records the environment
            # the web server gives the hooks (and so the runner they start).
            legacy = repo / "hooks" / "post-receive.legacy"
            subprocess.run(as_user(server.user, ["tee", str(legacy)]), text=True, env=env, check=True,
                           capture_output=True, input=f"#!/bin/sh\nenv > {repo}/hook-env.txt\n")
            subprocess.run(as_user(server.user, ["chmod", "755", str(legacy)]), check=True)
            yield server, repo
    finally:
        shutil.rmtree(repos, ignore_errors=True)


def clone(server, login, path, author):
    git("clone", "-q", server.url("project.git", login), str(path))
    git("config", "user.name", author, cwd=path)
    git("config", "user.email", f"{author.lower()}@example.com", cwd=path)
    return path


def push_ready(path, branch, files, message, base="origin/main"):
    git("checkout", "-q", "-B", branch, base, cwd=path)
    for name, text in files.items():
        (path / name).write_text(text)
    git("commit", "-q", "-am", f"{message}\n\nREADY_TO_MERGE", cwd=path)
    return git("push", "origin", branch, cwd=path).stderr


def decide(path, *args):
    return subprocess.run([DECIDE, *args], cwd=path, capture_output=True, text=True)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_smart_http_queues_lets_a_decider_answer_and_refuses_a_non_decider(served, tmp_path):
    server, repo = served
    alice = clone(server, "alice", tmp_path / "alice", "Athena")     # alice's login, Athena's work
    bob = clone(server, "bob", tmp_path / "bob", "Apollo")           # bob's login, Apollo's work
    (alice / "search.py").write_text("def search():\n    return scan()\n")
    git("add", "-A", cwd=alice)
    git("commit", "-q", "-m", "initial", cwd=alice)
    git("push", "-q", "origin", "HEAD:main", cwd=alice)
    git("fetch", "-q", cwd=bob)

    # Both change the same line: Apollo's lands clean, Athena's conflicts and escalates.
    said = push_ready(bob, "sprint/cache", {"search.py": "def search():\n    return cached()\n"}, "Cache results")
    assert "remote: mergecoord: queued sprint/cache as m-0001 (position 1)" in said
    said = push_ready(alice, "sprint/batch", {"search.py": "def search():\n    return batched()\n"}, "Batch queries")
    assert "remote: mergecoord: queued sprint/batch as m-0002" in said

    def pending():
        listing = decide(bob, "list", "--json")
        docs = json.loads(listing.stdout)["decisions"] if listing.returncode == 0 else []
        return [d for d in docs if d["status"] == "pending"]

    decisions = wait_for(pending)
    assert [d["branch"] for d in decisions] == ["sprint/batch"], server.errors()
    decision = decisions[0]["id"]

    # bob may push branches but not decide: the server's refusal reaches his terminal.
    refused = decide(bob, decision, "B", "-m", "batching wins")
    assert refused.returncode == 1
    assert f"rejected refs/mergecoord/answers/{decision}: bob may not decide" in refused.stderr
    # alice decides; her login (REMOTE_USER) is who the decision records.
    answered = decide(alice, decision, "B", "-m", "batching wins")
    assert answered.returncode == 0, answered.stderr
    assert f"decision {decision} answered B by alice" in answered.stdout

    def landed():
        git("fetch", "-q", "origin", cwd=bob)
        log = git("log", "-1", "--format=%(trailers:key=Resolved-By,valueonly)%(trailers:key=Decision,valueonly)",
                  "origin/main", cwd=bob).stdout
        return "human" in log and decision in log

    assert wait_for(landed), server.errors()
    assert git("show", "origin/main:search.py", cwd=bob).stdout == "def search():\n    return batched()\n"
    doc = json.loads(decide(bob, "show", decision, "--json").stdout)
    assert doc["answer"]["decided_by"] == "alice"

    # Apollo's approach lost: after `git pull` his worker hook shows the refactor task.
    subprocess.run([MC, "install-hooks", "--worker", "Apollo"], cwd=bob, check=True, capture_output=True)
    git("checkout", "-q", "-B", "main", "origin/main~1", cwd=bob)
    pulled = git("pull", "--no-rebase", "origin", cwd=bob)
    assert "[Apollo Inbox] New refactor task t-0001:" in pulled.stdout + pulled.stderr
    assert "search.py" in pulled.stdout + pulled.stderr

    # The hooks (and the runner they start) learn who pushed, never the password.
    hook_env = (repo / "hook-env.txt").read_text()
    assert "REMOTE_USER=alice" in hook_env or "REMOTE_USER=bob" in hook_env
    for login, password in USERS.items():
        token = base64.b64encode(f"{login}:{password}".encode()).decode()
        assert password not in hook_env and token not in hook_env

    # Everything the hooks and runner wrote belongs to the server's user.
    strangers = [p for p in (repo / "mergecoord").rglob("*") if p.lstat().st_uid != server.user.uid]
    assert strangers == []


def directives(text):
    """The configuration lines of a snippet, without comments and indentation."""
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


@pytest.mark.parametrize("kind,fence", [("apache2", "```apache\n"), ("nginx", "```nginx\n")])
def test_the_readme_shows_the_configurations_this_test_serves(kind, fence):
    readme = (ROOT / "README.md").read_text()
    shown = readme.split(fence, 1)[1].split("```", 1)[0]
    served = snippet(kind, REPOS="/srv/git", HTPASSWD=f"/etc/{kind}/git.htpasswd", FCGIWRAP="/run/fcgiwrap.socket")
    assert directives(shown) == directives(served)
