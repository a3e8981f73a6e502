"""A worker's clone as mergecoord sees it: its settings, who the worker is, and the
inbox read from the fetched `refs/mergecoord/state`.

The worker hooks (commit-msg, pre-push, post-merge) use this, so it imports only the
standard library (the state modules only where the inbox is read: dataclasses alone
costs a commit ~10 ms), and asks git through a few short `git` processes. It reads the central repository only through fetched refs, and it
writes nothing but `<git-common-dir>/mergecoord/` (what was acked and shown here).
"""

import os
import subprocess
from pathlib import Path

from ..errors import UserError
from ..untrusted import printable

STATE_REF = "refs/mergecoord/state"
FETCH_REFSPEC = "+refs/mergecoord/*:refs/mergecoord/*"
NOTHING_PUBLISHED = "the remote has published no state yet"

# Settings a clone reads from its own git config (`git config mergecoord.<key>`);
# `install-hooks` copies them from the central config when it can read it.
DEFAULTS = {"marker": "READY_TO_MERGE", "branches": ("sprint/*",), "main": "main",
            "behindlimit": 50}


class Clone:
    """A non-bare repository whose remote is a mergecoord central repository."""

    def __init__(self, top, git_dir, common_dir, config):
        self.top, self.git_dir, self.common_dir = Path(top), Path(git_dir), Path(common_dir)
        self.config = config          # lower-cased key -> [values], from one `git config` call

    @classmethod
    def find(cls, path=None):
        """The clone at `path` (default: the current directory), or a one-line UserError."""
        where = str(path or ".")
        if path is not None and not Path(path).is_dir():
            raise UserError(f"{path}: no such directory")
        proc = subprocess.run(
            ["git", "-C", where, "rev-parse", "--path-format=absolute", "--is-bare-repository",
             "--git-dir", "--git-common-dir", "--show-toplevel"],
            capture_output=True, text=True, env=git_env())
        lines = proc.stdout.splitlines()
        if lines[:1] == ["true"]:
            raise UserError(f"{os.path.abspath(where)} is a bare repository; this command is for a "
                            "worker's clone (the central repository is set up by 'mergecoord init')")
        if proc.returncode or len(lines) < 4:
            raise UserError(f"{os.path.abspath(where)} is not inside a git clone "
                            "(run this in your clone of the central repository)")
        _, git_dir, common_dir, top = lines[:4]
        return cls(top, git_dir, common_dir, read_config(top))

    def git(self, *args, check=False, input=None):
        return subprocess.run(["git", "-C", str(self.top), *args], capture_output=True, text=True,
                              input=input, check=check, env=git_env())

    # -- settings ---------------------------------------------------------------

    def get(self, key, default=None):
        values = self.config.get(key.lower())
        return values[-1] if values else default

    @property
    def marker(self):
        return self.get("mergecoord.marker") or DEFAULTS["marker"]

    @property
    def branches(self):
        return tuple(self.config.get("mergecoord.branches") or DEFAULTS["branches"])

    @property
    def main(self):
        return self.get("mergecoord.main") or DEFAULTS["main"]

    @property
    def behind_limit(self):
        try:
            return int(self.get("mergecoord.behindlimit", DEFAULTS["behindlimit"]))
        except ValueError:
            return DEFAULTS["behindlimit"]

    def branch_matches(self, branch):
        from ..config import branch_matches

        return branch_matches(branch, self.branches)

    def current_branch(self):
        """The checked-out branch's short name, or None on a detached HEAD."""
        proc = self.git("symbolic-ref", "-q", "--short", "HEAD")
        return proc.stdout.strip() or None

    def remote(self, explicit=None):
        """The remote that is the central repository: explicit, else the current
        branch's, else origin, else the only one."""
        remotes = self.git("remote").stdout.split()
        if explicit:
            if explicit not in remotes:
                raise UserError(f"{self.top} has no remote named {explicit!r} "
                                f"(its remotes: {', '.join(remotes) or 'none'})")
            return explicit
        branch = self.current_branch()
        upstream = self.get(f"branch.{branch}.remote") if branch else None
        for name in (upstream, "origin"):
            if name in remotes:
                return name
        if len(remotes) == 1:
            return remotes[0]
        if not remotes:
            raise UserError(f"{self.top} has no remote (it must be a clone of the central repository: "
                            "'git remote add origin URL')")
        raise UserError(f"{self.top} has several remotes and none is named origin (pass --remote NAME)")

    def set(self, key, *values):
        """Set `key` in the clone's own git config to `values` (several for a multi-valued key)."""
        self.git("config", "--local", "--unset-all", key)
        for value in values:
            self.git("config", "--local", "--add", key, value, check=True)
        self.config[key.lower()] = list(values)

    def track_state(self, remote, on=True):
        """Make `git fetch`/`git pull` from `remote` bring refs/mergecoord/* (or stop);
        True when the config changed."""
        key = f"remote.{remote}.fetch"
        present = FETCH_REFSPEC in self.config.get(key, [])
        if on and not present:
            self.git("config", "--local", "--add", key, FETCH_REFSPEC, check=True)
        elif not on and present:
            self.git("config", "--local", "--fixed-value", "--unset", key, FETCH_REFSPEC, check=True)
        else:
            return False
        self.config = read_config(self.top)
        return True

    def adopt_central_settings(self, remote):
        """Copy the central config's marker, branches and main into `mergecoord.*` when
        `remote` is a path on this machine to an initialised central repository (the
        hooks cannot read a server's config over the network; elsewhere the defaults,
        or what the worker sets with `git config mergecoord.*`, apply)."""
        from .. import config as config_mod
        from ..central import Central

        url = self.get(f"remote.{remote}.url", "")
        if url.startswith("file://"):
            url = url[len("file://"):]
        if not url or "://" in url or (":" in url.split("/")[0] and not os.path.exists(url)):
            return False
        central = Central(Path(url) if os.path.isabs(url) else self.top / url)
        if not central.initialised:
            return False
        try:
            config = config_mod.load(central)
        except (UserError, OSError):
            return False
        self.set("mergecoord.marker", config.marker)
        self.set("mergecoord.branches", *config.branches)
        self.set("mergecoord.main", config.main)
        return True

    # -- who the worker is ------------------------------------------------------

    def identity(self):
        """(name, email, where the name came from). The name is `mergecoord.worker`
        when set (install-hooks --worker), else `user.name`."""
        email = self.get("user.email", "")
        worker = self.get("mergecoord.worker")
        if worker:
            return worker, email, "git config mergecoord.worker"
        return self.get("user.name", ""), email, "git config user.name"

    # -- local memory: what was acked and shown in this clone -------------------

    @property
    def state_path(self):
        return self.common_dir / "mergecoord" / "inbox.json"

    def memory(self):
        from ..state.files import read_json

        doc = read_json(self.state_path, {})
        return {"acked": set(doc.get("acked", [])), "shown": set(doc.get("shown", []))}

    def remember(self, *, acked=(), shown=()):
        from ..state.files import write_json

        memory = self.memory()
        memory["acked"].update(acked)
        memory["shown"].update(shown)
        self.state_path.parent.mkdir(exist_ok=True)
        write_json(self.state_path, {k: sorted(v) for k, v in memory.items()})

    def ack(self, task_id):
        """Remember here that the task is acknowledged: (task, whether it already was)."""
        task = next((t for t in self.published_tasks()[0] if t.id == task_id), None)
        if task is None:
            raise UserError(f"unknown task {task_id} (see 'mergecoord inbox'; 'git fetch' brings new ones)")
        if task.status != "acked":
            self.remember(acked=[task_id])
        return task, task.status == "acked"

    # -- the published state ----------------------------------------------------

    def fetch_state(self, remote):
        """Fetch refs/mergecoord/state now: '' on success, NOTHING_PUBLISHED when the
        remote has no such ref yet, else git's error line."""
        proc = self.git("fetch", "--quiet", "--no-write-fetch-head", remote, f"+{STATE_REF}:{STATE_REF}")
        if proc.returncode == 0:
            return ""
        if "couldn't find remote ref" in proc.stderr:
            return NOTHING_PUBLISHED
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"git fetch exited {proc.returncode}"

    def published_tasks(self):
        """Every task in the fetched state ref, oldest first, with its status as this
        clone sees it ('acked' when acked here or on the server). [] without the ref.
        Returns (tasks, emails) where emails maps a task id to the email it carries."""
        from ..state.tasks import Task

        proc = self.git("ls-tree", "-r", "-z", "--full-tree", STATE_REF, "--", "inbox")
        if proc.returncode:
            return [], {}
        blobs = []
        for record in proc.stdout.split("\0"):
            meta, _, path = record.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob" and path.endswith(".toml"):
                blobs.append(parts[2])
        acked = self.memory()["acked"]
        tasks, emails = [], {}
        for text in read_blobs(self.top, blobs):
            doc = parse_task(text)
            if doc is None:
                continue
            if doc["id"] in acked:
                doc["status"] = "acked"
            tasks.append(Task(**{k: v for k, v in doc.items() if k in Task.__dataclass_fields__}))
            if isinstance(doc.get("email"), str):
                emails[doc["id"]] = doc["email"]
        return sorted(tasks, key=lambda t: t.id), emails

    def tasks_for(self, worker=None):
        """(worker name, the worker's tasks). The name defaults to identity(); a task is
        the worker's when its worker matches the name (punctuation aside, as
        inbox directories are named: `Worker 1` is `Worker_1`) or the email it
        carries is user.email."""
        from ..state.tasks import safe_name

        name, email, _ = self.identity()
        name = worker or name
        tasks, emails = self.published_tasks()
        key = safe_name(name) if name else None
        mine = [t for t in tasks
                if (key and safe_name(t.worker) == key)
                or (not worker and email and emails.get(t.id, "").lower() == email.lower())]
        return name, mine


def git_env():
    """The environment for git here: never prompt (a hook or a fetch must not hang)."""
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


def read_config(top):
    """All of git's config for the clone in one process: lower-cased key -> [values]."""
    proc = subprocess.run(["git", "-C", str(top), "config", "-z", "--list"],
                          capture_output=True, text=True, env=git_env())
    config = {}
    for item in proc.stdout.split("\0"):
        if item:
            key, _, value = item.partition("\n")
            config.setdefault(key.lower(), []).append(value)
    return config


def read_blobs(top, shas):
    """The text of the given blobs, through one `git cat-file --batch`."""
    if not shas:
        return []
    proc = subprocess.run(["git", "-C", str(top), "cat-file", "--batch"],
                          input="".join(s + "\n" for s in shas).encode(), capture_output=True,
                          env=git_env())
    out, pos, texts = proc.stdout, 0, []
    for _ in shas:
        nl = out.find(b"\n", pos)
        if nl == -1:
            break
        header = out[pos:nl].split()
        pos = nl + 1
        if len(header) < 3:
            continue
        size = int(header[2])
        texts.append(out[pos:pos + size].decode("utf-8", "replace"))
        pos += size + 1
    return texts


def parse_task(text):
    """A task document from the state ref, or None when it is damaged."""
    from .. import tomlw
    from ..state.tasks import Task

    try:
        doc = tomlw.loads(text)
    except ValueError:
        return None
    required = ("id", "worker")
    if not all(isinstance(doc.get(k), str) and doc[k] for k in required):
        return None
    doc = {k: v if isinstance(v, str) else str(v) for k, v in doc.items()}
    for field in Task.__dataclass_fields__:
        doc.setdefault(field, "new" if field == "status" else "")
    return doc


def describe_task(task, heading=None):
    """A task as the seed's inbox shows it, one field a line."""
    lines = [printable(heading or f"[{task.worker} Inbox] Refactor task {task.id}:")]
    for label, value in (("Priority", task.priority.capitalize()), ("File", task.file),
                         ("Feedback", task.feedback), ("Suggestion", task.suggestion),
                         ("Learning", task.learning)):
        if value:
            first, *rest = printable(value, multiline=True).splitlines() or [""]
            lines.append(f"  {label + ':':<12}{first}")
            lines.extend(f"  {'':<12}{line}" for line in rest)
    origin = ", ".join(x for x in (f"decision {task.decision}" if task.decision else "",
                                   f"merge {task.merge_id}" if task.merge_id else "",
                                   task.created) if x)
    if origin:
        lines.append(f"  {'From:':<12}{printable(origin)}")
    return "\n".join(lines)
