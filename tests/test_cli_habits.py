"""Command-line habits: --repo after the subcommand, `git help merge-decide` finding its
man page as the README installs it, and the owner answering for a decider on the server."""

import getpass
import json
import os
import shutil
import subprocess
import tomllib

import pytest

from conftest import ROOT, mergecoord
from decide_story import configure, escalate, human_clone, merge_decide, set_escalation


def test_repo_is_accepted_after_the_subcommand_too(central, make_worker):
    make_worker("Apollo").work("sprint/a", {"a.txt": "a\n"})
    elsewhere = {"cwd": "/"}
    queue = json.loads(mergecoord("queue", "--json", "--repo", central.path, check=True, **elsewhere).stdout)
    assert [e["branch"] for e in queue["entries"]] == ["sprint/a"]
    assert "All merges complete" in mergecoord("start", "--once", "--repo", central.path, check=True, **elsewhere).stdout
    again = mergecoord("start", "--once", "--repo", central.path, check=True, **elsewhere).stdout
    assert again.strip() == "[Merge Coordinator] the queue is empty: nothing to merge"
    assert central.merge_ids() == ["m-0001"]
    assert "m-0001" in mergecoord("log", f"--repo={central.path}", check=True, **elsewhere).stdout
    # After the subcommand wins over before it, as the later option does.
    proc = mergecoord("queue", "--repo", central.path, repo="/nonexistent", check=True, **elsewhere)
    assert proc.stdout.strip() == "queue is empty"
    wrong = mergecoord("queue", "--repo", "/nonexistent", **elsewhere)
    assert wrong.returncode == 2 and "no such directory" in wrong.stderr


def test_init_takes_the_repository_as_an_argument_or_from_repo(tmp_path):
    for name, args in (("a.git", ["init", "--create", tmp_path / "a.git"]),
                       ("b.git", ["--repo", tmp_path / "b.git", "init", "--create"]),
                       ("c.git", ["init", "--create", "--repo", tmp_path / "c.git"])):
        proc = mergecoord(*args, check=True)
        assert "mergecoord is set up on" in proc.stdout, name
        assert (tmp_path / name / "mergecoord" / "config.toml").is_file()
        assert "mergecoord-hook" in (tmp_path / name / "hooks" / "post-receive").read_text()
    missing = mergecoord("init", cwd=tmp_path)
    assert missing.returncode == 2 and "which repository?" in missing.stderr
    assert "Traceback" not in missing.stderr
    both = mergecoord("--repo", tmp_path / "a.git", "init", tmp_path / "b.git")
    assert both.returncode == 2 and "two repositories given" in both.stderr


@pytest.mark.skipif(not shutil.which("man"), reason="man (man-db) missing")
def test_git_help_finds_the_man_page_where_the_readme_links_it(tmp_path):
    # The README's installation: git-merge-decide linked into a bin directory on PATH,
    # its man page into the share/man/man1 beside it (man finds it from PATH).
    (tmp_path / "bin").mkdir()
    (tmp_path / "share" / "man" / "man1").mkdir(parents=True)
    (tmp_path / "bin" / "git-merge-decide").symlink_to(ROOT / ".venv" / "bin" / "git-merge-decide")
    (tmp_path / "share" / "man" / "man1" / "git-merge-decide.1").symlink_to(ROOT / "man" / "man1" / "git-merge-decide.1")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "MANPAGER": "cat",
           "PAGER": "cat", "MANWIDTH": "80"}
    env.pop("MANPATH", None)
    for argv in (["git", "help", "merge-decide"], ["git", "merge-decide", "--help"]):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "git-merge-decide - answer the merge decisions mergecoord escalated" in proc.stdout
        assert "--as NAME" in proc.stdout
    lint = subprocess.run(["man", "--warnings", "-l", "-Tutf8", str(ROOT / "man" / "man1" / "git-merge-decide.1")],
                          capture_output=True, text=True, env=env)
    assert lint.returncode == 0 and lint.stderr == ""


def test_the_owner_answers_for_a_decider_with_as_and_it_is_recorded_so(central, make_worker, tmp_path):
    configure(central)
    set_escalation(central, "deciders", '["alice"]')
    escalate(central, make_worker)
    # The owner's own login is no decider; answering as alice is deliberate, and recorded.
    refused = merge_decide(central.path, "d-0001", "B")
    assert refused.returncode == 1 and "may not decide" in refused.stderr
    proc = merge_decide(central.path, "--as", "alice", "d-0001", "B", "-m", "alice said so by mail")
    assert proc.returncode == 0, proc.stderr
    assert "recorded B for d-0001" in proc.stdout
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["answer"]["decided_by"] == "alice"
    assert doc["answer"]["entered_by"] == f"{getpass.getuser()} (--as)"
    decided = [json.loads(line) for line in (central.state / "journal.jsonl").read_text().splitlines()
               if '"decided"' in line]
    assert decided[-1]["decided_by"] == "alice" and decided[-1]["entered_by"].endswith("(--as)")
    assert "B by alice, entered by" in merge_decide(central.path, "list").stdout
    central.run_once()
    assert central.trailers("main")["Resolved-By"] == "human"

    # In a clone the server knows who pushes: --as is refused there.
    clone = human_clone(tmp_path, central)
    proc = merge_decide(clone, "--as", "alice", "d-0001", "A")
    assert proc.returncode == 2 and "--as works on the central repository only" in proc.stderr
