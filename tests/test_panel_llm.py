"""LLM and command panelists against a real HTTP server on 127.0.0.1 that speaks the OpenAI
`/v1/chat/completions` and Anthropic `/v1/messages` protocols with scripted answers."""

import json
import logging
import sys
import threading
import time
from pathlib import Path

import pytest

from mergecoord.panel.consensus import settle
from mergecoord.panel.factory import build_panel
from mergecoord.panel.hunks import ConflictContext, file_conflict
from loopback import QuietHandler, serving

PROMPTS = Path(__file__).resolve().parents[1] / "templates" / "prompts"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-fedcba9876543210"
ENV = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}

BASE = "class VectorStorage:\n    def search(self, q):\n        return scan(q)\n"
OURS = "class VectorStorage:\n    def search(self, q):\n        return parallel_scan(q)\n"
THEIRS = "class VectorStorage:\n    def search(self, q):\n        return batch_scan(q)\n"
PATH = "engram/vector_storage.py"
UNIFIED = "        return batch_scan(q) if q.batch else parallel_scan(q)\n"
SPLIT = "        return parallel_scan(q)\n\n    def batch_search(self, q):\n        return batch_scan(q)\n"


def context():
    return ConflictContext(merge_id="m-0002", branch="sprint/optimize-memory-storage",
                           ours_worker="Apollo", theirs_worker="Athena",
                           ours_message="Optimized vector search with parallel processing",
                           theirs_message="Optimized memory storage with batch operations",
                           files=(file_conflict(PATH, BASE, OURS, THEIRS),))


def propose(text, confidence=0.9, rationale="keeps both", objections=()):
    return {"vote": "propose", "hunks": {PATH: [text]}, "confidence": confidence,
            "rationale": rationale, "objections": list(objections)}


class Scripted(QuietHandler):
    """Answers by model name: script[model] is a list of steps, the last one repeats.
    A step is a dict (the answer JSON), a str (raw model text), ("status", code),
    ("sleep", seconds), or ("body", text) for a raw HTTP error body."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        with server.lock:
            server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            steps = server.script[body["model"]]
            count = server.counts.get(body["model"], 0)
            server.counts[body["model"]] = count + 1
            step = steps[min(count, len(steps) - 1)]
        if isinstance(step, tuple) and step[0] == "sleep":
            time.sleep(step[1])
            step = {"vote": "abstain"}
        if isinstance(step, tuple) and step[0] == "status":
            return self._send(step[1], {"error": {"message": "scripted failure"}})
        if isinstance(step, tuple) and step[0] == "body":
            return self._send(401, step[1])
        text = step if isinstance(step, str) else json.dumps(step)
        if self.path == "/v1/chat/completions":
            payload = {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}]}
        elif self.path == "/v1/messages":
            payload = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                       "stop_reason": "end_turn", "content": [{"type": "text", "text": text}]}
        else:
            return self._send(404, {"error": "no such endpoint"})
        self._send(200, payload)

    def _send(self, status, payload):
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.reply(status, data, {"Content-Type": "application/json"})


@pytest.fixture
def server():
    with serving(Scripted, lock=threading.Lock(), requests=[], counts={}, script={}) as httpd:
        yield httpd


def openai(server, name, model, **extra):
    return {"name": name, "kind": "openai", "url": server.url + "/v1", "model": model,
            "api_key_env": "OPENAI_API_KEY", "timeout": 5, "retries": 1, "backoff": 0.01, **extra}


def anthropic(server, name, model, **extra):
    return {"name": name, "kind": "anthropic", "url": server.url, "model": model,
            "api_key_env": "ANTHROPIC_API_KEY", "timeout": 5, "retries": 1, "backoff": 0.01, **extra}


def test_consensus_in_round_two_after_a_disagreement(server):
    server.script = {
        "gpt-x": [propose(UNIFIED, 0.8, "one method for both"), {"vote": "endorse", "candidate": "D",
                                                                 "confidence": 0.9, "rationale": "separation is cleaner"}],
        "claude-x": [propose(SPLIT, 0.9, "split search and batch_search", objections=["unified method is too complex"]),
                     propose(SPLIT, 0.95, "still split")],
    }
    panel = build_panel([{"name": "builtin", "kind": "builtin"}, openai(server, "gpt", "gpt-x"),
                         anthropic(server, "claude", "claude-x")], environ=ENV, prompts_dir=PROMPTS)
    outcome = settle(context(), panel)
    assert outcome.resolved and len(outcome.rounds) == 2
    assert outcome.resolutions[PATH] == OURS.replace("        return parallel_scan(q)\n", SPLIT)
    assert outcome.confidence == pytest.approx((0.9 + 0.95) / 2)     # builtin recused
    first = outcome.rounds[0]
    assert first.confidence < 0.85 and [c.label for c in first.candidates] == ["D", "C"]
    # The protocols as the real services speak them.
    by_path = {}
    for request in server.requests:
        by_path.setdefault(request["path"], []).append(request)
    chat, messages = by_path["/v1/chat/completions"], by_path["/v1/messages"]
    assert chat[0]["headers"]["Authorization"] == f"Bearer {OPENAI_KEY}"
    assert [m["role"] for m in chat[0]["body"]["messages"]] == ["system", "user"]
    assert messages[0]["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert messages[0]["headers"]["anthropic-version"] == "2023-06-01"
    assert messages[0]["body"]["max_tokens"] > 0 and "system" in messages[0]["body"]
    # Round 2 was told about round 1: candidates, objections, who said what.
    second_prompt = chat[1]["body"]["messages"][1]["content"]
    assert "Round 2 of 3" in second_prompt
    assert "Candidate D" in second_prompt and "batch_search" in second_prompt
    assert "unified method is too complex" in second_prompt
    transcript = outcome.transcript()
    assert "[gpt]: endorses D (90%): separation is cleaner" in transcript
    assert "[builtin]: recuses:" in transcript


def test_timeout_500_and_garbage_abstain(server):
    server.script = {"slow": [("sleep", 2.0)], "broken": [("status", 500)], "chatty": ["Sure! Merge both, looks fine."],
                     "sane": [propose(UNIFIED, 0.95)]}
    panel = build_panel([openai(server, "slow", "slow", timeout=0.3), anthropic(server, "broken", "broken"),
                         openai(server, "chatty", "chatty"), openai(server, "sane", "sane")],
                        environ=ENV, prompts_dir=PROMPTS)
    started = time.monotonic()
    outcome = settle(context(), panel, max_rounds=1)
    assert time.monotonic() - started < 2.0
    assert not outcome.resolved and outcome.confidence == pytest.approx(0.95 / 4)
    errors = {p.panelist: p.error for p in outcome.rounds[0].proposals}
    assert errors["slow"] == "timed out after 0.3s"
    assert errors["broken"] == "HTTP 500 after 2 attempt(s)"
    assert server.counts["broken"] == 2                         # retried once
    assert errors["chatty"] == "answer was not the asked JSON"
    assert errors["sane"] is None
    assert outcome.tally == {"C": 1, "abstain": 3}


def test_429_is_retried_with_backoff(server):
    server.script = {"busy": [("status", 429), ("status", 503), propose(UNIFIED, 0.9)]}
    panel = build_panel([openai(server, "busy", "busy", retries=2)], environ=ENV, prompts_dir=PROMPTS)
    outcome = settle(context(), panel, max_rounds=1)
    assert outcome.resolved and server.counts["busy"] == 3


@pytest.mark.parametrize("bad", [
    "<<<<<<< ours\n        return parallel_scan(q)\n=======\n        return batch_scan(q)\n>>>>>>> theirs\n",
    "        return parallel_scan(q\n",
])
def test_markers_or_syntax_errors_are_never_applied(server, bad):
    server.script = {"a": [propose(bad, 1.0)], "b": [propose(bad, 1.0)]}
    panel = build_panel([openai(server, "a", "a"), anthropic(server, "b", "b")], environ=ENV, prompts_dir=PROMPTS)
    outcome = settle(context(), panel, threshold=0.0)
    assert not outcome.resolved and outcome.resolutions == {}
    assert all("rejected" in note for note in outcome.rounds[0].notes) and len(outcome.rounds[0].notes) == 2
    assert "rejected" in outcome.transcript()


def test_keys_never_reach_logs_transcripts_or_errors(server, caplog):
    caplog.set_level(logging.DEBUG)
    server.script = {"echo": [("body", f'{{"error": "invalid key {OPENAI_KEY}"}}')],
                     "leaky": [propose(UNIFIED, 0.9, rationale=f"my key is {ANTHROPIC_KEY}",
                                       objections=[f"also {ANTHROPIC_KEY}"])]}
    panel = build_panel([openai(server, "echo", "echo"), anthropic(server, "leaky", "leaky")],
                        environ=ENV, prompts_dir=PROMPTS)
    outcome = settle(context(), panel, max_rounds=2)
    everything = "\n".join([outcome.transcript(), caplog.text, repr(panel), outcome.comment,
                            *(str(p) for r in outcome.rounds for p in r.proposals)])
    assert OPENAI_KEY not in everything and ANTHROPIC_KEY not in everything
    assert "invalid key [redacted]" in outcome.transcript()
    assert "my key is [redacted]" in outcome.transcript()
    sent = [r["headers"].get("Authorization") for r in server.requests if r["path"] == "/v1/chat/completions"]
    assert sent and all(h == f"Bearer {OPENAI_KEY}" for h in sent)   # it was sent, though


def test_missing_key_variable_abstains_naming_the_variable(server):
    panel = build_panel([openai(server, "gpt", "gpt-x")], environ={}, prompts_dir=PROMPTS)
    outcome = settle(context(), panel, max_rounds=1)
    assert outcome.rounds[0].proposals[0].error == "environment variable OPENAI_API_KEY is not set"
    assert server.requests == []


AGENT = r'''
import json, sys
prompt = sys.stdin.read()
mode = sys.argv[1]
if mode == "answer":
    assert "Round 1 of 3" in prompt and "Optimized memory storage" in prompt
    print(json.dumps({"vote": "propose", "hunks": {"engram/vector_storage.py": [sys.argv[2]]},
                      "confidence": 0.9, "rationale": "agent " + sys.argv[3]}))
elif mode == "fail":
    print("token sk-cmd-secret-99999999 rejected", file=sys.stderr); sys.exit(2)
elif mode == "sleep":
    import time; time.sleep(30)
else:
    print("garbage")
'''


def test_command_panelists(tmp_path):
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    environ = {"PATH": "/usr/bin:/bin", "AGENT_TOKEN": "sk-cmd-secret-99999999"}
    config = [{"name": "agent1", "kind": "command", "command": [sys.executable, str(agent), "answer", SPLIT, "one"]},
              {"name": "agent2", "kind": "command", "command": [sys.executable, str(agent), "answer", SPLIT, "two"]},
              {"name": "failing", "kind": "command", "command": [sys.executable, str(agent), "fail"]},
              {"name": "sleepy", "kind": "command", "command": [sys.executable, str(agent), "sleep"], "timeout": 0.5},
              {"name": "noisy", "kind": "command", "command": f"{sys.executable} {agent} garbage"}]
    panel = build_panel(config, environ=environ, prompts_dir=PROMPTS)
    started = time.monotonic()
    outcome = settle(context(), panel, max_rounds=1, threshold=0.3)
    assert time.monotonic() - started < 5
    assert outcome.resolved and "batch_search" in outcome.resolutions[PATH]
    errors = {p.panelist: p.error for p in outcome.rounds[0].proposals}
    assert errors["failing"] == "exited with 2: token [redacted] rejected"
    assert errors["sleepy"] == "timed out after 0.5s"
    assert errors["noisy"] == "answer was not the asked JSON"
    assert outcome.confidence == pytest.approx(1.8 / 5)
    assert "sk-cmd-secret" not in outcome.transcript()


@pytest.mark.parametrize("entry,message", [
    ({"kind": "gemeni"}, "unknown kind 'gemeni'"),
    ({"name": "gpt", "kind": "openai", "model": "m"}, "missing url"),
    ({"name": "gpt", "kind": "openai", "url": "http://x/v1"}, "missing model"),
    ({"name": "gpt", "kind": "openai", "url": "http://x/v1", "model": "m", "modle": 1}, "unknown key 'modle'"),
    ({"name": "a", "kind": "command"}, "command must be a list"),
    ({"name": "b", "kind": "builtin", "weight": "heavy"}, "weight must be a number"),
    ({"name": "b", "kind": "builtin", "weight": 0}, "weight must be positive"),
])
def test_bad_panel_entries_are_one_line_errors(entry, message):
    with pytest.raises(ValueError, match=message) as info:
        build_panel([entry], environ={}, prompts_dir=PROMPTS)
    assert "\n" not in str(info.value) and "[[panel]] entry 1" in str(info.value)


def test_duplicate_names_and_default_panel():
    with pytest.raises(ValueError, match="used twice"):
        build_panel([{"kind": "builtin"}, {"kind": "builtin"}], environ={}, prompts_dir=PROMPTS)
    (default,) = build_panel([], environ={}, prompts_dir=PROMPTS)
    assert default.name == "builtin"
