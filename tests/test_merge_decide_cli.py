"""git merge-decide as a human uses it: on a terminal, in the bare repo, per file, reject."""

import json
import os
import sys
import tomllib

from decide_story import (ENDPOINTS, NUMA_ENDPOINTS, STORAGE, Terminal, configure, escalate, human_clone,
                          merge_decide, seed_main, tool_env)


def test_interactive_on_a_terminal_shows_the_box_and_takes_one_keystroke(central, make_worker, tmp_path):
    configure(central)
    escalate(central, make_worker)
    clone = human_clone(tmp_path, central)
    term = Terminal(["git", "merge-decide"], clone, tool_env(GL_USER="casey"))
    screen = term.read_until("Choose [A/B]: ")
    assert "╔" in screen and "HUMAN MERGE DECISION NEEDED" in screen and "╚" in screen
    assert f"File: {STORAGE}" in screen
    assert "AI Vote: 0 for A, 0 for B, 0 abstain" in screen
    assert "[A] Apollo's approach:" in screen and "Optimized vector search with parallel processing" in screen
    assert "[B] Athena's approach:" in screen and "+ Pros:" in screen and "- Cons:" in screen
    box = [line for line in screen.splitlines() if line.startswith("║")]
    assert len({len(line.rstrip()) for line in box if "🤖" not in line}) == 1     # the box is square
    term.type("d")
    term.read_until("query_batch")
    term.read_until("Choose [A/B]: ", timeout=5)
    term.type("Q")
    assert term.finish() == 0
    assert "nothing decided" in term.output

    term = Terminal(["git", "merge-decide"], clone, tool_env(GL_USER="casey"))
    term.read_until("Choose [A/B]: ")
    term.type("x")
    term.read_until("invalid choice 'X'")
    term.type("b")
    term.read_until("Rationale (optional): ")
    term.type("compression wins at scale")
    assert term.finish() == 0, term.output
    assert "decision d-0001 answered B by casey" in term.output
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["status"] == "decided"
    assert doc["answer"]["rationale"] == "compression wins at scale"
    assert doc["answer"]["decided_by"] == "casey"


def test_interactive_asks_which_when_several_are_pending(central, make_worker, tmp_path):
    configure(central)
    seed_main(make_worker)
    a, b, c = make_worker("Apollo"), make_worker("Athena"), make_worker("Hermes")
    a.work("sprint/a", {STORAGE: "a\n"}, "storage, the A way")
    b.work("sprint/b", {STORAGE: "b\n"}, "storage, the B way")
    c.work("sprint/c", {STORAGE: "c\n"}, "storage, the C way")
    central.run_once()
    # in the bare repository itself, through the executable that git runs
    term = Terminal([os.path.join(os.path.dirname(sys.executable), "git-merge-decide")], central.path, tool_env())
    screen = term.read_until("Which decision? [1-2]: ")
    assert "1. d-0001" in screen and "2. d-0002" in screen
    term.type("2")
    screen = term.read_until("Choose [A/B]: ")
    assert "Decision: d-0002" in screen and "sprint/c" in screen
    term.type("r")
    term.read_until("Rationale (optional): ")
    term.type("neither is ready")
    assert term.finish() == 0, term.output
    assert "recorded reject for d-0002" in term.output


def test_without_a_terminal_the_bare_command_says_what_to_do(central, make_worker, tmp_path):
    proc = merge_decide(human_clone(tmp_path, central))
    assert proc.returncode == 2
    assert proc.stderr == ("git merge-decide: not a terminal: use 'git merge-decide list' and "
                           "'git merge-decide ID CHOICE'\n")


def test_reject_sends_the_branch_back_to_its_worker(central, make_worker, tmp_path):
    configure(central)
    escalate(central, make_worker)
    main_before = central.rev("main")
    proc = merge_decide(central.path, "reject", "d-0001", "-m", "rework it on top of Apollo's cache")
    assert proc.returncode == 0, proc.stderr
    central.run_once()
    assert central.rev("main") == main_before
    merges = {row["branch"]: row for row in central.json("log")["merges"]}
    assert merges["sprint/optimize-memory-storage"]["status"] == "rejected"
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["status"] == "rejected"
    [task_file] = (central.state / "inbox" / "Athena").glob("t-*.toml")
    task = tomllib.loads(task_file.read_text())
    assert task["file"] == STORAGE and "sent sprint/optimize-memory-storage back unmerged" in task["feedback"]
    assert "rework it on top of Apollo's cache" in task["feedback"]
    assert not (central.state / "inbox" / "Apollo").exists()
    listed = json.loads(merge_decide(central.path, "list", "--json").stdout)["decisions"]
    assert [(d["id"], d["status"]) for d in listed] == [("d-0001", "rejected")]


def two_file_decision(central, make_worker):
    """Apollo and Athena both rewrite the storage and the endpoints: one decision, two files."""
    configure(central)
    text = (central.state / "config.toml").read_text()
    central.set_config(text.replace(f'always_human = ["{STORAGE}"]', 'always_human = ["engram/*"]'))
    seed_main(make_worker)
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/apollo", {STORAGE: "STORAGE = 'apollo'\n", ENDPOINTS: "ENDPOINTS = 'apollo'\n"}, "apollo")
    athena.work("sprint/athena", {STORAGE: "STORAGE = 'athena'\n", ENDPOINTS: "ENDPOINTS = 'athena'\n"}, "athena")
    central.run_once()


def test_per_file_choices_compact_and_with_file(central, make_worker, tmp_path):
    two_file_decision(central, make_worker)
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["files"] == [ENDPOINTS, STORAGE]
    clone = human_clone(tmp_path, central)
    proc = merge_decide(clone, "d-0001", "AAB")
    assert proc.returncode == 1 and "one letter per file like AB" in proc.stderr
    proc = merge_decide(clone, "d-0001", "AB")
    assert proc.returncode == 0, proc.stderr
    central.run_once()
    assert central.show(f"main:{ENDPOINTS}") == "ENDPOINTS = 'apollo'\n"
    assert central.show(f"main:{STORAGE}") == "STORAGE = 'athena'\n"
    tasks = sorted((t["worker"], t["file"]) for t in
                   (tomllib.loads(p.read_text()) for p in (central.state / "inbox").rglob("t-*.toml")))
    assert tasks == [("Apollo", STORAGE), ("Athena", ENDPOINTS)]


def test_file_option_overrides_one_file(central, make_worker, tmp_path):
    two_file_decision(central, make_worker)
    proc = merge_decide(central.path, "d-0001", "B", "--file", f"{ENDPOINTS}=A")
    assert proc.returncode == 0, proc.stderr
    central.run_once()
    assert central.show(f"main:{ENDPOINTS}") == "ENDPOINTS = 'apollo'\n"
    assert central.show(f"main:{STORAGE}") == "STORAGE = 'athena'\n"


def test_modify_delete_conflict_takes_the_chosen_side(central, make_worker, tmp_path):
    seed_main(make_worker)
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.branch("sprint/drop-endpoints")
    apollo.git("rm", "-q", ENDPOINTS)
    apollo.commit("endpoints move elsewhere")
    apollo.push()
    athena.work("sprint/stream", {ENDPOINTS: NUMA_ENDPOINTS, "notes.txt": "streaming\n"}, "stream responses")
    central.run_once()
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["kinds"] == {ENDPOINTS: "modify/delete"}
    assert "deletes engram/api/v1/endpoints.py" in doc["options"]["A"]["pros"]
    proc = merge_decide(human_clone(tmp_path, central), "d-0001", "B")
    assert proc.returncode == 0, proc.stderr
    central.run_once()
    assert central.show(f"main:{ENDPOINTS}") == NUMA_ENDPOINTS
    assert central.show("main:notes.txt") == "streaming\n"


def test_a_damaged_decision_file_is_reported_and_the_others_listed(central, make_worker, tmp_path):
    configure(central)
    escalate(central, make_worker)
    (central.state / "decisions" / "d-0002.toml").write_text('id = "d-0002"\nstatus = \n')
    proc = merge_decide(central.path, "list")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("d-0001  pending")
    assert lines[1].startswith("d-0002  damaged   decision file d-0002.toml is damaged")
    proc = merge_decide(central.path, "show", "d-0002")
    assert proc.returncode == 1 and proc.stderr.startswith("git merge-decide: decision file d-0002.toml is damaged")
    proc = central.mc("decide", "list", "--json")
    assert [d["status"] for d in json.loads(proc.stdout)["decisions"]] == ["pending", "damaged"]


def test_a_choice_that_does_not_validate_goes_back_to_the_human(central, make_worker, tmp_path):
    configure(central)
    seed_main(make_worker)
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/apollo", {STORAGE: "def search(:\n"}, "half-finished")
    athena.work("sprint/athena", {STORAGE: "def search(q):\n    return q\n"}, "finished")
    central.run_once()
    main_before = central.rev("main")
    assert merge_decide(central.path, "d-0001", "A").returncode == 0
    central.run_once()
    assert central.rev("main") == main_before
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["status"] == "pending" and "answer" not in doc
    assert doc["failed_answer"]["choice"] == "A"
    assert doc["apply_error"].startswith(f"the chosen side does not validate: {STORAGE}: python syntax error")
    assert merge_decide(central.path, "d-0001", "B").returncode == 0
    central.run_once()
    assert central.show(f"main:{STORAGE}") == "def search(q):\n    return q\n"
