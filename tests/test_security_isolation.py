"""The verify command runs pushed code, and a `command` panelist an outside program: they
read none of the runner's secrets by any route. Not the pusher's transport variables (the
runner a hook starts begins from an allow-list), not the API keys (not in their
environment; the runner is non-dumpable, so a child of the same user cannot read
/proc/<runner>/environ; `verify.user` runs verify as another user when the runner is
root), and what they print is scrubbed of a key even when encoded. Nor can they hold the
runner past its timeout with a daemon that keeps their output open."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import users
from conftest import git
from test_conflicts_e2e import BASE, BATCHED, PARALLEL

KEY = "sk-isolation-7f3a9c2e51d04b8e"
TRANSPORT = {"HTTP_AUTHORIZATION": "Basic cHVzaGVyOnMzY3JldC1wYXNzd29yZA==", "REMOTE_USER": "pusher",
             "GL_USER": "pusher", "SSH_CONNECTION": "10.0.0.9 5122 10.0.0.1 22", "HTTP_PROXY": "http://evil:3128"}


def panel_with_key(url="http://127.0.0.1:9/v1"):
    """A panelist whose key the runner holds (it is never called: nothing conflicts)."""
    return f'[[panel]]\nname = "gpt"\nkind = "openai"\nurl = "{url}"\nmodel = "m"\napi_key_env = "MC_LLM_CRED"\n'


def shared_dir():
    """A directory every user may write (the verify command reports there)."""
    path = Path(tempfile.mkdtemp(prefix="mergecoord-isolation-"))
    path.chmod(0o1777)
    return path


def test_a_runner_started_by_a_push_never_passes_on_the_pushers_transport(central, make_worker, tmp_path):
    out = shared_dir()
    try:
        central.set_config(panel_with_key() + "[runner]\nautostart = true\n"
                           f'[verify]\ncommand = "env > {out}/env; cat /proc/$PPID/environ > {out}/runner-environ"\n')
        worker = make_worker("Apollo")
        worker.work("sprint/a", {"a.txt": "a\n"}, push=False)
        env = dict(os.environ, MC_LLM_CRED=KEY, **TRANSPORT)     # what nginx + fcgiwrap or sshd hand over
        pushed = git("push", "origin", "HEAD", cwd=worker.path, env=env)
        assert "queued sprint/a" in pushed.stderr
        assert central.wait_for(lambda: central.merge_ids() == ["m-0001"], timeout=60)
        seen = (out / "env").read_text() + (out / "runner-environ").read_bytes().decode("utf-8", "replace")
        for name, value in TRANSPORT.items():
            assert value not in seen, name
        assert KEY not in (out / "env").read_text()
        assert "PATH=" in (out / "env").read_text()
    finally:
        shutil.rmtree(out)


def unprivileged(name):
    """Popen arguments that run as the unprivileged user `name`, made for these tests when
    we are root (a dedicated account: verify.user kills whatever it left running); {} when
    we are not root, and so unprivileged already."""
    if os.getuid() != 0:
        return {}
    problem = users.root_problem()
    if problem:
        pytest.skip(problem)
    user = users.make(name)
    problem = users.cannot_run_mergecoord(user)
    if problem:
        pytest.skip(problem)
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


def test_verify_user_runs_verify_as_another_user_who_cannot_read_the_runners_keys(central, make_worker):
    as_verifier = unprivileged("mcverify")
    if not as_verifier:
        pytest.skip("verify.user needs a runner running as root")
    out = shared_dir()
    try:
        central.set_config(panel_with_key() + "[runner]\nautostart = false\n[verify]\nuser = \"mcverify\"\n"
                           f'command = "id -u > {out}/uid; cat /proc/$PPID/environ > {out}/leak 2>&1; '
                           f'cat /proc/1/environ >> {out}/leak 2>&1; env > {out}/env; '
                           f'setsid sh -c \'echo $$ > {out}/daemon; exec sleep 3600\' & '
                           f'until [ -s {out}/daemon ]; do sleep 0.1; done"\n')
        make_worker("Apollo").work("sprint/a", {"a.txt": "a\n"})
        proc = subprocess.run([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              env=dict(os.environ, MC_LLM_CRED=KEY), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        shown = central.json("show", "m-0001")
        assert central.merge_ids() == ["m-0001"], (shown, proc.stdout)
        assert int((out / "uid").read_text()) == as_verifier["user"]
        assert KEY not in (out / "leak").read_text() and "Permission denied" in (out / "leak").read_text()
        assert KEY not in (out / "env").read_text() and "USER=mcverify" in (out / "env").read_text()
        daemon = int((out / "daemon").read_text())           # what it left behind is gone
        assert not Path(f"/proc/{daemon}").exists() or Path(f"/proc/{daemon}/stat").read_text().split()[2] == "Z"
    finally:
        shutil.rmtree(out)


def test_a_child_of_the_same_user_cannot_read_the_runners_environment(central, make_worker):
    """The runner holds the keys in its own environment; it is non-dumpable, so the verify
    command, running as the same (unprivileged) user, cannot read /proc/<runner>/environ."""
    as_user = unprivileged("mcrunner")
    out = shared_dir()
    home = Path(tempfile.mkdtemp(prefix="mergecoord-runner-"))
    try:
        central.set_config(panel_with_key() + "[runner]\nautostart = false\n[verify]\n"
                           f'command = "cat /proc/$PPID/environ > {out}/leak 2>&1; base64 {out}/leak"\n')
        make_worker("Apollo").work("sprint/a", {"a.txt": "a\n"})
        repo = home / "central.git"
        shutil.copytree(central.path, repo, symlinks=True)
        if as_user:
            home.chmod(0o755)
            for root, dirs, files in os.walk(home):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.lchown(name, as_user["user"], as_user["group"])
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "MC_LLM_CRED": KEY, "GIT_CONFIG_NOSYSTEM": "1"}
        proc = subprocess.run([users.PYTHON, "-m", "mergecoord", "--repo", str(repo), "start", "--once"], env=env,
                              capture_output=True, text=True, timeout=120, **as_user)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert git("--git-dir", str(repo), "log", "-1", "--format=%s", "main").stdout.startswith("Merge sprint/a")
        leak = (out / "leak").read_text()
        assert KEY not in leak and "Permission denied" in leak, leak
        written = b"".join(p.read_bytes() for p in repo.rglob("*") if p.is_file())
        assert KEY.encode() not in written
    finally:
        shutil.rmtree(out)
        shutil.rmtree(home)


def test_a_key_in_the_output_is_scrubbed_in_base64_hex_and_url_encoding(tmp_path, central, make_worker):
    """Pushed code that gets hold of a key (as root it can read the runner's environment;
    or the operator passed it with verify.env) prints it encoded: it still never reaches
    the transcript, the journal or anything else written."""
    token = "tok-" + "9e1f0c7b3a5d" * 3
    script = tmp_path / "tests.sh"      # the project's "tests", as a hostile push would write them
    script.write_text(
        "T=$(tr '\\0' '\\n' < /proc/$PPID/environ | sed -n 's/^DEPLOY_TOKEN=//p')\n"
        '[ -n "$T" ] || T=$DEPLOY_TOKEN\n'
        'printf %s "$T" | base64\nprintf x%s "$T" | base64 -w 7\nprintf %s "$T" | od -An -tx1\n'
        'printf %s "$T" | xxd -p -c 5\n'
        'python3 -c "import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=\'\'))" "$T"\nexit 1\n')
    named = "" if os.getuid() == 0 else 'env = ["DEPLOY_TOKEN"]\n'
    central.set_config(f'[runner]\nautostart = false\n[verify]\n{named}command = ["/bin/sh", "{script}"]\n')
    make_worker("Apollo").work("sprint/a", {"a.txt": "a\n"})
    subprocess.run([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                   env=dict(os.environ, DEPLOY_TOKEN=token), capture_output=True, timeout=120)
    record = central.json("show", "m-0001")
    assert record["status"] == "failed" and record["transcript"].count("[redacted]") >= 5, record["transcript"]
    import base64
    import binascii

    raw = token.encode()
    forms = [raw, base64.b64encode(raw), base64.b64encode(raw)[4:-4], binascii.hexlify(raw), binascii.hexlify(raw)[2:-2],
             " ".join(f"{b:02x}" for b in raw).encode()[3:-3], "".join(f"%{b:02X}" for b in raw).encode()]
    written = b"".join(p.read_bytes() for p in central.path.rglob("*") if p.is_file())
    written = written.replace(b"\n", b"")
    assert [form for form in forms if form in written] == []


@pytest.mark.parametrize("where", ["verify", "panel"])
def test_a_daemon_holding_the_output_never_holds_the_runner(tmp_path, central, make_worker, where):
    pidfile = tmp_path / "daemon.pid"
    daemon = (f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 3600' & "
              f"until [ -s {pidfile} ]; do sleep 0.1; done;")
    if where == "verify":
        central.set_config(f'[runner]\nautostart = false\n[verify]\ncommand = "{daemon} echo checked"\n')
    else:
        answer = '{"vote": "abstain", "confidence": 0, "rationale": "not sure"}'
        script = tmp_path / "agent.sh"
        script.write_text(f"#!/bin/sh\ncat > /dev/null\n{daemon}\necho '{answer}'\n")
        script.chmod(0o755)
        central.set_config('[runner]\nautostart = false\n[consensus]\nmax_rounds = 1\n'
                           f'[[panel]]\nname = "agent"\nkind = "command"\ncommand = ["{script}"]\ntimeout = 600\n')
        casey, apollo = make_worker("Casey"), make_worker("Apollo")
        casey.work("sprint/base", {"engram/vector_storage.py": BASE})
        central.run_once()
        apollo.work("sprint/parallel", {"engram/vector_storage.py": PARALLEL})
        make_worker("Athena").work("sprint/batched", {"engram/vector_storage.py": BATCHED})
    make_worker("Numa").work("sprint/z", {"z.txt": "z\n"})
    try:
        # on a runner that waited for the pipe, this would wait for the daemon: an hour
        proc = subprocess.run([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert pidfile.exists()
        statuses = {m["branch"]: m["status"] for m in central.json("log")["merges"]}
        assert statuses["sprint/z"] == "merged", statuses
        if where == "panel":
            assert statuses["sprint/batched"] == "escalated"
    finally:
        if pidfile.exists() and pidfile.read_text().strip():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
