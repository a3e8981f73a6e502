"""git computes every merge: its verdicts, its conflict kinds and its hunks reach the panel
and the human unchanged, on real repositories."""

import os
import signal
import subprocess
import sys

import pytest
from dulwich.repo import Repo

from conftest import git, mergecoord
from mergecoord.merge import merge_commits, merge_texts
from mergecoord.panel.hunks import file_conflict
from mergecoord.server.conflicts import conflict_files


class History:
    """A bare repository whose commits are made with plain git in a work clone."""

    def __init__(self, tmp_path):
        self.bare = tmp_path / "repo.git"
        self.work = tmp_path / "work"
        git("init", "-q", "--bare", str(self.bare))
        git("init", "-q", str(self.work))

    def git(self, *args):
        return git(*args, cwd=self.work).stdout

    def write(self, files):
        for path, data in files.items():
            target = self.work / path
            if data is None:
                self.git("rm", "-q", "-r", path)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data if isinstance(data, bytes) else data.encode())
        self.git("add", "-A")

    def commit(self, branch, files, start=None, gitlinks=(), symlinks=()):
        if start:
            self.git("checkout", "-q", "-B", branch, start)
        else:
            self.git("checkout", "-q", "--orphan", branch)
        for path, target in symlinks:
            (self.work / path).unlink(missing_ok=True)
            (self.work / path).symlink_to(target)
        self.write(files)
        for path, sha in gitlinks:
            self.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{path}")
        self.git("commit", "-q", "--allow-empty", "-m", branch)
        self.git("push", "-q", "-f", str(self.bare), f"{branch}:{branch}")
        return self.git("rev-parse", "HEAD").strip().encode()

    def merge(self, ours, theirs):
        store = Repo(str(self.bare)).object_store
        return store, merge_commits(store, ours, theirs)

    def git_verdict(self, ours, theirs):
        """What `git merge-tree` itself says: (clean, conflicted paths)."""
        proc = subprocess.run(["git", "--git-dir", str(self.bare), "merge-tree", "--write-tree", "--name-only",
                               ours.decode(), theirs.decode()], capture_output=True, text=True)
        lines = proc.stdout.split("\n\n")[0].splitlines()[1:]
        return proc.returncode == 0, tuple(sorted(lines))


@pytest.fixture
def history(tmp_path):
    return History(tmp_path)


def three_way(history, base, ours, theirs, path="file.txt"):
    b = history.commit("base", {path: base})
    o = history.commit("ours", {path: ours}, start="base")
    t = history.commit("theirs", {path: theirs}, start="base")
    return history.merge(o, t)


# -- verdicts ----------------------------------------------------------------------

def test_adjacent_line_edits_are_a_conflict_with_git_and_with_the_panel(history):
    store, result = three_way(history, "a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n")
    assert [(c.path, c.kind) for c in result.conflicts] == [("file.txt", "content")]
    files = conflict_files(store, result)
    assert [f.path for f in files] == ["file.txt"] and len(files[0].hunks) == 1
    hunk = files[0].hunks[0]
    assert (hunk.base, hunk.ours, hunk.theirs) == (("b\n", "c\n"), ("B\n", "c\n"), ("b\n", "C\n"))


# Found by comparing git merge-tree (histogram diff) with git merge-file (Myers) on
# random texts of repeated lines: the two line merges disagree here, and git's verdict wins.
HISTOGRAM_CONFLICTS = (b"}\na\n}\n{\nreturn x;\nb\nb\n\n",
                       b"}\na\n}\n{\nreturn x;\nb\nb\nb\nreturn x;\n{\n\n",
                       b"}\na\n}\n{\nreturn x;\nreturn x;\n\nb\nb\n}\nreturn x;\nb\n\n")
HISTOGRAM_CLEAN = (b"\nb\nif (y) {\n\na\nreturn x;\na\n",
                   b"\nb\nif (y) {\nif (y) {\na\n\na\n",
                   b"\nb\n}\nif (y) {\n\na\n")


@pytest.mark.parametrize("texts,clean", [(HISTOGRAM_CONFLICTS, False), (HISTOGRAM_CLEAN, True)])
def test_repeated_lines_where_histogram_and_myers_disagree_get_gits_verdict(history, tmp_path, texts, clean):
    for name, data in zip("bot", texts):
        (tmp_path / name).write_bytes(data)
    myers = git("merge-file", "-p", str(tmp_path / "o"), str(tmp_path / "b"), str(tmp_path / "t"), check=False)
    assert (myers.returncode == 0) is not clean          # the Myers line merge says the opposite
    b = history.commit("base", {"f.c": texts[0]})
    o = history.commit("ours", {"f.c": texts[1]}, start="base")
    t = history.commit("theirs", {"f.c": texts[2]}, start="base")
    _store, result = history.merge(o, t)
    assert (result.clean, result.conflicted_paths) == history.git_verdict(o, t)
    assert result.clean is clean
    assert merge_texts(*texts)[0].clean is clean        # three texts go through git too


def test_every_conflict_kind_is_gits_and_only_text_goes_to_the_panel(history):
    blob = "1111111111111111111111111111111111111111"
    base = {"content.txt": "a\nb\nc\n", "ren_del": "one\ntwo\nthree\nfour\n", "ren_ren": "1\n2\n3\n4\n5\n",
            "fd": "x\n", "typ": "t\n", "mod_del": "keep\n", "bin": b"\0\1"}
    history.commit("base", base, gitlinks=[("subm", blob)])
    history.git("mv", "ren_del", "ren_del_new")
    history.git("mv", "ren_ren", "ren_ren_ours")
    o = history.commit("ours", {"content.txt": "a\nB\nc\n", "addadd.txt": "ours\n", "fd": None, "fd/x": "in\n",
                                "mod_del": None, "bin": b"\0\2"}, start="base",
                       gitlinks=[("subm", "2" * 40)], symlinks=[("typ", "target")])
    history.git("checkout", "-q", "-B", "theirs", "base")
    history.git("mv", "ren_ren", "ren_ren_theirs")
    t = history.commit("theirs", {"content.txt": "a\nb\nC\n", "addadd.txt": "theirs\n", "ren_del": None,
                                  "fd": "changed\n", "typ": "tt\n", "mod_del": "changed\n", "bin": b"\0\3"},
                       start="theirs", gitlinks=[("subm", "3" * 40)])
    store, result = history.merge(o, t)
    kinds = {c.path: c.kind for c in result.conflicts}
    assert kinds == {
        "content.txt": "content", "addadd.txt": "add/add", "bin": "binary", "subm": "submodule",
        "mod_del": "modify/delete", "ren_del_new": "rename/delete", "ren_ren": "rename/rename",
        "ren_ren_ours": "rename/rename", "ren_ren_theirs": "rename/rename",
        f"fd~{t.decode()}": "file/directory", "typ": "type", f"typ~{t.decode()}": "type"}
    assert result.conflicted_paths == history.git_verdict(o, t)[1]
    assert {c.path for c in result.conflicts if c.textual} == {"content.txt", "addadd.txt"}
    assert conflict_files(store, result) is None        # any conflict but text: a human decides
    text_only = type(result)(result.tree, tuple(c for c in result.conflicts if c.textual), result.bases,
                             result.messages, result.commits)
    assert [f.path for f in conflict_files(store, text_only)] == ["addadd.txt", "content.txt"]


def test_pushed_gitattributes_do_not_configure_the_merge(history):
    attributes = {".gitattributes": "* merge=union\n"}
    history.commit("base", {**attributes, "f.txt": "a\nb\nc\n"})
    o = history.commit("ours", {"f.txt": "a\nB\nc\n"}, start="base")
    t = history.commit("theirs", {"f.txt": "a\nX\nc\n"}, start="base")
    _store, result = history.merge(o, t)
    assert result.conflicted_paths == ("f.txt",)      # a worktree would have merged it as a union


def test_an_inherited_git_environment_does_not_steer_the_merge(history, tmp_path, monkeypatch):
    _store, expected = three_way(history, "a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n")
    other = tmp_path / "other.git"
    git("init", "-q", "--bare", str(other))
    monkeypatch.setenv("GIT_DIR", str(other))                      # what a hook's environment holds
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(other / "objects"))
    _store, again = history.merge(*expected.commits)
    assert again.tree == expected.tree and again.clean


# -- hunks ---------------------------------------------------------------------------

@pytest.mark.parametrize("base,ours,theirs", [
    ("head\nx\nmid\ny\ntail\n", "head\nX1\nmid\nY1\ntail\n", "head\nX2\nmid\nY2\ntail\n"),
    ("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n", "a\r\nbb\r\nc\r\n"),                 # CRLF
    ("a\nb", "a\nB", "a\nC"),                                              # no newline at the end
    ("a\nb\n", "a\nB", "a\nC\n"),                                          # one side without it
    ("Title\n=======\n\ntext\n", "Title\n=======\n\nours\n", "Title\n=======\n\ntheirs\n"),
    ("x\n=======\ny\n", "x\nO\n=======\ny\n", "x\nT\n=======\ny\n"),      # marker-like lines inside
    ("", "added by main\n", "added by the branch\n"),                      # add/add
])
def test_hunks_round_trip_to_stages_2_and_3(history, base, ours, theirs):
    store, result = three_way(history, base, ours, theirs)
    (conflict,) = result.conflicts
    (derived,) = conflict_files(store, result)
    assert derived.hunks
    every = range(len(derived.hunks))
    stage = lambda side: store[side.sha].as_raw_string().decode()
    assert derived.render(dict.fromkeys(every, "ours")) == stage(conflict.ours) == ours
    assert derived.render(dict.fromkeys(every, "theirs")) == stage(conflict.theirs) == theirs
    assert file_conflict("file.txt", base, ours, theirs).hunks == derived.hunks


def test_clean_changes_of_both_sides_stay_around_the_chosen_hunks(history):
    store, result = three_way(history, "top\na\nb\nc\nbottom\n", "TOP\na\nB\nc\nbottom\n",
                              "top\na\nBB\nc\nbottom\nmore\n")
    (derived,) = conflict_files(store, result)
    assert derived.render({0: "ours"}) == "TOP\na\nB\nc\nbottom\nmore\n"
    assert derived.render({0: "theirs"}) == "TOP\na\nBB\nc\nbottom\nmore\n"
    assert derived.render({0: "base"}) == "TOP\na\nb\nc\nbottom\nmore\n"


# -- end to end ----------------------------------------------------------------------

def test_adjacent_line_edits_pushed_by_two_workers_are_never_merged_as_clean(central, make_worker):
    casey = make_worker("Casey")
    casey.work("sprint/base", {"notes.txt": "alpha\nbeta\ngamma\ndelta\n"})
    central.run_once()
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/beta", {"notes.txt": "alpha\nBETA\ngamma\ndelta\n"})
    athena.work("sprint/gamma", {"notes.txt": "alpha\nbeta\nGAMMA\ndelta\n"})
    central.run_once()
    log = {m["id"]: m for m in central.json("log")["merges"]}
    assert log["m-0002"]["status"] == "merged" and log["m-0002"]["resolved_by"] == "clean"
    assert log["m-0003"]["status"] == "escalated" and log["m-0003"]["conflicts"] == ["notes.txt"]
    assert central.show("main:notes.txt") == "alpha\nBETA\ngamma\ndelta\n"


def test_a_modify_delete_conflict_goes_to_a_human_without_the_panel(central, make_worker):
    casey = make_worker("Casey")
    casey.work("sprint/base", {"old.py": "x = 1\n"})
    central.run_once()
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.branch("sprint/drop")
    apollo.git("rm", "-q", "old.py")
    apollo.commit("drop old.py")
    apollo.push()
    athena.work("sprint/change", {"old.py": "x = 2\n"})
    central.run_once()
    log = {m["id"]: m for m in central.json("log")["merges"]}
    assert log["m-0003"]["status"] == "escalated"
    assert "old.py (modify/delete)" in log["m-0003"]["detail"]
    assert "MERGE CONFLICT RESOLUTION" not in central.mc("show", "m-0003").stdout   # no panel round


def test_a_conflicted_path_that_is_not_utf8_escalates_and_lands_without_a_traceback(central, make_worker, tmp_path):
    name = b"caf\xe9.txt"
    shown = "caf\\xe9.txt"
    casey = make_worker("Casey")
    casey.branch("sprint/base")
    (casey.path / name.decode("utf-8", "surrogateescape")).write_bytes(b"one\ntwo\nthree\n")
    casey.commit("base")
    casey.push()
    central.run_once()
    for who, text in (("Apollo", b"one\nTWO apollo\nthree\n"), ("Athena", b"one\nTWO athena\nthree\n")):
        worker = make_worker(who)
        worker.branch(f"sprint/{who.lower()}")
        (worker.path / name.decode("utf-8", "surrogateescape")).write_bytes(text)
        worker.commit(f"{who}'s two")
        worker.push()
    run = central.run_once()
    assert "Traceback" not in run.stdout + run.stderr and "\udce9" not in run.stdout
    assert f"CONFLICT in {shown}" in run.stdout
    log = {m["id"]: m for m in central.json("log")["merges"]}
    assert log["m-0003"]["status"] == "escalated"
    assert not (central.state / "logs" / "runner.log").exists()
    shown_box = central.mc("decide", "show", "d-0001", check=True).stdout
    assert f"File: {shown}" in shown_box
    central.mc("decide", "d-0001", "--file", f"{shown}=B", "-m", "take Athena's", check=True)
    applied = central.run_once()
    assert "Traceback" not in applied.stdout + applied.stderr
    assert central.json("log")["merges"][-1]["status"] == "merged"
    blob = central.git("cat-file", "blob", "main:" + name.decode("utf-8", "surrogateescape")).stdout
    assert blob == "one\nTWO athena\nthree\n"


def test_init_refuses_a_git_older_than_2_38(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\necho 'git version 2.30.1'\n")
    (fake / "git").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}{os.pathsep}{os.environ['PATH']}")
    proc = mergecoord("init", "--create", tmp_path / "repo.git", env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].endswith("found: git version 2.30.1")
    assert "Traceback" not in proc.stderr and not (tmp_path / "repo.git").exists()


def test_a_killed_process_scratch_repository_is_removed_by_the_next_one():
    """merge_texts works in a per-process scratch repository removed at exit; a runner
    killed with SIGKILL never reaches its exit handler, so the next process sweeps it."""
    code = ("import os, signal; from mergecoord.merge.engine import scratch_store; "
            "print(os.path.dirname(scratch_store().path), flush=True); {}")
    killed = subprocess.run([sys.executable, "-c", code.format("os.kill(os.getpid(), signal.SIGKILL)")],
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    left = killed.stdout.strip()
    assert os.path.isdir(left)
    survivor = subprocess.run([sys.executable, "-c", code.format("")], capture_output=True, text=True, check=True)
    assert not os.path.exists(left)
    assert not os.path.exists(survivor.stdout.strip())        # removed at its own exit
