"""The agent CLIs teams already run, on the panel: stand-in `claude`, `codex`, `gemini` and
`aider` executables on PATH printing exactly what those tools document, and a loopback
OpenAI-compatible server standing in for Ollama. Real pushes, the real runner."""

import json
import os
import subprocess
import sys

import pytest

from mergecoord.child import BASE_ENV
from standins import (BASE, CLAUDE_KEY, OURS, PATH, RUNNER_SECRET, SPLIT, SPLIT_MAIN, THEIRS, UNIFIED,
                      answer, configure, conflict, ollama_server, panel)

def test_each_preset_runs_its_documented_command_line_in_a_throwaway_checkout(central, make_worker, agents):
    agree = answer(SPLIT, 0.95, "split search and batch_search", path=PATH)
    agents.script({"claude": [{"answer": agree, "wrap": "fence"}], "codex": [{"answer": agree}],
                   "gemini": [{"answer": agree, "wrap": "prose"}], "aider": [{"answer": agree, "wrap": "prose"}]})
    with ollama_server() as ollama:
        ollama.script = {"ollama": [{"answer": agree}]}
        configure(central, f'''
            [[panel]]
            name = "claude"
            kind = "claude-code"
            model = "sonnet"
            api_key_env = "ANTHROPIC_API_KEY"

            [[panel]]
            name = "codex"
            kind = "codex"
            args = ["-c", "model_reasoning_effort=low"]

            [[panel]]
            name = "gemini"
            kind = "gemini"

            [[panel]]
            name = "aider"
            kind = "aider"
            model = "gpt-4o"

            [[panel]]
            name = "ollama"
            kind = "ollama"
            url = "{ollama.url}/v1"
            model = "qwen2.5-coder:14b"
            ''')
        conflict(make_worker)
        central.run_once()
        requests = list(ollama.requests)

    assert central.show(f"main:{PATH}") == SPLIT_MAIN
    assert central.trailers()["Resolved-By"] == "consensus"
    assert central.trailers()["Consensus-Rounds"] == "1"

    calls = {c["tool"]: c for c in agents.calls()}
    assert calls["claude"]["argv"] == ["-p", "--output-format", "json", "--model", "sonnet"]
    assert calls["codex"]["argv"] == ["exec", "--json", "--sandbox", "read-only", "--skip-git-repo-check",
                                      "-c", "model_reasoning_effort=low", "-"]
    assert calls["gemini"]["argv"][:2] == ["--output-format", "json"] and calls["gemini"]["argv"][2] == "-p"
    aider = calls["aider"]["argv"]
    assert aider[0] == "--message-file" and aider[2:] == [
        "--chat-mode", "ask", "--yes-always", "--no-git", "--no-pretty", "--no-stream", "--no-check-update",
        "--no-analytics", "--model", "gpt-4o"]
    assert not os.path.exists(aider[1])                      # the prompt file went with the temp dir
    for tool, call in calls.items():
        # A throwaway checkout of the merge: the conflicted file with its markers, never the repository.
        assert call["files"] == ["README.md", PATH], tool
        assert "<<<<<<<" in call["texts"][PATH] and "batch_scan" in call["texts"][PATH]
        assert call["modes"] == {"README.md": "0o444", PATH: "0o444"}         # shared, so read-only
        assert not call["cwd"].startswith(str(central.path)) and not os.path.exists(call["cwd"])
        assert "Round 1 of 3" in call["prompt"] and "throwaway checkout" in call["prompt"]
        # An allow-listed environment: the runner's other secrets never reach an agent.
        assert RUNNER_SECRET not in json.dumps(call["env"]), tool
        assert set(call["env"]) <= set(BASE_ENV) | {"TERM", "NO_COLOR", "ANTHROPIC_API_KEY"}, tool
        assert {"PATH", "HOME"} <= set(call["env"])
        assert call["env"]["TERM"] == "dumb"
    assert calls["claude"]["env"]["ANTHROPIC_API_KEY"] == CLAUDE_KEY
    assert all("ANTHROPIC_API_KEY" not in c["env"] for t, c in calls.items() if t != "claude")

    (request,) = requests
    assert request["path"] == "/v1/chat/completions"
    assert request["body"]["model"] == "qwen2.5-coder:14b"
    assert request["body"]["response_format"] == {"type": "json_object"}      # Ollama's JSON mode
    transcript = central.json("show", "m-0002")["transcript"]
    for name in ("claude", "codex", "gemini", "aider", "ollama"):
        assert f"[{name}]: proposes C (95%): split search and batch_search" in transcript


def test_a_three_round_discussion_converges_in_round_two(central, make_worker, agents):
    agents.script({
        "claude": [{"answer": answer(UNIFIED, 0.8, "one method for both", path=PATH,
                                     objections=["two methods duplicate the shard walk"]), "scribble": True},
                   {"answer": answer(SPLIT, 0.9, "separation is cleaner after all", path=PATH)}],
        "codex": [{"answer": answer(SPLIT, 0.9, "split search and batch_search", path=PATH,
                                    objections=["the unified method is too complex"])},
                  {"answer": answer(SPLIT, 0.95, "still split", path=PATH)}],
        "gemini": [{"answer": answer(None, 0.0, "need to see round one first", path=PATH, vote="abstain")},
                   {"answer": answer(None, 0.9, "D keeps both", candidate="D"), "wrap": "fence"}],
    })
    configure(central, panel("builtin", "claude", "codex", "gemini"))
    conflict(make_worker)
    out = central.run_once().stdout

    assert central.show(f"main:{PATH}") == SPLIT_MAIN
    trailers = central.trailers()
    assert trailers["Resolved-By"] == "consensus" and trailers["Consensus-Rounds"] == "2"
    assert float(trailers["Confidence"]) == pytest.approx((0.9 + 0.95 + 0.9) / 3, abs=0.01)
    assert "Round 2 of 3 - seeking higher confidence" in out
    transcript = central.json("show", "m-0002")["transcript"]
    assert "MERGE CONFLICT RESOLUTION - Round 2" in transcript and "Round 3" not in transcript
    assert "Concern: codex: the unified method is too complex" in transcript
    assert "[gemini]: endorses D (90%): D keeps both" in transcript
    assert "[Synthesis]: D, backed by claude, codex, gemini" in transcript
    # Round 2 was told what round 1 said.
    (second,) = agents.calls(who="claude")[1:]
    assert "Round 2 of 3" in second["prompt"] and "Candidate D" in second["prompt"]
    assert "two methods duplicate the shard walk" in second["prompt"]
    history = central.json("show", "m-0002")["history"]
    events = [h["event"] for h in history]
    assert events.count("discussing") == 1 and events.count("round") == 1     # rounds 1 and 2 began
    # Each call had a checkout of its own: what claude deleted and wrote in round 1, nobody saw.
    assert all(call["files"] == ["README.md", PATH] for call in agents.calls())


def test_hanging_garbage_and_flooding_agents_abstain_and_the_queue_goes_on(central, make_worker, agents):
    """A CLI that hangs (with a helper in its group and a daemon that escaped it, holding
    stdout), one that prints garbage, one that prints 50 MB, one that reports an error."""
    agents.script({"claude": [{"mode": "hang"}], "codex": [{"mode": "garbage"}], "gemini": [{"mode": "flood"}],
                   "aider": [{"mode": "error", "message": "litellm.AuthenticationError: bad key"}]})
    configure(central, panel("claude", "codex", "gemini", "aider", claude="timeout = 2\n"),
              consensus="max_rounds = 1\n")
    conflict(make_worker)
    numa = make_worker("Numa")
    numa.work("sprint/readme", {"README.md": "# project\n\nStreaming API.\n"}, "Document streaming")
    try:
        central.run_once()
        log = {m["id"]: m for m in central.json("log")["merges"]}
        assert log["m-0002"]["status"] == "escalated" and log["m-0003"]["status"] == "merged"
        pids = agents.hang_pids("claude")
        helper_gone = central.wait_for(lambda: not _alive(pids["helper"]))
    finally:
        for pid in agents.hang_pids("claude").values():
            _kill(pid)
    assert helper_gone                       # the hung agent's process group was killed
    doc = json.loads(central.mc("decide", "show", "d-0001", "--json", check=True).stdout)
    reasons = {row["name"]: row["reason"] for row in doc["vote"]["panelists"]}
    assert {row["vote"] for row in doc["vote"]["panelists"]} == {"abstain"}
    assert reasons == {"claude": "timed out after 2s", "codex": "answer was not the asked JSON",
                       "gemini": "printed more than 4 MiB",
                       "aider": "exited with 1: litellm.AuthenticationError: bad key"}
    box = central.mc("decide", "show", "d-0001", check=True).stdout
    assert "[gemini] abstains: printed more than 4 MiB" in box


def test_error_envelopes_name_the_tools_own_reason(central, make_worker, agents):
    agents.script({"claude": [{"mode": "error"}], "codex": [{"mode": "error", "message": "stream disconnected"}],
                   "gemini": [{"mode": "error", "message": "Quota exceeded"}]})
    configure(central, panel("claude", "codex", "gemini"), consensus="max_rounds = 1\n")
    conflict(make_worker)
    central.run_once()
    doc = json.loads(central.mc("decide", "show", "d-0001", "--json", check=True).stdout)
    assert {row["name"]: row["reason"] for row in doc["vote"]["panelists"]} == {
        "claude": "exited with 1: claude reported error_max_turns: Reached maximum number of turns (3)",
        "codex": "exited with 1: codex reported: stream disconnected",
        "gemini": "exited with 1: gemini reported: Quota exceeded"}


FLOOD = r'''
import os, resource, sys
from pathlib import Path
from mergecoord.panel.consensus import settle
from mergecoord.panel.factory import build_panel
from mergecoord.panel.hunks import ConflictContext, file_conflict

context = ConflictContext(merge_id="m-0001", branch="sprint/x", ours_worker="Apollo", theirs_worker="Athena",
                          ours_message="a", theirs_message="b",
                          files=(file_conflict("v.py", sys.argv[1], sys.argv[2], sys.argv[3]),))
panel = build_panel([{"name": "gemini", "kind": "gemini"}], environ=os.environ,
                    prompts_dir=Path(sys.argv[4]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcome = settle(context, panel, max_rounds=1)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(outcome.rounds[0].proposals[0].error)
print((after - before) // 1024)
'''


def test_fifty_megabytes_of_output_cost_the_runner_a_few(agents, tmp_path):
    agents.script({"gemini": [{"mode": "flood"}]})
    prompts = os.path.join(os.path.dirname(__file__), "..", "templates", "prompts")
    proc = subprocess.run([sys.executable, "-c", FLOOD, BASE, OURS, THEIRS, prompts],
                          capture_output=True, text=True, check=True)
    error, grown_mb = proc.stdout.split("\n")[:2]
    assert error == "printed more than 4 MiB"
    assert int(grown_mb) < 20            # reading it all would take 50 MB, and 100 MB decoded


@pytest.mark.parametrize("extra, message", [
    ('[[panel]]\nname = "claude"\nkind = "claude-code"\nmodle = "sonnet"\n',
     "[[panel]] entry 1 (claude): unknown key 'modle' for kind claude-code"),
    ('[[panel]]\nname = "claude"\nkind = "claude-code"\nargs = "--verbose"\n',
     "[[panel]] entry 1 (claude): args must be a list of strings"),
    ('[[panel]]\nname = "a"\nkind = "aider"\npass_env = ["NOT A NAME"]\n',
     "[[panel]] entry 1 (a): pass_env must list names of environment variables"),
    ('[[panel]]\nname = "claude"\nkind = "claude-code"\n\n[workers.Apollo]\npanelist = "clade"\n',
     "[workers.Apollo] panelist 'clade' is not the name of a [[panel]] entry"),
    ('[[panel]]\nname = "builtin"\nkind = "builtin"\n\n[workers.Apollo]\npanelist = "builtin"\n',
     "[workers.Apollo] panelist 'builtin' is a builtin panelist, which speaks for no one"),
    ('[workers.Apollo]\nagent = "claude"\n', "unknown key 'agent' in [workers.Apollo]"),
])
def test_a_bad_agent_entry_stops_the_runner_with_one_line(central, extra, message):
    central.set_config((central.state / "config.toml").read_text() + extra)
    proc = central.mc("start", "--once")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_workers_keep_their_email_names_beside_their_settings(central, make_worker, agents):
    configure(central, panel("claude", claude="neutral = false\n"), workers='''
        [workers.Apollo]
        panelist = "claude"
        ''')
    text = (central.state / "config.toml").read_text().replace(
        "[workers]\n", '[workers]\n"apollo-bot@example.com" = "Apollo"\n', 1)
    central.set_config(text)
    apollo = make_worker("apollo-bot", email="apollo-bot@example.com")
    apollo.work("sprint/x", {"x.txt": "x\n"}, "x")
    central.run_once()
    assert central.json("log")["merges"][0]["worker"] == "Apollo"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:        # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _kill(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
