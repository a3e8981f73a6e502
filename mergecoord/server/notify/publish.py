"""The published state: `refs/mergecoord/state`, a commit any clone can fetch.

Its tree holds `status.json` (the status summary, the queue, the decisions at a
glance), `decisions/<id>.toml` (the decision files as they are on the server) and
`inbox/<worker>/<task>.toml`. Each publication is a new commit on top of the
previous one, made only when the tree changed, and the ref moves by
compare-and-swap, so two publishers never lose each other's update. It never
publishes the config, logs or anything else from the state directory.
"""

import json
import time

from dulwich.object_store import commit_tree_changes
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from ...state import decisions, queue, tasks

STATE_REF = b"refs/mergecoord/state"


def status_document(central, config):
    from .. import status

    try:
        summary = status.summary(central, config)
    except Exception as e:  # the summary reads every kind of state; publish the rest anyway
        summary = {"error": f"{type(e).__name__}: {e}"}
    summary = dict(summary)
    summary["queue"] = [{"id": e.id, "branch": e.branch, "sha": e.sha, "worker": e.worker,
                         "status": e.status, "kind": e.kind, "decision": e.decision}
                        for e in queue.entries(central)]
    summary["decisions"] = [{"id": d["id"], "status": d["status"], "branch": d.get("branch", ""),
                             "merge_id": d.get("merge_id", ""), "files": d.get("files", [])}
                            for d in decisions.all_decisions(central)]
    summary["tasks"] = [{"id": t.id, "worker": t.worker, "status": t.status, "file": t.file,
                         "decision": t.decision} for t in tasks.all_tasks(central)]
    return summary


def files_to_publish(central, config):
    """path -> bytes of everything the state ref holds."""
    files = {"status.json": (json.dumps(status_document(central, config), indent=1, sort_keys=True)
                             + "\n").encode("utf-8")}
    for doc in decisions.all_decisions(central):
        if doc["status"] == "damaged":
            continue
        try:
            files[f"decisions/{doc['id']}.toml"] = decisions.read_text(central, doc["id"]).encode("utf-8")
        except decisions.DecisionError:
            continue
    inbox = central.path("inbox")
    for task in tasks.all_tasks(central):
        path = inbox / tasks.safe_name(task.worker) / f"{task.id}.toml"
        try:
            files[f"inbox/{tasks.safe_name(task.worker)}/{task.id}.toml"] = path.read_bytes()
        except OSError:
            continue
    return files


def build_tree(store, files):
    empty = Tree()
    store.add_object(empty)
    changes = []
    for path, data in sorted(files.items()):
        blob = Blob.from_string(data)
        store.add_object(blob)
        changes.append((path.encode("utf-8"), 0o100644, blob.id))
    return commit_tree_changes(store, empty, changes)


def publish(central, config, attempts=5):
    """Publish the current state; returns the new commit id, or None when nothing changed."""
    repo = Repo(str(central.git_dir))
    try:
        store = repo.object_store
        for _ in range(attempts):
            old = repo.refs.follow(STATE_REF)[1] if STATE_REF in repo.refs else None
            tree = build_tree(store, files_to_publish(central, config))
            if old is not None and store[old].tree == tree:
                return None
            commit = Commit()
            commit.tree = tree
            commit.parents = [old] if old else []
            commit.author = commit.committer = config.committer.encode("utf-8")
            commit.author_time = commit.commit_time = int(time.time())
            commit.author_timezone = commit.commit_timezone = 0
            commit.message = b"mergecoord state\n"
            store.add_object(commit)
            message = b"mergecoord: publish state"
            moved = (repo.refs.set_if_equals(STATE_REF, old, commit.id, message=message) if old
                     else repo.refs.add_if_new(STATE_REF, commit.id, message=message))
            if moved:
                return commit.id.decode()
        return None
    finally:
        repo.close()
