"""Values nothing downstream can use are refused where they are read: a config key of the
wrong type or out of range is one line naming the key (before any merge commit is
written with it), and a state record that parses but is damaged is skipped with a
warning, never an "internal error"."""

import json

import pytest

from conftest import git
from decide_story import merge_decide


def one_line(proc):
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, proc.stdout + proc.stderr
    return lines[0]


def set_key(central, section, line):
    text = (central.state / "config.toml").read_text()
    central.set_config(text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1))


def test_a_committer_without_an_email_is_refused_before_any_merge_commit(central, make_worker):
    worker = make_worker("Apollo")
    tip = worker.work("sprint/a", {"a.txt": "a\n"})
    main = central.rev("main")
    good = (central.state / "config.toml").read_text()
    for bad in ('"mergecoord"', '"mergecoord <>"', '" <mc@example.com>"', '"mc <mc@example.com> x"',
                '"mc\\n <mc@example.com>"'):
        set_key(central, "repo", f"committer = {bad}")
        proc = central.mc("start", "--once")
        assert proc.returncode == 1 and "repo.committer must be 'Name <email>'" in one_line(proc), bad
        assert central.rev("main") == main
        central.set_config(good)
    central.run_once()                       # once mended, merging goes on as if nothing happened
    assert central.rev("main^2") == tip
    assert git("--git-dir", str(central.path), "fsck", "--strict", "--no-dangling").returncode == 0


@pytest.mark.parametrize("section, line, key", [
    ("queue", "branches = [1, 2]", "queue.branches"),
    ("queue", "branches = []", "queue.branches"),
    ("verify", "command = [1, 2]", "verify.command"),
    ("verify", "timeout = 1e400", "verify.timeout"),
    ("verify", "timeout = -1", "verify.timeout"),
    ("runner", "poll_interval = nan", "runner.poll_interval"),
    ("consensus", "max_rounds = 0", "consensus.max_rounds"),
    ("escalation", "deciders = [7]", "escalation.deciders"),
    ("notify", 'webhook = "file:///etc/passwd"', "notify.webhook"),
    ("repo", 'main = "ma in"', "repo.main"),
    ("queue", 'marker = "READY TO MERGE"', "queue.marker"),
])
def test_a_config_value_of_the_wrong_type_or_range_is_one_line_naming_the_key(central, make_worker,
                                                                              section, line, key):
    set_key(central, section, line)
    for command in (("status",), ("start", "--once")):
        proc = central.mc(*command)
        assert proc.returncode == 1, (command, proc.stdout + proc.stderr)
        assert f"broken config" in one_line(proc) and key in one_line(proc)
    worker = make_worker("Apollo")
    pushed = worker.work("sprint/x", {"x.txt": "x\n"}, push=False)
    proc = worker.push()
    assert central.rev("sprint/x") == pushed
    said = [l for l in proc.stderr.splitlines() if "mergecoord" in l]
    assert len(said) == 1 and key in said[0] and "internal error" not in said[0], proc.stderr


def test_a_panel_that_is_not_a_list_of_tables_is_one_line(central):
    central.set_config("panel = [1]\n" + (central.state / "config.toml").read_text())
    proc = central.mc("start", "--once")
    assert proc.returncode == 1 and "[[panel]] entry 1 is not a table" in one_line(proc)
    central.set_config((central.state / "config.toml").read_text().replace("panel = [1]\n", "") + (
                       '[[panel]]\nname = "gpt"\nkind = "openai"\nurl = "http://127.0.0.1:9/v1"\nmodel = "m"\n'
                       "timeout = inf\n"))
    proc = central.mc("start", "--once")
    assert proc.returncode == 1 and "timeout must be" in one_line(proc)


def test_damaged_journal_lines_and_decision_files_are_skipped_with_a_warning(central, make_worker):
    worker = make_worker("Apollo")
    worker.work("sprint/a", {"a.txt": "a\n"})
    central.run_once()
    journal = central.state / "journal.jsonl"
    with open(journal, "a") as f:
        f.write(json.dumps({"id": "m-0001", "event": "merged"}) + "\n")                 # no time
        f.write(json.dumps({"id": "m-0001", "event": "merged", "time": 1.0, "conflicts": [1]}) + "\n")
        f.write(json.dumps({"id": 7, "event": "queued", "time": 1.0}) + "\n")
        f.write(json.dumps({"id": "m-0001", "event": "merged", "time": "x"}) + "\n")
    decisions = central.state / "decisions"
    decisions.mkdir(exist_ok=True)
    (decisions / "d-0001.toml").write_text('id = "d-0001"\nstatus = "pending"\nmerge_id = "m-0009"\n'
                                           'branch = "sprint/q"\nfiles = [1]\n')
    (decisions / "d-0002.toml").write_text('id = "d-0002"\nstatus = "pending"\nmerge_id = "m-0010"\n'
                                           'branch = "sprint/q"\nfiles = ["a.txt"]\noptions = 3\n')

    for command in (("log",), ("log", "--json"), ("show", "m-0001"), ("status",), ("status", "--json"),
                    ("queue",)):
        proc = central.mc(*command)
        assert proc.returncode == 0 and "internal error" not in proc.stderr, (command, proc.stderr)
    assert central.json("show", "m-0001")["status"] == "merged"
    warnings = central.json("status")["warnings"]
    assert any("4 damaged line(s)" in w for w in warnings), warnings
    assert any("d-0001.toml is damaged" in w for w in warnings) and any("d-0002.toml" in w for w in warnings)

    listed = merge_decide(central.path, "list")
    assert listed.returncode == 0 and "internal error" not in listed.stderr, listed.stderr
    assert "d-0001  damaged" in listed.stdout and "d-0002  damaged" in listed.stdout
    for decision in ("d-0001", "d-0002"):
        proc = merge_decide(central.path, decision, "A")
        assert proc.returncode == 1 and "is damaged" in one_line(proc), proc.stderr
        shown = merge_decide(central.path, "show", decision)
        assert shown.returncode == 1 and "is damaged" in one_line(shown)

    worker.work("sprint/b", {"b.txt": "b\n"})              # the runner goes on
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002"]
    assert git("--git-dir", str(central.path), "show", "refs/mergecoord/state:status.json").returncode == 0
