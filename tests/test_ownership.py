"""Several users on one server: a command run as someone other than the repository's
owner refuses instead of leaving files the owner cannot use (and a read-only one leaves
nothing at all), and a repository shared with a group (core.sharedRepository) is written
so that every member's pushes and runners can go on. Real local users, so root only."""

import grp
import os
import shlex
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest

import users
from conftest import git, mergecoord

needs_users = pytest.mark.skipif(users.root_problem() is not None, reason=str(users.root_problem()))


@pytest.fixture
def shared_tmp():
    """A directory other users can reach and write in, like /tmp (pytest's own tmp dirs
    are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="mergecoord-users-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def snapshot(repo):
    """Every file under the repository with its owner, size and modification time."""
    return {str(p.relative_to(repo)): (p.lstat().st_uid, p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in repo.rglob("*")}


def home_for(user, base):
    """A HOME for `user` with a git identity, and trust in the shared repositories
    (git refuses a repository another user owns unless safe.directory says so)."""
    home = base / f"home-{user.name}"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[user]\n\tname = {user.name}\n\temail = {user.name}@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n[safe]\n\tdirectory = *\n")
    shutil.chown(home, user.uid, user.gid)
    shutil.chown(home / ".gitconfig", user.uid, user.gid)
    return {"PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}


@needs_users
def test_another_user_is_refused_with_the_owners_name_and_reads_leave_nothing_behind(central, make_worker,
                                                                                     shared_tmp):
    owner = users.make("mergecoord-owner")
    athena = make_worker("Athena")
    athena.work("sprint/queued", {"q.txt": "q\n"})            # something to read: one queued entry
    repo = shared_tmp / "project.git"
    shutil.copytree(central.path, repo, symlinks=True)
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, owner.uid, owner.gid)

    # Root reads: nothing written, not even the parsed config's cache.
    (repo / "mergecoord" / "config.cache.json").unlink(missing_ok=True)
    before = snapshot(repo)
    for args in (["status"], ["status", "--json"], ["queue"], ["log"], ["show", "m-0001"], ["inbox"]):
        proc = mergecoord(*args, repo=repo)
        assert proc.returncode == 0, (args, proc.stderr)
    assert mergecoord("decide", "list", cwd=repo).returncode == 0
    assert snapshot(repo) == before

    # Root writes: refused in one line naming the owner and the command to run instead.
    for args in (["start", "--once"], ["pause"], ["resume"], ["rollback", "m-0001"], ["inbox", "ack", "t-0001"]):
        proc = mergecoord(*args, repo=repo)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{repo} belongs to mergecoord-owner, not root" in lines[0], (args, lines)
        assert "sudo -u mergecoord-owner " in lines[0]
    proc = mergecoord("init", repo)
    assert proc.returncode == 1 and "belongs to mergecoord-owner, not root" in proc.stderr
    assert snapshot(repo) == before

    # The command the refusal gives, run as the owner, does the work.
    hint = mergecoord("start", "--once", repo=repo).stderr.strip().split("e.g. ", 1)[1]
    argv = shlex.split(hint)
    assert argv[:3] == ["sudo", "-u", "mergecoord-owner"]
    if users.cannot_run_mergecoord(owner) is None:
        ran = owner.run(argv[3:], capture_output=True, text=True, cwd="/",
                        env={"PATH": os.environ["PATH"], "HOME": "/"})
        assert ran.returncode == 0, ran.stderr
        assert "sprint/queued" in ran.stdout
        assert all(p.lstat().st_uid == owner.uid for p in repo.rglob("*"))

    # A push by root into the owner's repository is accepted but queues nothing, and says why.
    athena.git("remote", "set-url", "origin", str(repo))
    athena.git("config", "--global", "--add", "safe.directory", "*")      # git's own check, waived
    athena.work("sprint/by-root", {"r.txt": "r\n"}, push=False)
    said = athena.push().stderr
    assert "push accepted but NOT queued" in said and "belongs to mergecoord-owner" in said, said
    assert not any(p.lstat().st_uid == 0 for p in (repo / "mergecoord").rglob("*"))
    assert "sprint/by-root" not in mergecoord("queue", repo=repo).stdout


@needs_users
def test_a_repository_shared_with_a_group_takes_pushes_from_every_member(shared_tmp):
    alice = users.make("mergecoord-alice", groups=["mergecoord-team"])
    bob = users.make("mergecoord-bob", groups=["mergecoord-team"])
    for user in (alice, bob):
        reason = users.cannot_run_mergecoord(user)
        if reason:
            pytest.skip(reason)
    team = grp.getgrnam("mergecoord-team").gr_gid
    envs = {u.name: home_for(u, shared_tmp) for u in (alice, bob)}
    repo = shared_tmp / "project.git"
    # Set up as git's documentation says: a shared bare repository owned by one member.
    alice.run(["git", "init", "-q", "--bare", "--shared=group", "--initial-branch=main", str(repo)], check=True,
              env=envs[alice.name], cwd="/")
    os.chown(repo, alice.uid, team)
    for path in repo.rglob("*"):
        os.lchown(path, alice.uid, team)
    init = alice.run([users.PYTHON, "-m", "mergecoord", "init", str(repo)], capture_output=True, text=True,
                     env=envs[alice.name], cwd="/")
    assert init.returncode == 0, init.stderr

    def push(user, branch, files, ready=True):
        work = shared_tmp / f"clone-{user.name}"
        env = envs[user.name]
        if not work.exists():
            user.run(["git", "clone", "-q", str(repo), str(work)], check=True, env=env, cwd="/")
        run = lambda *a: user.run(["git", "-C", str(work), *a], check=True, capture_output=True, text=True, env=env)
        run("fetch", "-q", "origin")
        if branch != "main":
            run("checkout", "-q", "-B", branch, "origin/main")
        for name, text in files.items():
            user.run(["tee", str(work / name)], input=text, text=True, check=True, capture_output=True)
        run("add", "-A")
        run("commit", "-q", "-m", "work" + ("\n\nREADY_TO_MERGE" if ready else ""))
        return run("push", "origin", f"HEAD:{branch}").stderr

    push(alice, "main", {"README.md": "# project\n"}, ready=False)
    said = push(bob, "sprint/bob-1", {"b1.txt": "bob\n"})            # bob's hook creates the queue...
    assert "queued sprint/bob-1 as m-0001" in said, said
    said = push(alice, "sprint/alice-1", {"a1.txt": "alice\n"})      # ...alice's writes into it
    assert "queued sprint/alice-1" in said, said
    said = push(bob, "sprint/bob-2", {"b2.txt": "bob\n"})            # objects the runners wrote, bob adds to
    assert "queued sprint/bob-2" in said, said

    def merged():
        out = git("--git-dir", str(repo), "log", "--format=%(trailers:key=Merge-Id,valueonly)", "main").stdout
        return {line for line in out.split() if line}

    deadline = time.monotonic() + 60
    while merged() != {"m-0001", "m-0002", "m-0003"} and time.monotonic() < deadline:
        time.sleep(0.2)
    assert merged() == {"m-0001", "m-0002", "m-0003"}, (repo / "mergecoord" / "logs" / "runner.log").read_text()

    # Both members wrote state; every file is group-writable, every directory group-owned
    # with the set-group-id bit, so the next member can go on.
    state = [repo / "mergecoord", *(repo / "mergecoord").rglob("*")]
    assert {p.lstat().st_uid for p in state} >= {alice.uid, bob.uid}
    for path in state:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            continue
        assert st.st_mode & 0o060 == 0o060, (path, oct(st.st_mode))
        assert st.st_gid == team, path
        if stat.S_ISDIR(st.st_mode):
            assert st.st_mode & stat.S_ISGID, path
    objects = [p for p in (repo / "objects").iterdir() if p.is_dir()]
    assert all(p.stat().st_mode & 0o070 == 0o070 for p in objects), [oct(p.stat().st_mode) for p in objects]


def test_init_shares_the_state_of_a_repository_shared_after_it_was_set_up(central):
    # Made unshared (0644 files, 0755 directories), then shared with the group: init fixes the state.
    files = [p for p in central.state.rglob("*") if p.is_file()]
    assert any(p.stat().st_mode & 0o020 == 0 for p in files)
    central.git("config", "core.sharedRepository", "group")
    proc = mergecoord("init", central.path)
    assert proc.returncode == 0, proc.stderr
    assert "shared" in proc.stdout and "core.sharedRepository" in proc.stdout
    for path in [central.state, *central.state.rglob("*")]:
        mode = path.stat().st_mode
        assert mode & 0o060 == 0o060, (path, oct(mode))
        if path.is_dir():
            assert mode & stat.S_ISGID, path
    again = mergecoord("init", central.path)
    assert "shared" not in again.stdout
