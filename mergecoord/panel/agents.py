"""Presets for the coding-agent CLIs teams already run, so they can sit on the panel
without a wrapper: the command line each one runs non-interactively, how it gets the
prompt, and where the model's text sits in the output the tool documents.

    kind         command line (then `args` from the config)                  prompt   output
    claude-code  claude -p --output-format json [--model M]                   stdin    one JSON object; text in "result"
    codex        codex exec --json --sandbox read-only --skip-git-repo-check  stdin    JSON Lines events; text of the last
                   [--model M] -                                                         item.completed agent_message
    gemini       gemini --output-format json [--model M] -p INSTRUCTION       stdin    one JSON object; text in "response"
    aider        aider --message-file FILE --chat-mode ask --yes-always       a file   plain text around the answer
                   --no-git --no-pretty --no-stream --no-check-update
                   --no-analytics [--model M]

Every tool is asked for read-only work (Codex's read-only sandbox, Aider's ask mode,
Claude Code and Gemini CLI in print mode, where nothing that needs approval runs). Pure:
this module builds argument lists and reads text; `command.py` runs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional, Sequence

# Gemini CLI reads stdin as context and appends the -p prompt to it.
GEMINI_INSTRUCTION = "Answer the merge-conflict question above with the one JSON object it asks for."
PROMPT_FILE = "{prompt_file}"


class AgentError(Exception):
    """The tool reported a failure in its own output (its message is untrusted text)."""


@dataclass(frozen=True)
class Preset:
    kind: str
    program: str                       # looked up on PATH unless the config gives `program`
    flags: tuple[str, ...]             # right after the program (a subcommand first)
    trailing: tuple[str, ...] = ()     # after the model and the configured args
    prompt_on_stdin: bool = True       # else written to a file named by {prompt_file}

    def command_line(self, *, program: Optional[str] = None, model: Optional[str] = None,
                     args: Sequence[str] = (), prompt_file: str = "") -> list[str]:
        argv = [program or self.program, *self.flags]
        if model:
            argv += ["--model", model]
        argv += [*args, *self.trailing]
        return [prompt_file if part == PROMPT_FILE else part for part in argv]


PRESETS = {
    "claude-code": Preset("claude-code", "claude", ("-p", "--output-format", "json")),
    "codex": Preset("codex", "codex", ("exec", "--json", "--sandbox", "read-only", "--skip-git-repo-check"),
                    trailing=("-",)),
    "gemini": Preset("gemini", "gemini", ("--output-format", "json"), trailing=("-p", GEMINI_INSTRUCTION)),
    "aider": Preset("aider", "aider", ("--message-file", PROMPT_FILE, "--chat-mode", "ask", "--yes-always",
                                       "--no-git", "--no-pretty", "--no-stream", "--no-check-update",
                                       "--no-analytics"), prompt_on_stdin=False),
}


def answer_text(kind: Optional[str], output: str) -> str:
    """The model's text inside `output` as the tool `kind` documents it (None: a plain
    command, whose stdout is the text). Output that is not the documented envelope is
    passed on as text: the answer parser then finds our JSON in it or abstains."""
    reader = _READERS.get(kind or "")
    return reader(output) if reader else output


def _one_line(text, limit=200) -> str:
    return " ".join(str(text).split())[:limit]


def _document(output: str):
    """The JSON object `output` is, or the last line that is one (a tool may print
    warnings before it); None if there is none."""
    text = output.strip()
    candidates = [text] + [line for line in reversed(text.splitlines()) if line.startswith("{")][:5]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _claude(output: str) -> str:
    envelope = _document(output)
    if envelope is None or envelope.get("type") != "result":
        return output
    if envelope.get("is_error") or envelope.get("subtype", "success") != "success":
        detail = _one_line(envelope.get("result") or "")
        raise AgentError(f"claude reported {_one_line(envelope.get('subtype') or 'an error', 60)}"
                         + (f": {detail}" if detail else ""))
    result = envelope.get("result")
    if not isinstance(result, str):
        raise AgentError("claude's result is not text")
    return result


def _codex(output: str) -> str:
    text, failure = None, None
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        item = event.get("item") if isinstance(event.get("item"), dict) else {}
        if kind == "item.completed" and item.get("type") == "agent_message" and isinstance(item.get("text"), str):
            text = item["text"]
        elif kind == "turn.failed":
            error = event.get("error") if isinstance(event.get("error"), dict) else {}
            failure = error.get("message") or "turn failed"
        elif kind == "error" and failure is None:
            failure = event.get("message") or "error"
    if failure is not None:
        raise AgentError(f"codex reported: {_one_line(failure)}")
    if text is None:
        raise AgentError("codex printed no agent message")
    return text


def _gemini(output: str) -> str:
    document = _document(output)
    if document is None or not ({"response", "error"} & set(document)):
        return output
    error = document.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        raise AgentError(f"gemini reported: {_one_line(message or 'an error')}")
    if not isinstance(document.get("response"), str):
        raise AgentError("gemini's response is not text")
    return document["response"]


_READERS = {"claude-code": _claude, "codex": _codex, "gemini": _gemini}
