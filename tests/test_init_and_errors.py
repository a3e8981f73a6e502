"""Setting up a repository, and bad input getting one clear line (never a traceback)."""

from conftest import git, mergecoord


def test_init_twice_changes_nothing_and_keeps_an_existing_hook_running(tmp_path):
    repo = tmp_path / "central.git"
    git("init", "-q", "--bare", str(repo))
    legacy = repo / "hooks" / "post-receive"
    legacy.write_text("#!/bin/sh\ncat > \"$GIT_DIR/legacy-saw-this\"\n")
    legacy.chmod(0o755)

    first = mergecoord("init", repo, check=True).stdout
    assert "chained hook" in first and "post-receive.legacy" in first
    snapshot = {p.name: p.read_bytes() for p in (repo / "hooks").iterdir()}
    config = (repo / "mergecoord" / "config.toml").read_bytes()
    second = mergecoord("init", repo, check=True).stdout
    assert "unchanged hook" in second and "kept" in second
    assert {p.name: p.read_bytes() for p in (repo / "hooks").iterdir()} == snapshot
    assert (repo / "mergecoord" / "config.toml").read_bytes() == config

    # the old hook still runs, with the same input, on a real push
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo), str(clone))
    (clone / "a.txt").write_text("a\n")
    git("add", "-A", cwd=clone)
    git("commit", "-qm", "a", cwd=clone)
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    assert "refs/heads/main" in (repo / "legacy-saw-this").read_text()


def test_init_create_makes_the_bare_repository(tmp_path):
    repo = tmp_path / "new.git"
    out = mergecoord("init", "--create", repo, check=True).stdout
    assert "created bare repository" in out
    assert git("--git-dir", str(repo), "rev-parse", "--is-bare-repository").stdout.strip() == "true"
    assert (repo / "mergecoord" / "config.toml").is_file()


def assert_one_line_error(proc, code, *needles):
    assert proc.returncode == code, proc
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_not_a_repository(tmp_path):
    assert_one_line_error(mergecoord("init", tmp_path), 1, "is not a git repository")
    assert_one_line_error(mergecoord("queue", repo=tmp_path / "nowhere"), 2, "no such directory")


def test_a_non_bare_repository_is_refused(tmp_path):
    git("init", "-q", str(tmp_path / "work"))
    assert_one_line_error(mergecoord("init", tmp_path / "work"), 1, "is not a bare repository")
    assert_one_line_error(mergecoord("status", repo=tmp_path / "work"), 1, "is not a bare repository")


def test_a_repository_not_set_up(tmp_path):
    git("init", "-q", "--bare", str(tmp_path / "r.git"))
    assert_one_line_error(mergecoord("queue", repo=tmp_path / "r.git"), 1, "mergecoord init")


def test_a_broken_config_names_the_line(central):
    central.set_config("[queue]\nbranches = [\"sprint/*\"\nmarker = 'x'\n")
    assert_one_line_error(central.mc("status"), 1, "broken config", "line 3")
    central.set_config("[queue]\nmarker = 7\n")
    assert_one_line_error(central.mc("status"), 1, "queue.marker must be a string")
    central.set_config("[nonsense]\n")
    assert_one_line_error(central.mc("start", "--once"), 1, "unknown section [nonsense]")


def test_an_unknown_merge_id(central):
    assert_one_line_error(central.mc("show", "m-0042"), 1, "unknown merge id m-0042")


def test_a_broken_config_never_breaks_a_push(central, make_worker):
    worker = make_worker("Apollo")
    central.set_config("[queue\n")
    out = worker.work("sprint/x", {"x.txt": "x\n"}, push=False)
    proc = worker.push()
    assert proc.returncode == 0
    assert "mergecoord: broken config" in proc.stderr and "push accepted" in proc.stderr
    assert central.rev("sprint/x") == out


def test_the_repository_comes_from_the_environment(central, monkeypatch):
    import os
    env = dict(os.environ, MERGECOORD_REPO=str(central.path))
    proc = mergecoord("queue", "--json", env=env, check=True)
    assert '"entries": []' in proc.stdout


def test_a_broken_panel_entry_stops_the_runner_with_one_line(central, make_worker):
    central.set_config('[[panel]]\nname = "gpt"\nkind = "openai"\n')
    make_worker("Apollo").work("sprint/x", {"x.txt": "x\n"})
    assert_one_line_error(central.mc("start", "--once"), 1, "broken config", "gpt")
    assert central.json("queue")["entries"][0]["status"] == "queued"


def test_a_changed_config_takes_effect_at_the_next_push_even_at_the_same_size(central, make_worker):
    worker = make_worker("Apollo")
    central.set_config('[runner]\nautostart = false\n[queue]\nmarker = "SHIP_IT_A"\n')
    worker.work("sprint/a", {"a.txt": "a\n"}, "done SHIP_IT_A", ready=False)
    central.set_config('[runner]\nautostart = false\n[queue]\nmarker = "SHIP_IT_B"\n')      # same length, same second
    worker.work("sprint/b", {"b.txt": "b\n"}, "done SHIP_IT_A", ready=False)
    worker.work("sprint/c", {"c.txt": "c\n"}, "done SHIP_IT_B", ready=False)
    assert [e["branch"] for e in central.json("queue")["entries"]] == ["sprint/a", "sprint/c"]
