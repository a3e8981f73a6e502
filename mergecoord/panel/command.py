"""Kind `command`: an external program (a coding-agent CLI) as a panelist. It gets the
system and round prompts on stdin and answers the same JSON as the LLMs on stdout.

A non-zero exit, a timeout or garbage on stdout is an abstention. On timeout, and once it
is done, the whole process group is killed, so an agent's helpers do not outlive the round.
It gets an allow-listed environment: the basics and its own `api_key_env`.
"""

from __future__ import annotations

import subprocess
import tempfile
from typing import Mapping, Optional, Sequence

from ..children import wait_or_kill
from .hunks import ConflictContext
from .prompt import PromptTemplates, build_prompt, parse_answer
from .resolver import Proposal, Round, abstain


class CommandPanelist:
    deterministic = False

    def __init__(self, *, name: str, command: Sequence[str], templates: PromptTemplates, timeout: float = 120.0,
                 weight: float = 1.0, env: Optional[Mapping[str, str]] = None, secrets: Sequence[str] = (),
                 max_rounds: int = 3, threshold: float = 0.85):
        self.name, self.command, self.templates = name, list(command), templates
        self.timeout, self.weight = float(timeout), weight
        self.env = dict(env) if env is not None else None
        self._secrets = [s for s in secrets if s]
        self.max_rounds, self.threshold = max_rounds, threshold

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def propose(self, context: ConflictContext, history: tuple[Round, ...]) -> Proposal:
        system, user = build_prompt(self.templates, context, history, panelist=self.name,
                                    max_rounds=self.max_rounds, threshold=self.threshold)
        # Files, not pipes: a helper the program leaves running (`setsid ... &`) may hold
        # them open forever, and only the program itself is waited for.
        with tempfile.TemporaryFile() as prompt, tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err:
            prompt.write((system + "\n\n" + user).encode("utf-8"))
            prompt.seek(0)
            try:
                process = subprocess.Popen(self.command, stdin=prompt, stdout=out, stderr=err, env=self.env,
                                           start_new_session=True)
            except OSError as exc:
                return abstain(self.name, f"cannot run {self.command[0]}: {exc.strerror}", error=True)
            if not wait_or_kill(process, self.timeout):
                return abstain(self.name, f"timed out after {self.timeout:g}s", error=True)
            answer, errors = _read(out), _read(err)
        if process.returncode != 0:
            last = (errors.strip().splitlines() or [""])[-1][:200]
            return abstain(self.name, self.redact(f"exited with {process.returncode}: {last}"), error=True)
        return parse_answer(self.name, answer, context, history).redacted(self.redact)


MAX_ANSWER = 8 * 1024 * 1024      # an answer larger than this is garbage, not read whole


def _read(file) -> str:
    file.seek(0)
    return file.read(MAX_ANSWER).decode("utf-8", errors="replace")
