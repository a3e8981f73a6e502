"""Refactor tasks reach the worker: `mergecoord inbox` on the central repo and in a
clone, acknowledging them, and the post-merge hook that shows a new one after `git pull`."""

import json

from conftest import mergecoord
from mergecoord import config
from mergecoord.server.notify import publish
from mergecoord.central import Central
from mergecoord.state import tasks

SEED_TASK = dict(priority="low", file="engram/core/memory/storage/vector_storage.py",
                 feedback="Human selected batch/compression approach",
                 suggestion="Integrate caching insights into batch pipeline",
                 learning="Storage efficiency weighted higher than read speed",
                 decision="d-0001", merge_id="m-0002")


def publish_state(central):
    """Publish refs/mergecoord/state, as the runner does after every step."""
    repo = Central(central.path)
    publish.publish(repo, config.load(repo))


def create_task(central, worker, **fields):
    task = tasks.create(Central(central.path), worker=worker, **{**SEED_TASK, **fields})
    publish_state(central)
    return task


def inbox(worker, *args):
    return mergecoord("inbox", *args, cwd=worker.path)


def inbox_json(worker, *args):
    proc = inbox(worker, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def move_main(central, numa):
    """Someone else's work lands on main, so that the workers' next pull merges something."""
    numa.work("sprint/optimize-api-performance", {"api.py": f"streaming = {len(central.merge_ids())}\n"},
              "Optimized API with streaming responses")
    central.run_once()


def test_apollos_post_merge_hook_shows_his_refactor_task_after_git_pull(central, make_worker):
    apollo, athena, numa = make_worker("Apollo"), make_worker("Athena"), make_worker("Numa")
    for worker in (apollo, athena):
        assert mergecoord("install-hooks", cwd=worker.path).returncode == 0

    task = create_task(central, "Apollo")
    move_main(central, numa)
    pulled = apollo.git("pull")
    assert pulled.returncode == 0
    assert apollo.git("rev-parse", "HEAD").stdout == central.git("rev-parse", "main").stdout
    shown = pulled.stderr
    assert f"[Apollo Inbox] New refactor task {task.id}:" in shown
    assert "  Priority:   Low\n" in shown
    assert "  File:       engram/core/memory/storage/vector_storage.py\n" in shown
    assert "  Feedback:   Human selected batch/compression approach\n" in shown
    assert "  Suggestion: Integrate caching insights into batch pipeline\n" in shown
    assert "  Learning:   Storage efficiency weighted higher than read speed\n" in shown
    assert f"  Acknowledge with: mergecoord inbox ack {task.id}" in shown
    # Athena pulled the same state: nothing of Apollo's is shown to her.
    assert "Inbox" not in athena.git("pull").stderr

    # The next pull does not repeat the task in full, but still counts it.
    move_main(central, numa)
    again = apollo.git("pull").stderr
    assert "New refactor task" not in again
    assert "mergecoord: Apollo has 1 more open task ('mergecoord inbox' lists them)" in again

    # Acknowledged, it is no longer mentioned.
    ack = inbox(apollo, "ack", task.id)
    assert ack.returncode == 0 and ack.stdout.startswith(f"acknowledged {task.id} (Apollo: engram/")
    move_main(central, numa)
    assert "mergecoord:" not in apollo.git("pull").stderr


def test_inbox_in_a_clone_reads_the_published_state_and_remembers_acks_locally(central, make_worker):
    apollo = make_worker("Apollo")
    assert mergecoord("install-hooks", cwd=apollo.path).returncode == 0
    empty = inbox(apollo)         # nothing published yet: no warning, no tasks
    assert empty.returncode == 0 and empty.stdout == "Apollo's inbox: no open tasks\n"
    assert empty.stderr == ""

    first = create_task(central, "Apollo")
    create_task(central, "Athena", priority="high", file="api.py")
    second = create_task(central, "Apollo", priority="normal", file="search.py")
    doc = inbox_json(apollo)          # fetches the new state itself
    assert doc["source"] == "clone" and doc["worker"] == "Apollo"
    assert [(t["id"], t["status"], t["file"]) for t in doc["tasks"]] == [
        (first.id, "new", SEED_TASK["file"]), (second.id, "new", "search.py")]
    assert set(doc["tasks"][0]) == {"id", "worker", "priority", "file", "feedback", "suggestion", "learning",
                                    "decision", "merge_id", "created", "status"}

    text = inbox(apollo).stdout
    assert text.startswith("Apollo's inbox: 2 tasks\n")
    assert f"[Apollo Inbox] Refactor task {first.id}:" in text and "From:       decision d-0001, merge m-0002" in text

    assert inbox(apollo, "ack", first.id).returncode == 0
    assert inbox(apollo, "ack", first.id).stdout == f"{first.id} was already acknowledged\n"
    doc = inbox_json(apollo)
    assert [(t["id"], t["status"]) for t in doc["tasks"]] == [(first.id, "acked"), (second.id, "new")]
    assert first.id not in inbox(apollo).stdout and first.id in inbox(apollo, "--all").stdout
    # The ack lives in the clone; the server's copy is untouched.
    assert [t.status for t in tasks.all_tasks(Central(central.path), "Apollo")] == ["new", "new"]
    assert json.loads((apollo.path / ".git" / "mergecoord" / "inbox.json").read_text())["acked"] == [first.id]

    # Someone else's inbox, by name; and the identity a worker sets at install time.
    assert [t["worker"] for t in inbox_json(apollo, "--worker", "Athena")["tasks"]] == ["Athena"]
    apollo.git("config", "mergecoord.worker", "Athena")
    assert inbox_json(apollo, "--no-fetch")["worker"] == "Athena"


def test_inbox_on_the_central_repository(central, make_worker):
    first = create_task(central, "Apollo")
    create_task(central, "Athena", file="api.py")
    everyone = central.json("inbox")
    assert everyone["source"] == "central" and everyone["worker"] is None
    assert [t["worker"] for t in everyone["tasks"]] == ["Apollo", "Athena"]
    assert [t["id"] for t in central.json("inbox", "--worker", "Apollo")["tasks"]] == [first.id]

    acked = central.mc("inbox", "ack", first.id)
    assert acked.returncode == 0 and acked.stdout.startswith(f"acknowledged {first.id}")
    assert [t.status for t in tasks.all_tasks(Central(central.path), "Apollo")] == ["acked"]
    # From a bare repository as the current directory, too.
    proc = mergecoord("inbox", "--worker", "Apollo", cwd=central.path)
    assert proc.returncode == 0 and "no open tasks (1 acknowledged; --all shows them)" in proc.stdout

    # After the next publication a clone sees the server's ack.
    publish_state(central)
    apollo = make_worker("Apollo")
    assert mergecoord("install-hooks", cwd=apollo.path).returncode == 0
    assert [t["status"] for t in inbox_json(apollo)["tasks"]] == ["acked"]


def test_inbox_errors_are_one_line(central, make_worker, tmp_path):
    apollo = make_worker("Apollo")
    bad = inbox(apollo, "ack", "not-a-task")
    assert bad.returncode == 2 and "is not a task id (they look like t-0007" in bad.stderr
    unknown = inbox(apollo, "ack", "t-0042")
    assert unknown.returncode == 1 and "unknown task t-0042" in unknown.stderr
    assert central.mc("inbox", "ack", "t-0042").returncode == 1
    (tmp_path / "elsewhere").mkdir()
    nowhere = mergecoord("inbox", cwd=tmp_path / "elsewhere")
    assert nowhere.returncode == 1 and "not a git repository" in nowhere.stderr
    # An unreachable remote: a warning, and the tasks as of the last fetch.
    apollo.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    offline = inbox(apollo)
    assert offline.returncode == 0 and "warning: could not fetch from origin" in offline.stderr
    for proc in (bad, unknown, nowhere, offline):
        assert "Traceback" not in proc.stderr and proc.stderr.count("\n") <= 1


def test_the_seed_story_a_human_picks_b_and_apollo_sees_his_task_after_git_pull(central, make_worker, tmp_path):
    """Escalation, a human's answer from a clone, the task for the losing worker, the
    webhook hearing every step, and Apollo's next `git pull`."""
    from decide_story import STORAGE, configure, escalate, human_clone, merge_decide
    from test_notify import Webhook

    with Webhook().running() as webhook:
        configure(central)
        text = (central.state / "config.toml").read_text()
        central.set_config(text.replace("[notify]\n", f'[notify]\nwebhook = "{webhook.url}"\n', 1))
        apollo, athena, numa = escalate(central, make_worker)
        assert mergecoord("install-hooks", cwd=apollo.path).returncode == 0
        apollo.git("checkout", "-q", "main")
        apollo.git("pull", "-q")

        answered = merge_decide(human_clone(tmp_path, central), "d-0001", "B", "-m",
                                "Storage efficiency weighted higher than read speed")
        assert answered.returncode == 0, answered.stderr
        central.run_once()
        assert central.trailers("main")["Resolved-By"] == "human"

        pulled = apollo.git("pull")
        assert "[Apollo Inbox] New refactor task t-0001:" in pulled.stderr
        assert f"  File:       {STORAGE}\n" in pulled.stderr
        assert "Storage efficiency weighted higher than read speed" in pulled.stderr
        assert [t["id"] for t in inbox_json(apollo)["tasks"]] == ["t-0001"]
        assert inbox_json(athena)["tasks"] == []

        events = [(e["event"], e["branch"]) for e in webhook.events()]
        assert ("escalated", "sprint/optimize-memory-storage") in events
        assert ("decided", "sprint/optimize-memory-storage") in events
        assert events[-1] == ("merged", "sprint/optimize-memory-storage")
        decided = next(e for e in webhook.events() if e["event"] == "decided")
        assert decided["decision"] == "d-0001" and decided["choice"] == "B"

