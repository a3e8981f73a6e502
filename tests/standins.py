"""Stand-in executables named `claude`, `codex`, `gemini` and `aider` for the tests, and an
OpenAI-compatible loopback server standing in for Ollama.

Each stand-in prints exactly the output format its tool documents for the non-interactive
mode mergecoord runs:
- `claude -p --output-format json`: one JSON object, {"type": "result", "subtype": "success",
  "is_error": false, "result": TEXT, "session_id", "total_cost_usd", "usage", ...};
- `codex exec --json`: JSON Lines events (thread.started, turn.started, item.completed with
  reasoning and agent_message items, turn.completed with usage; turn.failed on errors);
- `gemini --output-format json`: one JSON object, {"response": TEXT, "stats": {...}}, or
  {"error": {"type", "message", "code"}} on errors;
- `aider --message-file F --no-pretty ...`: its plain banner, the reply, the token line.

What each says is scripted per panelist (found in the prompt: "You are Apollo,") and
round ("Round 2 of 3"). Every call is logged (argv, cwd, environment, prompt, the files it
saw) so tests can check what the runner gave it.
"""

import json
import os
import re
import sys
import textwrap
import threading
from pathlib import Path

from loopback import QuietHandler, serving

STANDIN = r'''
import json, os, re, subprocess, sys, time

SCRIPT, LOG = %(script)r, %(log)r
TOOL = os.path.basename(sys.argv[0])


def read_prompt():
    if TOOL == "aider":
        with open(sys.argv[sys.argv.index("--message-file") + 1], encoding="utf-8") as f:
            return f.read()
    text = sys.stdin.read()
    if TOOL == "gemini" and "-p" in sys.argv:
        text += "\n" + sys.argv[sys.argv.index("-p") + 1]     # gemini appends -p to stdin
    return text


def wrapped(step):
    answer, wrap = step["answer"], step.get("wrap", "plain")
    if wrap == "fence":
        return "Here is my resolution.\n\n```json\n" + json.dumps(answer, indent=2) + "\n```\n"
    if wrap == "prose":
        return "I read both sides. " + json.dumps(answer) + " That is my answer."
    return json.dumps(answer)


def emit(text):
    if TOOL == "claude":
        print(json.dumps({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 2841,
                          "duration_api_ms": 2610, "num_turns": 1, "result": text,
                          "session_id": "5f0c2d1e-8a44-4c1b-9a0e-3d2b7c6f1a90", "total_cost_usd": 0.0123,
                          "usage": {"input_tokens": 1840, "output_tokens": 212}}))
    elif TOOL == "codex":
        for event in ({"type": "thread.started", "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"},
                      {"type": "turn.started"},
                      {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning",
                                                          "text": "**Comparing both sides of the conflict**"}},
                      {"type": "item.completed", "item": {"id": "item_1", "type": "agent_message", "text": text}},
                      {"type": "turn.completed", "usage": {"input_tokens": 2190, "cached_input_tokens": 0,
                                                           "output_tokens": 240}}):
            print(json.dumps(event))
    elif TOOL == "gemini":
        print(json.dumps({"response": text, "stats": {"models": {"gemini-2.5-pro": {
            "api": {"totalRequests": 1, "totalErrors": 0, "totalLatencyMs": 3120},
            "tokens": {"prompt": 2011, "candidates": 230, "total": 2241}}},
            "tools": {"totalCalls": 0}, "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0}}}, indent=2))
    else:
        print("Aider v0.86.1\nModel: gpt-4o with ask edit format\nGit repo: none\nRepo-map: disabled\n")
        print(text)
        print("\nTokens: 2.2k sent, 240 received. Cost: $0.0081 message, $0.0081 session.")


def fail(message):
    if TOOL == "claude":
        print(json.dumps({"type": "result", "subtype": "error_max_turns", "is_error": True, "duration_ms": 900,
                          "num_turns": 3, "session_id": "5f0c2d1e", "total_cost_usd": 0.002, "result": message}))
    elif TOOL == "codex":
        print(json.dumps({"type": "thread.started", "thread_id": "0199a213"}))
        print(json.dumps({"type": "turn.started"}))
        print(json.dumps({"type": "error", "message": message}))
        print(json.dumps({"type": "turn.failed", "error": {"message": message}}))
    elif TOOL == "gemini":
        print(json.dumps({"error": {"type": "ApiError", "message": message, "code": 1}}))
    else:
        print(message, file=sys.stderr)
    sys.exit(1)


def main():
    prompt = read_prompt()
    who = re.search(r"You are (\S+?),", prompt).group(1)
    number = int(re.search(r"Round (\d+) of", prompt).group(1))
    record = {"tool": TOOL, "argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ),
              "prompt": prompt, "who": who, "round": number, "pid": os.getpid(),
              "files": sorted(os.path.relpath(os.path.join(d, f)) for d, _, fs in os.walk(".") for f in fs)}
    record["modes"] = {path: oct(os.lstat(path).st_mode & 0o777) for path in record["files"]}
    for path in record["files"]:
        if path.endswith(".py"):
            with open(path, encoding="utf-8") as f:
                record.setdefault("texts", {})[path] = f.read()
    with open(os.path.join(LOG, f"{who}-{number}-{TOOL}-{os.getpid()}.json"), "w") as f:
        json.dump(record, f)
    with open(SCRIPT, encoding="utf-8") as f:
        steps = json.load(f).get(who) or [{"answer": {"vote": "abstain", "rationale": "no script"}}]
    step = steps[min(number, len(steps)) - 1]
    if step.get("scribble"):            # what an agent leaves in its checkout must stay there
        os.remove("README.md")
        with open("scribble.txt", "w") as f:
            f.write("notes")
    while step.get("wait_for") and not os.path.exists(step["wait_for"]):
        time.sleep(0.05)
    mode = step.get("mode")
    if mode == "hang":
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
        with open(os.path.join(LOG, f"{who}-hang.json"), "w") as f:
            json.dump({"helper": helper.pid, "daemon": daemon.pid}, f)
        time.sleep(120)
    if mode == "flood":
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            sys.stdout.buffer.write(chunk)
        return
    if mode == "garbage":
        return emit("Sure! Both sides look fine to me, merge them however you like.")
    if mode == "error":
        return fail(step.get("message", "Reached maximum number of turns (3)"))
    emit(wrapped(step))


main()
'''

TOOLS = ("claude", "codex", "gemini", "aider")


class Agents:
    """The stand-ins installed in `bin_dir`, their script and their call log."""

    def __init__(self, root: Path):
        self.bin = root / "bin"
        self.log = root / "agent-log"
        self.script_path = root / "agent-script.json"
        self.bin.mkdir()
        self.log.mkdir()
        self.script({})
        source = STANDIN % {"script": str(self.script_path), "log": str(self.log)}
        for tool in TOOLS:
            path = self.bin / tool
            path.write_text(f"#!{sys.executable}\n" + source)
            path.chmod(0o755)

    def script(self, lines):
        """lines: {panelist: [step for round 1, step for round 2, ...]} (the last repeats)."""
        self.script_path.write_text(json.dumps(lines))

    def calls(self, who=None, tool=None):
        """The logged calls, in round order."""
        found = [json.loads(p.read_text()) for p in self.log.glob("*-*-*-*.json")]
        found = [c for c in found if (who is None or c["who"] == who) and (tool is None or c["tool"] == tool)]
        return sorted(found, key=lambda c: (c["round"], c["who"]))

    def hang_pids(self, who):
        path = self.log / f"{who}-hang.json"
        return json.loads(path.read_text()) if path.exists() else {}


def answer(text_or_none, confidence=0.9, rationale="", path=None, objections=(), vote=None, candidate=None):
    """A panel answer: propose `text` for the one hunk of `path`, or endorse `candidate`."""
    if candidate is not None:
        return {"vote": "endorse", "candidate": candidate, "confidence": confidence, "rationale": rationale,
                "objections": list(objections)}
    return {"vote": vote or "propose", "hunks": {path: [text_or_none]}, "confidence": confidence,
            "rationale": rationale, "objections": list(objections)}


class FakeOllama(QuietHandler):
    """Ollama's OpenAI-compatible /v1/chat/completions: answers by panelist and round like
    the stand-ins (server.script), and keeps every request (server.requests)."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        system, user = body["messages"][0]["content"], body["messages"][1]["content"]
        who = re.search(r"You are (\S+?),", system).group(1)
        number = int(re.search(r"Round (\d+) of", user).group(1))
        with self.server.lock:
            self.server.requests.append({"path": self.path, "body": body, "who": who, "round": number})
        if self.path != "/v1/chat/completions":
            return self.reply(404, b'{"error": "404 page not found"}')
        steps = self.server.script.get(who) or [{"answer": {"vote": "abstain"}}]
        step = steps[min(number, len(steps)) - 1]
        payload = {"id": "chatcmpl-420", "object": "chat.completion", "created": 1733000000, "model": body["model"],
                   "system_fingerprint": "fp_ollama",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(step["answer"])},
                                "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1900, "completion_tokens": 180, "total_tokens": 2080}}
        self.reply(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def ollama_server():
    return serving(FakeOllama, lock=threading.Lock(), requests=[], script={})


# -- the conflict the agent tests discuss ------------------------------------------

PATH = "engram/vector_storage.py"
BASE = "class VectorStorage:\n    def search(self, q):\n        return scan(q)\n"
OURS = BASE.replace("scan(q)", "parallel_scan(q)")
THEIRS = BASE.replace("scan(q)", "batch_scan(q)")
UNIFIED = "        return batch_scan(q) if q.batch else parallel_scan(q)\n"
SPLIT = "        return parallel_scan(q)\n\n    def batch_search(self, q):\n        return batch_scan(q)\n"
SPLIT_MAIN = BASE.replace("        return scan(q)\n", SPLIT)
RUNNER_SECRET = "tok-runner-only-0123456789"
CLAUDE_KEY = "sk-ant-claude-only-0123456789"


def install(root, monkeypatch):
    """The stand-ins on PATH, and a runner environment holding a secret that is none of
    their business beside claude's own key (the `agents` fixture of conftest.py)."""
    found = Agents(root)
    monkeypatch.setenv("PATH", f"{found.bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RUNNER_SECRET_TOKEN", RUNNER_SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
    return found


KINDS = {"builtin": "builtin", "claude": "claude-code", "codex": "codex", "gemini": "gemini", "aider": "aider"}


def panel(*names, **keys):
    """[[panel]] tables for stand-in tools by name ("claude" has kind claude-code, ...);
    keys[name] is a string of more TOML lines for that entry."""
    return "".join(f'\n[[panel]]\nname = "{name}"\nkind = "{KINDS[name]}"\n{keys.get(name, "")}' for name in names)


def configure(central, panel, consensus="", workers=""):
    text = (central.state / "config.toml").read_text()
    text = text.replace("[consensus]\n", "[consensus]\n" + consensus, 1)
    central.set_config(text + textwrap.dedent(panel) + textwrap.dedent(workers))


def conflict(make_worker):
    """Apollo's parallel search lands; Athena's batch search conflicts with it (m-0002)."""
    casey = make_worker("Casey")
    casey.branch("main")
    casey.commit("vector storage", {PATH: BASE}, ready=False)
    casey.push("HEAD:main")
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/parallel-search", {PATH: OURS}, "Parallel search\n\nReads fan out to every shard.")
    athena.work("sprint/batch-search", {PATH: THEIRS}, "Batch search\n\nQueries are batched and compressed.")
    return apollo, athena
