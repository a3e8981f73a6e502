"""The hooks in a worker's clone: installed by `mergecoord install-hooks`, fired by real
commits and pushes, chained with the hooks the worker had."""

import subprocess
import sys

from conftest import git, mergecoord


def install(worker, *args):
    return mergecoord("install-hooks", *args, cwd=worker.path)


def hooks(worker):
    return worker.path / ".git" / "hooks"


def queued_branches(central):
    return [e["branch"] for e in central.json("queue")["entries"]]


def test_install_chains_existing_hooks_is_idempotent_and_uninstalls_cleanly(central, make_worker):
    apollo = make_worker("Apollo")
    legacy = "#!/bin/sh\necho \"legacy pre-push $1\" >> \"$(git rev-parse --git-dir)/legacy.log\"\n"
    (hooks(apollo) / "pre-push").write_text(legacy)
    (hooks(apollo) / "pre-push").chmod(0o755)

    first = install(apollo)
    assert first.returncode == 0, first.stderr
    assert "chained hook" in first.stdout and "pre-push.legacy" in first.stdout
    assert "installed hook" in first.stdout
    assert (hooks(apollo) / "pre-push.legacy").read_text() == legacy
    installed = {name: (hooks(apollo) / name).read_text() for name in ("commit-msg", "pre-push", "post-merge")}
    assert all("mergecoord-hook" in text for text in installed.values())

    second = install(apollo)
    assert second.returncode == 0
    assert second.stdout.count("unchanged hook") == 3
    assert {name: (hooks(apollo) / name).read_text() for name in installed} == installed
    fetch = apollo.git("config", "--get-all", "remote.origin.fetch").stdout.split()
    assert fetch.count("+refs/mergecoord/*:refs/mergecoord/*") == 1

    # Both hooks run on a real push: the worker's first, then ours (the branch is queued).
    apollo.work("sprint/search", {"search.py": "def search(): pass\n"})
    assert "legacy pre-push origin" in (apollo.path / ".git" / "legacy.log").read_text()
    assert queued_branches(central) == ["sprint/search"]

    removed = install(apollo, "--uninstall")
    assert removed.returncode == 0
    assert (hooks(apollo) / "pre-push").read_text() == legacy
    assert not (hooks(apollo) / "pre-push.legacy").exists()
    assert not (hooks(apollo) / "commit-msg").exists() and not (hooks(apollo) / "post-merge").exists()
    assert apollo.git("config", "--get-all", "remote.origin.fetch").stdout.split() == \
        ["+refs/heads/*:refs/remotes/origin/*"]


def test_install_records_the_worker_and_the_central_settings(central, make_worker):
    central.set_config('[queue]\nbranches = ["agent/*", "sprint/*"]\nmarker = "SHIP_IT"\n'
                       '[runner]\nautostart = false\n')
    numa = make_worker("Numa")
    out = install(numa, numa.path, "--worker", "Worker_3")
    assert out.returncode == 0, out.stderr
    assert "worker: Worker_3 (git config mergecoord.worker)" in out.stdout
    assert numa.git("config", "mergecoord.worker").stdout.strip() == "Worker_3"
    assert numa.git("config", "--get-all", "mergecoord.branches").stdout.split() == ["agent/*", "sprint/*"]
    numa.branch("agent/api")
    commit = numa.git("commit", "--allow-empty", "-m", "Streaming responses SHIP_IT")
    assert "SHIP_IT: pushing agent/api will queue it" in commit.stderr


def test_commit_msg_accepts_every_form_of_the_marker_and_warns_about_near_misses(central, make_worker):
    apollo = make_worker("Apollo")
    assert install(apollo).returncode == 0
    apollo.branch("sprint/optimize-vector-search")

    def commit(message, **kw):
        proc = apollo.git("commit", "--allow-empty", "-m", message, **kw)
        return proc.stderr

    for message in ("Optimized vector search\n\nREADY_TO_MERGE", "READY_TO_MERGE: done",
                    "Feature complete READY_TO_MERGE"):
        assert "READY_TO_MERGE: pushing sprint/optimize-vector-search will queue it" in commit(message)
    assert "'Ready to merge' is not the marker; write READY_TO_MERGE exactly" in commit("Ready to merge")
    assert "'ready-to-merge' is not the marker" in commit("caching layer, ready-to-merge")
    assert "mergecoord" not in commit("NOT_READY_TO_MERGE: still flaky")
    assert "mergecoord" not in commit("not ready to merge yet")
    assert "mergecoord" not in commit("plain work in progress")
    # A commented-out marker (as an editor template leaves it) does not count.
    msg = apollo.path / "msg.txt"
    msg.write_text("Work in progress\n# READY_TO_MERGE\n")
    assert "mergecoord" not in apollo.git("commit", "--allow-empty", "--cleanup=strip", "-F", str(msg)).stderr

    apollo.branch("feature/cache")
    warning = commit("Cache layer READY_TO_MERGE")
    assert "warning: this commit says READY_TO_MERGE but branch 'feature/cache' does not match sprint/*" in warning
    # Advice only: every one of those commits exists.
    assert apollo.git("log", "-1", "--format=%s").stdout.strip() == "Cache layer READY_TO_MERGE"


def test_pre_push_refuses_conflict_markers_in_a_ready_commit(central, make_worker):
    athena = make_worker("Athena")
    assert install(athena).returncode == 0
    athena.branch("sprint/optimize-memory-storage")
    athena.commit("wip", {"storage.py": "def store():\n<<<<<<< HEAD\n    batch()\n=======\n"
                                        "    compress()\n>>>>>>> theirs\n"}, ready=False)
    wip = athena.push("HEAD", check=False)
    assert wip.returncode == 0, "work in progress may hold markers; only READY work is checked"

    athena.commit("Batch storage with compression", {"notes.md": "done\n"})
    refused = athena.push("HEAD", check=False)
    assert refused.returncode != 0
    line = next(l for l in refused.stderr.splitlines() if "refusing" in l)
    assert line.startswith("mergecoord: refusing to push sprint/optimize-memory-storage: its READY_TO_MERGE commit")
    assert "storage.py:2, storage.py:4, storage.py:6" in line and "--no-verify" in line
    assert queued_branches(central) == []
    assert central.rev("sprint/optimize-memory-storage") == athena.git("rev-parse", "HEAD~1").stdout.strip()

    athena.write("storage.py", "def store():\n    batch()\n    compress()\n")
    athena.git("commit", "-q", "-a", "--amend", "--no-edit")
    assert athena.push("HEAD", check=False).returncode == 0
    assert queued_branches(central) == ["sprint/optimize-memory-storage"]


def test_pre_push_warns_when_the_branch_is_far_behind_main(central, make_worker):
    numa, apollo = make_worker("Numa"), make_worker("Apollo")
    assert install(numa).returncode == 0
    numa.git("config", "mergecoord.behindLimit", "3")
    numa.branch("sprint/optimize-api-performance")
    numa.commit("Streaming responses", {"api.py": "stream = True\n"})
    for n in range(3):
        apollo.branch("main")
        apollo.commit(f"main work {n}", {f"m{n}.txt": f"{n}\n"}, ready=False)
        apollo.push("HEAD:main")
    numa.git("fetch", "-q", "origin")
    pushed = numa.push("HEAD", check=False)
    assert pushed.returncode == 0
    assert ("mergecoord: warning: sprint/optimize-api-performance is 3 commits behind origin/main "
            "(as of your last fetch)") in pushed.stderr
    numa.git("merge", "-q", "origin/main", "-m", "Catch up READY_TO_MERGE")
    assert "behind" not in numa.push("HEAD", check=False).stderr


def test_core_hooks_path_is_respected_or_refused_with_a_hint(central, make_worker, tmp_path):
    apollo = make_worker("Apollo")
    shared = tmp_path / "shared-hooks"
    git("config", "--global", "core.hooksPath", str(shared))
    refused = install(apollo)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "core.hooksPath is set in your global git config" in refused.stderr
    assert "config --local core.hooksPath .git/hooks" in refused.stderr
    assert not shared.exists()

    apollo.git("config", "--local", "core.hooksPath", ".githooks")
    refused = install(apollo)
    assert refused.returncode == 1 and "points into the work tree (.githooks)" in refused.stderr

    own = tmp_path / "apollo-hooks"
    apollo.git("config", "--local", "core.hooksPath", str(own))
    assert install(apollo).returncode == 0
    assert "mergecoord-hook" in (own / "pre-push").read_text()
    apollo.branch("sprint/x")
    assert "pushing sprint/x will queue it" in apollo.git("commit", "--allow-empty", "-m", "READY_TO_MERGE").stderr


def test_install_hooks_refuses_what_is_not_a_clone(central, tmp_path):
    bare = mergecoord("install-hooks", central.path)
    assert bare.returncode == 1
    assert bare.stderr.strip().endswith("is a bare repository; this command is for a worker's clone "
                                        "(the central repository is set up by 'mergecoord init')")
    (tmp_path / "plain").mkdir()
    plain = mergecoord("install-hooks", tmp_path / "plain")
    assert plain.returncode == 1 and "is not inside a git clone" in plain.stderr
    assert "Traceback" not in plain.stderr + bare.stderr


def test_an_internal_error_never_blocks_the_worker(central, make_worker):
    apollo = make_worker("Apollo")
    assert install(apollo).returncode == 0
    apollo.git("config", "mergecoord.behindLimit", "not-a-number")        # tolerated: the default applies
    apollo.git("update-ref", "refs/mergecoord/state", "HEAD")
    (apollo.path / ".git" / "mergecoord").mkdir(exist_ok=True)
    (apollo.path / ".git" / "mergecoord" / "inbox.json").write_text("{damaged")
    apollo.branch("side", start="main")
    apollo.commit("side work", {"side.txt": "x\n"}, ready=False)
    apollo.git("checkout", "-q", "main")
    merged = apollo.git("merge", "side", check=False)
    assert merged.returncode == 0
    assert "mergecoord: internal error in the post-merge hook, ignored (details in" in merged.stderr
    assert "Traceback" in (apollo.path / ".git" / "mergecoord" / "hooks.log").read_text()
    assert apollo.git("log", "-1", "--format=%s").stdout.strip() == "side work"
    apollo.branch("sprint/x")
    apollo.commit("done")
    assert apollo.push("HEAD", check=False).returncode == 0


def test_install_hooks_needs_a_remote(tmp_path):
    git("init", "-q", str(tmp_path / "lonely"))
    proc = mergecoord("install-hooks", tmp_path / "lonely")
    assert proc.returncode == 1 and "has no remote (it must be a clone of the central repository" in proc.stderr


def test_worker_hooks_stay_light():
    """The hooks run on every commit and push: no dulwich, click or requests."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import mergecoord.clone.hooks"],
                          capture_output=True, text=True, check=True)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported.isdisjoint({"dulwich", "click", "requests", "urllib3"}), imported
