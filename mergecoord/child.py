"""Running a program the runner does not trust (an agent CLI, a panel command): its own
process group, an allow-listed environment, a hard deadline and bounded output.

A child gets the few variables a program needs to run at all (PATH, HOME, locale, temp
dir) plus the variables its configuration names, never the runner's whole environment:
the runner's other keys are not its business. Output is read up to a limit and the child
is killed past it, so an agent that prints 50 MB costs the runner a few MB, not 50. On the
deadline the whole process group is killed and the pipes are abandoned: a helper that
escaped into its own session and still holds stdout cannot hold the runner past the
deadline either. Standard library only; never raises for the child's failures.

Also here: the environment of the runner a push hook starts (`runner_environment`), the
runner made non-dumpable (`protect_self`), and the verify command's end (`wait_or_kill`,
`kill_everything_of`).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

# What any program needs to find itself, its user's settings (logins live under HOME)
# and a place for temp files; nothing that could hold a secret.
BASE_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ",
            "TMPDIR", "SYSTEMROOT")
EXIT_GRACE = 1.0          # seconds of output still read after the child itself exited
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ChildResult:
    returncode: Optional[int]        # None when it was killed (deadline or too much output)
    stdout: str
    stderr: str
    timed_out: bool = False
    overflowed: bool = False         # printed more than the limit
    error: str = ""                  # it could not be started at all

    def last_error_line(self, limit: int = 200) -> str:
        return (self.stderr.strip().splitlines() or [""])[-1][:limit]


def environment(environ: Mapping[str, str], names: Iterable[str] = ()) -> dict[str, str]:
    """The base variables and `names` that are set in `environ`, and nothing else.
    TERM is "dumb" and NO_COLOR is set: children talk to a pipe, not a terminal."""
    allowed = list(BASE_ENV) + [n for n in names if n]
    env = {name: environ[name] for name in allowed if name in environ}
    env.update(TERM="dumb", NO_COLOR="1")
    return env


def run(argv: Sequence[str], *, input: Optional[bytes] = None, cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None, timeout: float, limit: int = 4 << 20,
        error_limit: int = 64 << 10) -> ChildResult:
    """Run `argv` with `input` on stdin; stdout is kept up to `limit` bytes (more kills the
    child: `overflowed`), stderr's last `error_limit` bytes. The child and everything it
    started in its process group are killed at `timeout` seconds, and when it is done."""
    try:
        process = subprocess.Popen(list(argv), stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                                   env=dict(env) if env is not None else None, start_new_session=True)
    except OSError as exc:
        return ChildResult(None, "", "", error=f"cannot run {argv[0]}: {exc.strerror or exc}")
    out, err = bytearray(), bytearray()
    timed_out = overflowed = False
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    pending = memoryview(input or b"")
    try:
        if input is not None:
            if pending:
                os.set_blocking(process.stdin.fileno(), False)
                selector.register(process.stdin, selectors.EVENT_WRITE)
            else:
                process.stdin.close()
        selector.register(process.stdout, selectors.EVENT_READ, out)
        selector.register(process.stderr, selectors.EVENT_READ, err)
        while selector.get_map():
            now = time.monotonic()
            if process.poll() is not None:
                # Helpers still holding the pipes get a moment, not the whole timeout.
                deadline = min(deadline, now + EXIT_GRACE)
            if now >= deadline:
                timed_out = process.returncode is None
                break
            for key, _ in selector.select(min(deadline - now, 0.1)):
                if key.fileobj is process.stdin:
                    try:
                        written = os.write(key.fd, pending[:CHUNK])
                    except BlockingIOError:
                        continue
                    except OSError:          # it stopped reading: it answers from what it read, or fails
                        written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                    continue
                data = os.read(key.fd, CHUNK)
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                buffer = key.data
                buffer += data
                if buffer is err and len(err) > error_limit:
                    del err[:len(err) - error_limit]
                if buffer is out and len(out) > limit:
                    overflowed = True
                    del out[limit:]
            if overflowed:
                break
    finally:
        selector.close()
        _kill_group(process)
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:      # unkillable (D state): do not wait for it
            pass
    returncode = None if (timed_out or overflowed) else process.returncode
    return ChildResult(returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                       timed_out=timed_out, overflowed=overflowed)


def _kill_group(process: subprocess.Popen) -> None:
    # The group id is the child's pid (start_new_session). It cannot be reused while any
    # member is alive, so this never hits a stranger; ESRCH means nobody is left.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        try:
            process.kill()
        except ProcessLookupError:
            pass

# For the runner's HTTP panelists. HTTP_PROXY is left out on purpose: a CGI server (git's
# smart HTTP) sets it from the pusher's "Proxy:" request header ("httpoxy").
NETWORK = ("http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY",
           "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")


def runner_environment(config, environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment of a runner a push hook starts: the base variables, the proxy and
    CA settings, and the variables the config names (each panelist's `api_key_env` and
    `pass_env`, `verify.env`). Never the pusher's transport: HTTP_AUTHORIZATION,
    REMOTE_USER, GL_*, SSH_*, GIT_* stay with the push."""
    environ = os.environ if environ is None else environ
    names = [p.get("api_key_env") for p in config.panel if isinstance(p, dict)]
    names += [n for p in config.panel if isinstance(p, dict) and isinstance(p.get("pass_env"), list)
              for n in p["pass_env"]]
    names = [n for n in names if isinstance(n, str) and n] + list(NETWORK) + list(config.verify_env)
    env = environment(environ, names)
    for name in ("TERM", "NO_COLOR"):          # the runner's own output is not a child's pipe
        env.pop(name, None)
        if name in environ:
            env[name] = environ[name]
    return env


def protect_self() -> bool:
    """Make this process non-dumpable (prctl PR_SET_DUMPABLE 0): from now on only a
    privileged process (root, or CAP_SYS_PTRACE) can read /proc/<pid>/environ and
    /proc/<pid>/mem or attach a debugger; a child running as the same user cannot. True
    when done. A root child can still read them: that is what `verify.user` is for."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(4, 0, 0, 0, 0) == 0          # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


def wait_or_kill(process, timeout, cancel=None):
    """Wait for `process` (started with start_new_session) at most `timeout` seconds, or
    until `cancel` (a threading.Event) is set; its whole process group is killed then,
    and in any case once it is done (what it left running in the background). False when
    it timed out or was cancelled."""
    deadline = time.monotonic() + timeout
    finished = False
    while not finished:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or (cancel is not None and cancel.is_set()):
            break
        try:
            process.wait(timeout=remaining if cancel is None else min(remaining, 0.05))
            finished = True
        except subprocess.TimeoutExpired:
            pass
    _kill_group(process)
    process.wait()
    return finished


def kill_everything_of(user) -> None:
    """Kill every process `user` still has: a daemon the command left in a session of its
    own escapes the process group. Meant for a dedicated `verify.user` account. A forked
    child takes the user's identity and signals everything that identity may signal (that
    is, only that user's processes); it runs no program, so nothing the user owns can
    stand in its way."""
    if user.pw_uid in (0, os.geteuid()):
        return                                       # never the runner's own processes
    pid = os.fork()
    if pid == 0:                                     # the child: syscalls only, then exit
        try:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
