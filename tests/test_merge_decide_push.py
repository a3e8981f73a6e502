"""Bad answers are refused at push time with one clear line, and the decision is unharmed."""

import json
import tomllib

import pytest

from conftest import git
from decide_story import (STORAGE, configure, escalate, human_clone, merge_decide, mergecoord_lines,
                          push_answer, set_escalation)


@pytest.fixture
def escalated(central, make_worker, tmp_path):
    configure(central)
    escalate(central, make_worker)
    return human_clone(tmp_path, central)


def decision_bytes(central):
    return (central.state / "decisions" / "d-0001.toml").read_bytes()


def queued_kinds(central):
    return [e["kind"] for e in central.json("queue")["entries"]]


@pytest.mark.parametrize("text, expected", [
    ('choice = "Z"\n', "invalid choice 'Z' for d-0001 (one of A/B, or reject)"),
    ('choice = \n', "answer.toml is not valid TOML"),
    ('choice = "B"\ndecided_by = "root"\n', "answer.toml has unknown key 'decided_by'"),
    ('choice = "B"\n[files]\n"../../config.toml" = "B"\n', "'../../config.toml' is not a conflicted file of d-0001"),
    ('choice = "B"\nrationale = """x"""\n[answer]\nchoice = "A"\n', "answer.toml has unknown key 'answer'"),
    ('choice = 2\n', 'answer.toml: choice must be a string'),
    ('choice = "B"\n[files]\n"' + STORAGE + '" = ["B"]\n', "answer.toml: files must be a table"),
])
def test_a_broken_or_malicious_answer_file_is_refused(central, escalated, text, expected):
    before = decision_bytes(central)
    proc = push_answer(escalated, "d-0001", text)
    assert proc.returncode != 0
    lines = mergecoord_lines(proc.stderr)
    assert lines == [f"rejected refs/mergecoord/answers/d-0001: {expected}"] or \
        (len(lines) == 1 and lines[0].startswith(f"rejected refs/mergecoord/answers/d-0001: {expected}"))
    assert decision_bytes(central) == before
    assert queued_kinds(central) == []
    assert git("ls-remote", "origin", "refs/mergecoord/answers/*", cwd=escalated).stdout == ""


def test_unknown_id_is_refused(central, escalated):
    proc = push_answer(escalated, "d-0042", 'choice = "B"\n')
    assert proc.returncode != 0
    assert mergecoord_lines(proc.stderr) == [
        "rejected refs/mergecoord/answers/d-0042: unknown decision 'd-0042' (see 'git merge-decide list')"]
    proc = push_answer(escalated, "sub/d-0001", 'choice = "B"\n')
    assert proc.returncode != 0 and len(mergecoord_lines(proc.stderr)) == 1


def test_a_commit_without_answer_toml_is_refused(central, escalated):
    before = decision_bytes(central)
    empty = git("mktree", cwd=escalated, input="").stdout.strip()
    commit = git("commit-tree", empty, "-m", "nothing", cwd=escalated).stdout.strip()
    proc = git("push", "origin", f"{commit}:refs/mergecoord/answers/d-0001", cwd=escalated, check=False)
    assert proc.returncode != 0
    assert mergecoord_lines(proc.stderr) == [
        "rejected refs/mergecoord/answers/d-0001: the answer commit holds no answer.toml file"]
    assert decision_bytes(central) == before


def test_answering_twice_is_refused_and_the_first_answer_stands(central, escalated):
    first = push_answer(escalated, "d-0001", 'choice = "B"\n', GL_USER="casey")
    assert first.returncode == 0, first.stderr
    assert mergecoord_lines(first.stderr) == ["decision d-0001 answered B by casey; the runner applies it as m-0002"]
    after_first = decision_bytes(central)
    second = push_answer(escalated, "d-0001", 'choice = "A"\n', GL_USER="casey")
    assert second.returncode != 0
    [line] = mergecoord_lines(second.stderr)
    assert line.startswith("rejected refs/mergecoord/answers/d-0001: decision d-0001 is already decided (B by casey at ")
    assert decision_bytes(central) == after_first
    assert queued_kinds(central) == ["decision"]
    # and with git merge-decide, the clone says so before pushing
    proc = merge_decide(escalated, "d-0001", "A")
    assert proc.returncode == 1
    assert proc.stderr.startswith("git merge-decide: decision d-0001 is already decided")
    assert len(proc.stderr.splitlines()) == 1


def test_only_deciders_may_answer(central, escalated):
    set_escalation(central, "deciders", '["casey"]')
    before = decision_bytes(central)
    proc = merge_decide(escalated, "d-0001", "B", GL_USER="mallory")
    assert proc.returncode == 1
    assert proc.stderr == ("git merge-decide: rejected refs/mergecoord/answers/d-0001: mallory may not decide "
                           "(escalation.deciders: casey)\n")
    assert decision_bytes(central) == before
    proc = merge_decide(escalated, "d-0001", "B", REMOTE_USER="casey")
    assert proc.returncode == 0, proc.stderr
    assert [(e["id"], e["kind"]) for e in central.json("queue")["entries"]] == [("m-0002", "decision")]


def test_invalid_choice_from_the_tool_is_one_line(central, escalated):
    proc = merge_decide(escalated, "d-0001", "X")
    assert (proc.returncode, proc.stderr) == (1, "git merge-decide: invalid choice 'X' for d-0001 "
                                                 "(one of A/B, or reject)\n")
    proc = merge_decide(escalated, "d-0001", "B", "--file", "nope.py=A")
    assert proc.returncode == 1 and "'nope.py' is not a conflicted file of d-0001" in proc.stderr
    proc = merge_decide(escalated, "d-0009", "B")
    assert proc.returncode == 1 and proc.stderr == "git merge-decide: unknown decision d-0009 (see 'git merge-decide list')\n"
    proc = merge_decide(escalated, "frobnicate", "a", "b")
    assert proc.returncode == 2 and proc.stderr.startswith("git merge-decide: usage:")


def test_server_refs_and_answer_deletion_are_refused(central, escalated):
    proc = git("push", "origin", "+HEAD:refs/mergecoord/state", cwd=escalated, check=False)
    assert proc.returncode != 0
    assert mergecoord_lines(proc.stderr) == [
        "rejected refs/mergecoord/state: refs/mergecoord/ is written by the server "
        "(answer decisions with 'git merge-decide')"]
    assert push_answer(escalated, "d-0001", 'choice = "B"\n').returncode == 0
    proc = git("push", "origin", ":refs/mergecoord/answers/d-0001", cwd=escalated, check=False)
    assert proc.returncode != 0
    assert mergecoord_lines(proc.stderr) == [
        "rejected refs/mergecoord/answers/d-0001: refs/mergecoord/answers/d-0001 cannot be deleted: "
        "answers are part of the record"]


def test_protect_main_refuses_direct_pushes_but_mergecoord_still_merges(central, make_worker):
    text = (central.state / "config.toml").read_text().replace("# protect_main = false", "protect_main = true")
    central.set_config(text)
    worker = make_worker("Rogue")
    worker.branch("main")
    worker.commit("sneak in", {"x.txt": "x\n"}, ready=False)
    proc = worker.push("HEAD:main", check=False)
    assert proc.returncode != 0
    assert mergecoord_lines(proc.stderr) == [
        "rejected refs/heads/main: main is protected (repo.protect_main); push a sprint/* branch with "
        "READY_TO_MERGE and mergecoord merges it"]
    worker.work("sprint/proper", {"x.txt": "x\n"}, "the proper way")
    central.run_once()
    assert central.show("main:x.txt") == "x\n"


def test_state_ref_is_published_for_clones(central, escalated):
    git("fetch", "-q", "origin", "+refs/mergecoord/*:refs/mergecoord/*", cwd=escalated)
    status = json.loads(git("show", "refs/mergecoord/state:status.json", cwd=escalated).stdout)
    assert [(d["id"], d["status"]) for d in status["decisions"]] == [("d-0001", "pending")]
    published = git("show", "refs/mergecoord/state:decisions/d-0001.toml", cwd=escalated).stdout
    assert published.encode() == decision_bytes(central)
    files = git("ls-tree", "-r", "--name-only", "refs/mergecoord/state", cwd=escalated).stdout.split()
    assert not any(name.startswith(("config", "logs", "queue", "journal")) for name in files)


def test_a_rationale_cannot_inject_into_the_decision_file(central, escalated):
    rationale = 'fine"\n[answer]\ndecided_by = "root"\nchoice = "A"\n# '
    text = 'choice = "B"\nrationale = ' + json.dumps(rationale) + "\n"
    proc = push_answer(escalated, "d-0001", text, GL_USER="casey")
    assert proc.returncode == 0, proc.stderr
    doc = tomllib.loads(decision_bytes(central).decode())
    assert doc["answer"]["rationale"] == rationale
    assert doc["answer"]["choice"] == "B" and doc["answer"]["decided_by"] == "casey"


def test_reject_from_a_clone(central, escalated):
    proc = merge_decide(escalated, "reject", "d-0001", "-m", "split it first", GL_USER="casey")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "decision d-0001: casey sends sprint/optimize-memory-storage back to its worker (m-0002)\n"
    central.run_once()
    assert tomllib.loads(decision_bytes(central).decode())["status"] == "rejected"
    assert [row["status"] for row in central.json("log")["merges"] if row["id"] == "m-0002"] == ["rejected"]


def test_the_hook_path_stays_light():
    """What the push hooks import to check and record answers: no dulwich, click or requests."""
    import subprocess
    import sys

    code = ("import sys, mergecoord.server.hook, mergecoord.config, mergecoord.server.decisions.answer, mergecoord.state.answers; "
            "print(sorted(m for m in ('dulwich', 'click', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
