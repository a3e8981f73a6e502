"""Workers' inboxes: refactor tasks in `<state>/inbox/<worker>/t-NNNN.toml`.

A task tells the worker whose approach lost a decision what was decided and what
to do next (the seed's "Worker Feedback Loop"). Only this module writes them.
"""

import time
from dataclasses import asdict, dataclass

from .. import tomlw
from . import ids
from .files import atomic_write


@dataclass(frozen=True)
class Task:
    id: str
    worker: str
    priority: str            # "low" | "normal" | "high"
    file: str
    feedback: str
    suggestion: str
    learning: str
    decision: str = ""
    merge_id: str = ""
    created: str = ""
    status: str = "new"      # "new" | "acked"


def safe_name(worker):
    """A worker's name as one path component (nothing a name holds can escape the inbox)."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in worker).strip(".") or "_"
    return name[:80]


def _dir(central, worker):
    return central.path("inbox", safe_name(worker))


def create(central, *, worker, priority, file, feedback, suggestion, learning, decision="", merge_id=""):
    task = Task(ids.allocate(central, "t"), worker, priority, file, feedback, suggestion, learning,
                decision, merge_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    directory = _dir(central, worker)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write(directory / f"{task.id}.toml", tomlw.dumps(asdict(task)))
    return task


def all_tasks(central, worker=None):
    """Tasks, oldest first; a damaged file is skipped rather than hiding the others."""
    root = central.path("inbox")
    if not root.is_dir():
        return []
    dirs = [_dir(central, worker)] if worker else sorted(p for p in root.iterdir() if p.is_dir())
    out = []
    for directory in dirs:
        for path in sorted(directory.glob("t-*.toml")) if directory.is_dir() else []:
            try:
                task = Task(**{k: v for k, v in tomlw.loads(path.read_text()).items()
                               if k in Task.__dataclass_fields__})
            except (ValueError, TypeError, UnicodeDecodeError):
                continue
            if all(isinstance(getattr(task, name), str) for name in Task.__dataclass_fields__):
                out.append(task)
    return sorted(out, key=lambda t: t.id)


def ack(central, task_id):
    for task in all_tasks(central):
        if task.id == task_id:
            path = _dir(central, task.worker) / f"{task.id}.toml"
            atomic_write(path, tomlw.dumps({**asdict(task), "status": "acked"}))
            return task
    return None
