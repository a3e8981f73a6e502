"""Hooks that an earlier mergecoord installed keep working after an upgrade: their
launchers enter at `mergecoord.hook` and `mergecoord.workerhook`, which the package keeps
as aliases of `mergecoord.server.hook` and `mergecoord.clone.hooks`."""

from conftest import mergecoord

OLD = {"mergecoord.server.hook": "mergecoord.hook", "mergecoord.clone.hooks": "mergecoord.workerhook"}


def as_installed_before(path):
    """Turn an installed launcher into the one an earlier mergecoord wrote (its entry point)."""
    text = path.read_text()
    for new, old in OLD.items():
        text = text.replace(f"from {new} import main", f"from {old} import main")
    assert text != path.read_text()
    path.write_text(text)


def test_server_launchers_of_before_queue_pushes_and_check_answers(central, make_worker):
    for name in ("pre-receive", "post-receive"):
        as_installed_before(central.path / "hooks" / name)
    worker = make_worker("Apollo")
    tip = worker.work("sprint/a", {"a.txt": "a\n"})
    assert [e["sha"] for e in central.json("queue")["entries"]] == [tip]
    worker.git("commit", "-q", "--allow-empty", "-m", "not an answer")
    refused = worker.push("HEAD:refs/mergecoord/answers/d-0001", check=False)
    assert refused.returncode == 1 and "unknown decision 'd-0001'" in refused.stderr
    central.run_once()
    assert central.merge_ids() == ["m-0001"] and central.rev("main^2") == tip


def test_worker_launchers_of_before_still_advise(central, make_worker):
    worker = make_worker("Apollo")
    assert mergecoord("install-hooks", cwd=worker.path).returncode == 0
    for name in ("commit-msg", "pre-push", "post-merge"):
        as_installed_before(worker.path / ".git" / "hooks" / name)
    worker.branch("sprint/b")
    worker.write("b.txt", "<<<<<<< ours\nb\n=======\nc\n>>>>>>> theirs\n")
    worker.git("add", "-A")
    committed = worker.git("commit", "-q", "-m", "b\n\nREADY_TO_MERGE")
    assert "READY_TO_MERGE: pushing sprint/b will queue it for merging into main" in committed.stderr
    refused = worker.push(check=False)
    assert refused.returncode == 1 and "still has conflict markers at b.txt:1" in refused.stderr
