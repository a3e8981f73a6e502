"""Small crashes a new user meets: a reader that stops reading (`| head`), a folder that
happens to be named mergecoord, a hook that cannot write its own log. Each is one line
or nothing, never a traceback, and never stops the work."""

import subprocess
import sys

from conftest import git, mergecoord


def test_start_once_piped_into_head_merges_everything_without_a_traceback(central, make_worker):
    worker = make_worker("Apollo")
    for i in range(4):
        worker.work(f"sprint/w{i}", {f"w{i}.txt": f"{i}\n"})
    # `mergecoord start --once | head -1`: the reader goes away after the first line
    proc = subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert first.startswith(b"[Merge Coordinator]")
    assert "Traceback" not in err and "BrokenPipe" not in err and "internal error" not in err, err
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003", "m-0004"]
    assert [m["status"] for m in central.json("log")["merges"]] == ["merged"] * 4

    for command in (["log"], ["queue"], ["status"]):
        shell = subprocess.run(f"{sys.executable} -m mergecoord --repo {central.path} {command[0]} | head -c 1",
                               shell=True, capture_output=True)
        assert b"Traceback" not in shell.stderr and b"BrokenPipe" not in shell.stderr, shell.stderr


def test_python_m_mergecoord_from_a_directory_holding_a_mergecoord_folder(tmp_path):
    (tmp_path / "mergecoord").mkdir()                  # e.g. a checkout of this project's docs
    (tmp_path / "mergecoord" / "notes.txt").write_text("x\n")
    proc = mergecoord("init", "--create", "project.git", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "internal error" not in proc.stdout + proc.stderr
    # the installed hooks find the real package: a push is queued
    clone = tmp_path / "clone"
    git("clone", "-q", str(tmp_path / "project.git"), str(clone))
    (clone / "a.txt").write_text("a\n")
    git("add", "-A", cwd=clone)
    git("commit", "-q", "-m", "first", cwd=clone)
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    git("checkout", "-q", "-b", "sprint/a", cwd=clone)
    git("commit", "-q", "--allow-empty", "-m", "work\n\nREADY_TO_MERGE", cwd=clone)
    pushed = git("push", "origin", "sprint/a", cwd=clone)
    assert "queued sprint/a as m-0001" in pushed.stderr, pushed.stderr


def test_a_hook_that_cannot_write_its_log_says_what_went_wrong(central, make_worker):
    central.set_config((central.state / "config.toml").read_text().replace("autostart = false", "autostart = true"))
    logs = central.state / "logs"
    for path in logs.iterdir():
        path.unlink()
    logs.rmdir()
    logs.write_text("not a directory\n")        # the runner's and the hook's logs cannot be written
    worker = make_worker("Apollo")
    tip = worker.work("sprint/x", {"x.txt": "x\n"}, push=False)
    proc = worker.push()
    assert proc.returncode == 0 and central.rev("sprint/x") == tip
    said = [line.strip() for line in proc.stderr.splitlines() if "mergecoord:" in line]
    assert "None" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert said[0].endswith("queued sprint/x as m-0001 (position 1)"), said
    assert len(said) == 2 and "runner could not be started" in said[1] and "File exists" in said[1], said
    assert central.json("queue")["entries"][0]["branch"] == "sprint/x"
