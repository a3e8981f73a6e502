"""Scripted stand-ins for Claude Code (`claude`), OpenAI Codex (`codex`) and Gemini CLI
(`gemini`), so that `mergecoord demo` shows an AI discussion without network or account.

They are not models and say so: `mergecoord demo` copies this file into its sandbox as
`scripted-agents/claude`, `codex` and `gemini`, beside a `script.json` of answers written
for the story. Each reads the panel's prompt on stdin, finds whom it speaks as ("You are
Apollo"), the round and the branch, looks its line up, and prints it in the output format
the real tool documents (Claude Code's JSON result envelope, Codex's JSON Lines events,
Gemini CLI's JSON response). Standard library only, and nothing else of mergecoord: it
runs as a separate program.
"""

import json
import os
import re
import sys

SCRIPT = "script.json"


def answer_for(prompt, script):
    """The scripted answer for the panelist, round and branch the prompt names."""
    who = re.search(r"You are (\S+?),", prompt)
    number = re.search(r"Round (\d+) of", prompt)
    branch = re.search(r"branch (\S+?)\)", prompt)
    lines = script.get(branch.group(1) if branch else "", {}).get(who.group(1) if who else "", [])
    if not lines:
        return {"vote": "abstain", "rationale": "scripted stand-in: no line for this conflict"}
    return lines[min(int(number.group(1)) if number else 1, len(lines)) - 1]


def printed(tool, text):
    """`text` as the tool prints it in the non-interactive mode mergecoord runs."""
    if tool == "claude":
        return json.dumps({"type": "result", "subtype": "success", "is_error": False, "duration_ms": 12,
                           "duration_api_ms": 0, "num_turns": 1, "result": text,
                           "session_id": "scripted-stand-in", "total_cost_usd": 0.0,
                           "usage": {"input_tokens": 0, "output_tokens": 0}})
    if tool == "codex":
        events = [{"type": "thread.started", "thread_id": "scripted-stand-in"}, {"type": "turn.started"},
                  {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": text}},
                  {"type": "turn.completed", "usage": {"input_tokens": 0, "cached_input_tokens": 0,
                                                       "output_tokens": 0}}]
        return "\n".join(json.dumps(event) for event in events)
    return json.dumps({"response": text, "stats": {"models": {"scripted-stand-in": {}}}})


def main():
    tool = os.path.basename(sys.argv[0])
    prompt = sys.stdin.read()
    with open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), SCRIPT), encoding="utf-8") as f:
        script = json.load(f)
    answer = answer_for(prompt, script)
    print(printed(tool, "Scripted answer:\n```json\n" + json.dumps(answer, indent=2) + "\n```"))


if __name__ == "__main__":
    main()
