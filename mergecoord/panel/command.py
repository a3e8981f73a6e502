"""Kind `command`: an external program (a coding-agent CLI) as a panelist. It gets the
system and round prompts on stdin and answers the same JSON as the LLMs on stdout.

A non-zero exit, a timeout or garbage on stdout is an abstention. On timeout the whole
process group is killed, so an agent's helpers do not outlive the round.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Mapping, Optional, Sequence

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
        try:
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=self.env, start_new_session=True)
        except OSError as exc:
            return abstain(self.name, f"cannot run {self.command[0]}: {exc.strerror}", error=True)
        try:
            out, err = process.communicate(system + "\n\n" + user, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return abstain(self.name, f"timed out after {self.timeout:g}s", error=True)
        if process.returncode != 0:
            last = (err.strip().splitlines() or [""])[-1][:200]
            return abstain(self.name, self.redact(f"exited with {process.returncode}: {last}"), error=True)
        return parse_answer(self.name, out, context, history).redacted(self.redact)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()
