"""A worker's inbox as the clone reads it: the refactor tasks in the fetched
`refs/mergecoord/state` (`inbox/<worker>/<task>.toml`), which of them are the worker's,
and what this clone remembers (acked here, shown by the post-merge hook) in
`<git-common-dir>/mergecoord/inbox.json`, the only file it writes.

The post-merge hook uses this after every pull: the standard library only (the task
record is imported where tasks are read: dataclasses alone costs a pull ~10 ms). It reads
the central repository only through fetched refs.
"""

from ..commits import cat_batch
from ..errors import UserError
from ..untrusted import printable
from .settings import git_env

STATE_REF = "refs/mergecoord/state"
NOTHING_PUBLISHED = "the remote has published no state yet"


# -- local memory: what was acked and shown in this clone -----------------------

def memory_path(clone):
    return clone.common_dir / "mergecoord" / "inbox.json"


def memory(clone):
    """{"acked": task ids acked here, "shown": task ids the post-merge hook has shown}."""
    from ..state.files import read_json

    doc = read_json(memory_path(clone), {})
    return {"acked": set(doc.get("acked", [])), "shown": set(doc.get("shown", []))}


def remember(clone, *, acked=(), shown=()):
    from ..state.files import write_json

    known = memory(clone)
    known["acked"].update(acked)
    known["shown"].update(shown)
    path = memory_path(clone)
    path.parent.mkdir(exist_ok=True)
    write_json(path, {k: sorted(v) for k, v in known.items()})


def ack(clone, task_id):
    """Remember here that the task is acknowledged: (task, whether it already was)."""
    task = next((t for t in published_tasks(clone) if t.id == task_id), None)
    if task is None:
        raise UserError(f"unknown task {task_id} (see 'mergecoord inbox'; 'git fetch' brings new ones)")
    if task.status != "acked":
        remember(clone, acked=[task_id])
    return task, task.status == "acked"


# -- the published state ----------------------------------------------------------

def fetch_state(clone, remote):
    """Fetch refs/mergecoord/state now: '' on success, NOTHING_PUBLISHED when the
    remote has no such ref yet, else git's error line."""
    proc = clone.git("fetch", "--quiet", "--no-write-fetch-head", remote, f"+{STATE_REF}:{STATE_REF}")
    if proc.returncode == 0:
        return ""
    if "couldn't find remote ref" in proc.stderr:
        return NOTHING_PUBLISHED
    lines = proc.stderr.strip().splitlines()
    return lines[-1] if lines else f"git fetch exited {proc.returncode}"


def published_tasks(clone):
    """Every task in the fetched state ref, oldest first, with its status as this
    clone sees it ('acked' when acked here or on the server). [] without the ref."""
    from ..state.tasks import Task

    proc = clone.git("ls-tree", "-r", "-z", "--full-tree", STATE_REF, "--", "inbox")
    if proc.returncode:
        return []
    blobs = []
    for record in proc.stdout.split("\0"):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and path.endswith(".toml"):
            blobs.append(parts[2])
    acked = memory(clone)["acked"]
    tasks = []
    for text in read_blobs(clone.top, blobs):
        doc = parse_task(text)
        if doc is None:
            continue
        if doc["id"] in acked:
            doc["status"] = "acked"
        tasks.append(Task(**{k: v for k, v in doc.items() if k in Task.__dataclass_fields__}))
    return sorted(tasks, key=lambda t: t.id)


def tasks_for(clone, worker=None):
    """(worker name, the worker's tasks). The name defaults to identity(); a task is
    the worker's when its worker matches the name (punctuation aside, as
    inbox directories are named: `Worker 1` is `Worker_1`). The server names a task's
    worker as it names the merge's author (`[workers]`, else the author's name)."""
    from ..state.tasks import safe_name

    name = worker or clone.identity()[0]
    key = safe_name(name) if name else None
    mine = [t for t in published_tasks(clone) if key and safe_name(t.worker) == key]
    return name, mine


def read_blobs(top, shas):
    """The text of the given blobs, through one `git cat-file --batch`."""
    return [body.decode("utf-8", "replace") for _, _, body in cat_batch(["-C", str(top)], shas, env=git_env())]


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
