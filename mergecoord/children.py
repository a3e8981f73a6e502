"""The processes mergecoord starts: what environment they get, what they may read of
ours, and how they end.

Allow-lists only: a variable reaches a process because it is named here or in the config,
never because nobody thought to remove it. The runner a push hook starts gets the basics,
the proxy and CA settings its HTTP panelists need, and the variables the config names
(`api_key_env`, `verify.env`); never the pusher's transport (`HTTP_AUTHORIZATION`,
`REMOTE_USER`, `GL_*`, `SSH_*`, `GIT_*`). The verify command and a `command` panelist run
pushed code or an outside program: they get the basics, plus `verify.env`, or the one key
variable the panelist is configured with. The runner itself is made non-dumpable
(`protect_self`), so that a child running as the same user cannot read its memory or
`/proc/<runner>/environ`, where the keys are. They are waited for, never their pipes
(`wait_or_kill`). Standard library only: the hooks use it.
"""

import os
import signal
import subprocess

# Enough for programs to run as the user who runs mergecoord.
BASIC = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR")
# For the runner's HTTP panelists. HTTP_PROXY is left out on purpose: a CGI server (git's
# smart HTTP) sets it from the pusher's "Proxy:" request header ("httpoxy").
NETWORK = ("http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY",
           "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE")


def allowed(environ, names):
    """The variables of `environ` that are BASIC, LC_*, or in `names`."""
    keep = set(BASIC) | set(names)
    return {k: v for k, v in environ.items() if k in keep or k.startswith("LC_")}


def named_by(config):
    """The variables the config names: each panelist's `api_key_env` and `verify.env`."""
    names = [p.get("api_key_env") for p in config.panel if isinstance(p, dict)]
    return [n for n in names if isinstance(n, str) and n] + list(config.verify_env)


def for_runner(config, environ=None):
    """The environment of a runner started by a push hook."""
    return allowed(os.environ if environ is None else environ, NETWORK + tuple(named_by(config)))


def for_child(environ, names=(), user=None):
    """The environment of the verify command or a command panelist: the basics and `names`;
    HOME, USER and LOGNAME those of `user` (a pwd entry) when it runs as another user."""
    env = allowed(environ, names)
    if user is not None:
        env.update(HOME=user.pw_dir, USER=user.pw_name, LOGNAME=user.pw_name)
    return env


def protect_self():
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


def wait_or_kill(process, timeout):
    """Wait for `process` (started with start_new_session) at most `timeout` seconds; its
    whole process group is killed then, and in any case once it is done (what it left
    running in the background). False when it timed out."""
    try:
        process.wait(timeout=timeout)
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        if not finished:
            process.kill()
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
