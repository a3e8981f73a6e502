"""Real web servers serving real `git http-backend` on 127.0.0.1, for the smart HTTP
tests and bench/http_push.py: apache2 (mod_cgid) or nginx + fcgiwrap, each configured
with the project's own snippet (templates/http/) inside a minimal server config, with
basic auth for the given users.

The server runs as one unprivileged user that owns the repositories, as www-data does
in a deployment: the user running the tests, or, for root (apache refuses to serve as
root), a user made for it (`mergecoord-http`). `problem(kind)` says why a kind cannot
run here; the callers skip with that reason.
"""

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import users
from users import as_user

ROOT = Path(__file__).resolve().parent.parent
SERVICE_USER = "mergecoord-http"
APACHE_MODULES = ("mpm_event", "authn_core", "authn_file", "authz_core", "authz_user", "auth_basic",
                  "alias", "env", "cgid")
PROGRAMS = {"apache2": ["/usr/sbin/apache2"], "nginx": ["/usr/sbin/nginx", "/usr/sbin/fcgiwrap"]}
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


def service_user():
    """The user the web server runs as: us, or for root a user made for it."""
    return users.current() if os.geteuid() else users.make(SERVICE_USER)


def problem(kind):
    """Why the `kind` server cannot run here, or None."""
    missing = [p for p in PROGRAMS[kind] if not os.access(p, os.X_OK)]
    if missing:
        package = "apache2" if kind == "apache2" else "nginx fcgiwrap"
        return f"{', '.join(missing)} missing (apt-get install {package}; .ci/run installs it)"
    if not os.access(HTTP_BACKEND, os.X_OK):
        return f"{HTTP_BACKEND} missing"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return "setpriv missing (util-linux): the server must run as an unprivileged user"
    try:
        user = service_user()
    except (subprocess.CalledProcessError, OSError) as e:
        return f"cannot make the user {SERVICE_USER} to run the server: {e}"
    return users.cannot_run_mergecoord(user)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def htpasswd_line(user, password):
    """A {SHA} entry, which both apache2 and nginx read (no apache2-utils needed)."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}\n"


def snippet(kind, **values):
    text = (ROOT / "templates" / "http" / f"{'apache2' if kind == 'apache2' else 'nginx'}-git.conf").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    return text


class WebServer:
    """`kind` ("apache2" or "nginx") serving the bare repositories under `repos` at
    http://127.0.0.1:PORT/git/<name>, with basic auth for `users` ({login: password})."""

    def __init__(self, kind, repos, users):
        self.kind, self.repos, self.users = kind, Path(repos), users
        self.user = service_user()
        self.work = Path(tempfile.mkdtemp(prefix=f"mergecoord-{kind}-"))
        self.port = free_port()
        self.procs = []

    def url(self, name, login=None):
        auth = f"{login}:{self.users[login]}@" if login else ""
        return f"http://{auth}127.0.0.1:{self.port}/git/{name}"

    def __enter__(self):
        (self.work / "htpasswd").write_text("".join(htpasswd_line(u, p) for u, p in self.users.items()))
        for path in (self.work, *self.work.iterdir()):
            os.chown(path, self.user.uid, self.user.gid)
        self.work.chmod(0o755)
        try:
            (self.start_apache if self.kind == "apache2" else self.start_nginx)()
            self.wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def spawn(self, argv, **kw):
        proc = subprocess.Popen(as_user(self.user, argv), cwd=self.work, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=open(self.work / f"{len(self.procs)}.err", "wb"),
                                start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def start_apache(self):
        modules = "".join(f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so\n"
                          for m in APACHE_MODULES)
        conf = self.work / "apache2.conf"
        conf.write_text(
            f"ServerRoot {self.work}\nServerName 127.0.0.1\nListen 127.0.0.1:{self.port}\n"
            f"PidFile {self.work}/apache2.pid\nErrorLog {self.work}/error.log\n"
            f"DefaultRuntimeDir {self.work}\nScriptSock {self.work}/cgid.sock\n{modules}"
            # Debian's default: nothing is served unless a section says so.
            "<Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n"
            + snippet("apache2", REPOS=self.repos, HTPASSWD=self.work / "htpasswd"))
        self.spawn(["/usr/sbin/apache2", "-f", str(conf), "-DFOREGROUND"], env=self.env())

    def start_nginx(self):
        sock = self.work / "fcgiwrap.sock"
        self.spawn(["/usr/sbin/fcgiwrap", "-c", "4", "-s", f"unix:{sock}"], env=self.env())
        conf = self.work / "nginx.conf"
        temp = "".join(f"{k}_temp_path {self.work}/{k}_temp;\n    "
                       for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf.write_text(
            f"daemon off;\npid {self.work}/nginx.pid;\nerror_log {self.work}/error.log;\n"
            "worker_processes 1;\nevents { worker_connections 64; }\n"
            "http {\n    access_log off;\n    " + temp +
            f"server {{\n    listen 127.0.0.1:{self.port};\n"
            + snippet("nginx", REPOS=self.repos, HTPASSWD=self.work / "htpasswd", FCGIWRAP=sock)
            + "\n}\n}\n")
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.spawn(["/usr/sbin/nginx", "-c", str(conf), "-p", str(self.work)], env=self.env())

    def env(self):
        """What a service manager gives a web server: a plain PATH, no HOME, no git settings."""
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"}

    def wait_until_up(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"{self.kind} exited at start: {self.errors()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not listen on port {self.port}: {self.errors()}")

    def errors(self):
        return " | ".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.work.glob("*.err"))
                          + sorted(self.work.glob("error.log")))

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)
