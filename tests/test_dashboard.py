"""The dashboard: `mergecoord status` and `status --json` tell the truth about a scripted
mix of outcomes, and show a merge while the panel discusses it."""

import json
import os
import subprocess
import sys
import textwrap

from conftest import ROOT


def verify_refusing(central, name):
    text = (central.state / "config.toml").read_text().replace(
        "[verify]\n", f'[verify]\ncommand = ["sh", "-c", "! test -e {name}"]\n', 1)
    central.set_config(text)


def test_counts_after_a_scripted_mix_of_outcomes(central, make_worker):
    apollo, athena, numa = make_worker("Apollo"), make_worker("Athena"), make_worker("Numa")
    verify_refusing(central, "broken.txt")
    apollo.work("sprint/setup", {"lib.py": "def a():\n    return 1\n", "cfg.py": "LIMIT = 1\n"})
    central.run_once()                                                   # m-0001 clean
    base = central.rev("main")
    apollo.work("sprint/x", {"lib.py": "def a():\n    return 1\n\n\ndef x():\n    return 'x'\n",
                             "cfg.py": "LIMIT = 2\n"})                    # m-0002 clean
    athena.branch("sprint/y", start=base)                               # m-0003 consensus
    athena.commit("y", {"lib.py": "def a():\n    return 1\n\n\ndef y():\n    return 'y'\n"})
    athena.push()
    numa.branch("sprint/limit", start=base)                             # m-0004 escalated
    numa.commit("limit", {"cfg.py": "LIMIT = 3\n"})
    numa.push()
    numa.work("sprint/broken", {"broken.txt": "oops\n"})                # m-0005 verify fails
    central.run_once()
    log = {m["id"]: m["status"] + (f" {m['resolved_by']}" if m["status"] == "merged" else "")
           for m in central.json("log")["merges"]}
    assert log == {"m-0001": "merged clean", "m-0002": "merged clean", "m-0003": "merged consensus",
                   "m-0004": "escalated", "m-0005": "failed"}

    s = central.json("status")
    assert s["active_workers"] == 3 and s["workers"] == ["Apollo", "Athena", "Numa"]
    assert (s["pending_merges"], s["in_discussion"], s["current"]) == (0, 0, [])
    assert s["counts"]["merged"] == 3 and s["counts"]["clean"] == 2 and s["counts"]["consensus"] == 1
    assert s["counts"]["escalated"] == 1 and s["counts"]["failed"] == 1
    today = s["today"]
    assert (today["auto_merged"], today["ai_consensus"], today["human_decisions"], today["failed"]) == (2, 1, 0, 1)
    assert today["avg_seconds"] is not None and today["avg_seconds"] >= 0
    assert s["success_rate"] == 75                                      # 3 landed of 4 finished
    assert s["learning"]["conflicts"] == 2 and s["learning"]["score"] == 50
    if s["awaiting_human"]:                                             # with the decisions store
        assert [d["merge_id"] for d in s["pending_decisions"]] == ["m-0004"]
        assert s["pending_decisions"][0]["files"] == ["cfg.py"]

    text = central.mc("status", check=True).stdout
    assert "\x1b[" not in text                                          # plain off a terminal
    for line in ("Active Workers:       3", "Auto-merged:        2", "AI Consensus:       1",
                 "Human Decisions:    0", "Success Rate:         75%", "Learning Score:       50/100"):
        assert line in text, line
    lines = text.splitlines()
    assert lines[0].startswith("╔") and lines[-1].startswith("╚")
    assert len({len(line) for line in lines}) == 1                     # a closed box


def test_watch_refreshes_and_json_is_one_document_per_refresh(central, make_worker):
    make_worker("Apollo").work("sprint/a", {"a.txt": "a\n"})
    central.mc("pause", "-m", "lunch", check=True)
    frames = central.mc("status", "--watch", "--interval", "0.1", "--count", "2", check=True).stdout
    assert frames.count("Merge Coordinator Dashboard") == 2 and "\x1b[" not in frames
    assert "PAUSED by" in frames and "lunch" in frames
    docs = [json.loads(line) for line in
            central.mc("status", "--watch", "--json", "--interval", "0.1", "--count", "2",
                       check=True).stdout.splitlines()]
    assert len(docs) == 2 and all(d["pending_merges"] == 1 and d["paused"] for d in docs)
    bad = central.mc("status", "--interval", "0")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_merge_in_discussion_shows_as_current_activity(central, make_worker, tmp_path):
    go = tmp_path / "go"
    slow = tmp_path / "slow.py"
    slow.write_text(textwrap.dedent(f'''
        import json, os, sys, time
        sys.stdin.read()
        deadline = time.time() + 30
        while not os.path.exists({str(go)!r}) and time.time() < deadline:
            time.sleep(0.05)
        print(json.dumps({{"vote": "abstain", "rationale": "thought about it"}}))
    '''))
    central.set_config((central.state / "config.toml").read_text()
                       + f'\n[[panel]]\nname = "slow"\nkind = "command"\n'
                         f'command = [{json.dumps(sys.executable)}, {json.dumps(str(slow))}]\n')
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/setup", {"cfg.py": "LIMIT = 1\n"})
    central.run_once()
    base = central.rev("main")
    apollo.work("sprint/two", {"cfg.py": "LIMIT = 2\n"})
    central.run_once()
    athena.branch("sprint/three", start=base)
    athena.commit("three", {"cfg.py": "LIMIT = 3\n"})
    athena.push()

    runner = subprocess.Popen([sys.executable, "-m", "mergecoord", "--repo", str(central.path), "start", "--once"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert central.wait_for(lambda: central.json("status")["in_discussion"] == 1)
        s = central.json("status")
        assert s["runner_active"] is True
        [current] = s["current"]
        assert (current["id"], current["branch"], current["phase"]) == ("m-0003", "sprint/three", "AI discussion")
        assert current["elapsed"] >= 0
        text = central.mc("status", check=True).stdout
        assert "> Merging: sprint/three" in text and "Status: AI discussion" in text
    finally:
        go.write_text("")
        out, _ = runner.communicate(timeout=60)
    assert "1 human escalation" in out
    s = central.json("status")
    assert s["in_discussion"] == 0 and s["current"] == [] and s["counts"]["escalated"] == 1


def run_on_terminal(central, *args, env_extra=None):
    """Run `mergecoord` with its stdout on a pseudo-terminal; what it wrote there."""
    import os
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["TERM"] = "xterm-256color"
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "mergecoord", "--repo", str(central.path), *args],
                          stdout=slave, stderr=subprocess.PIPE, cwd=ROOT, env=env, timeout=30)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.returncode == 0, proc.stderr
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_unless_no_color(central, make_worker):
    make_worker("Apollo").work("sprint/a", {"a.txt": "a\n"})
    central.mc("pause", "-m", "lunch", check=True)
    assert "\x1b[1;31mPAUSED" in run_on_terminal(central, "status")
    plain = run_on_terminal(central, "status", env_extra={"NO_COLOR": "1"})
    assert "PAUSED" in plain and "\x1b[" not in plain
    watched = run_on_terminal(central, "status", "--watch", "--interval", "0.1", "--count", "2",
                              env_extra={"NO_COLOR": "1"})
    assert watched.count("\x1b[H") == 2                  # redrawn in place, not scrolled


def test_no_color_force_color_and_a_dumb_terminal(central, make_worker):
    central.mc("pause", "-m", "lunch", check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    piped = lambda **extra: central.mc("status", env={**env, **extra}, check=True).stdout
    assert "\x1b[" not in piped()
    assert "\x1b[1;31mPAUSED" in piped(FORCE_COLOR="1")          # colour into a pipe, on request
    assert "\x1b[" not in piped(FORCE_COLOR="1", NO_COLOR="1")   # NO_COLOR wins
    # NO_COLOR counts only when it is not empty; TERM=dumb means no escapes at all.
    assert "\x1b[1;31mPAUSED" in run_on_terminal(central, "status", env_extra={"NO_COLOR": ""})
    assert "\x1b[" not in run_on_terminal(central, "status", env_extra={"TERM": "dumb"})
    watched = run_on_terminal(central, "status", "--watch", "--interval", "0.1", "--count", "2",
                              env_extra={"TERM": "dumb"})
    assert "\x1b[" not in watched and watched.count("PAUSED") == 2
