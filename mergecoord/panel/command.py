"""External programs as panelists: kind `command` (a program that answers our JSON on
stdout) and the agent-CLI presets `claude-code`, `codex`, `gemini` and `aider` (see
`agents.py` for their command lines and output formats).

Each call runs in a throwaway copy of the merge's checkout in a temp dir, never in the
repository; the prompt goes on stdin (or in a file beside the checkout, for Aider). The
program gets an allow-listed environment: the basics, its own key variable
(`api_key_env`) and the variables its config passes (`pass_env`), nothing else of the
runner's. A non-zero exit, a timeout, more than `MAX_OUTPUT` bytes, an error the tool
reports, or output without our JSON is an abstention; on timeout the whole process group
is killed, so an agent's helpers do not outlive the round.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Mapping, Optional, Sequence

from .. import child
from .agents import PRESETS, AgentError, answer_text
from .hunks import ConflictContext
from .prompt import PromptTemplates, build_prompt, parse_answer
from .resolver import Proposal, Round, abstain

MAX_OUTPUT = 4 << 20        # bytes of stdout read from a panelist; an answer is far smaller


class CommandPanelist:
    deterministic = False
    wants_checkout = True       # runs in a copy of the merge's checkout (see resolution.checkout_for)

    def __init__(self, *, name: str, command: Sequence[str] = (), templates: PromptTemplates,
                 timeout: float = 120.0, weight: float = 1.0, env: Optional[Mapping[str, str]] = None,
                 secrets: Sequence[str] = (), max_rounds: int = 3, threshold: float = 0.85,
                 preset: Optional[str] = None, model: Optional[str] = None, args: Sequence[str] = (),
                 advocate: Optional[str] = None):
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"unknown agent preset {preset!r}")
        if preset is None and not command:
            raise ValueError("a command panelist needs a command")
        self.name, self.command, self.templates = name, list(command), templates
        self.preset, self.model, self.args = preset, model, list(args)
        self.timeout, self.weight = float(timeout), weight
        self.env = dict(env) if env is not None else child.environment({})
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)
        self.max_rounds, self.threshold = max_rounds, threshold
        self.advocate = advocate          # "A" / "B": the worker speaking for that side

    def __repr__(self) -> str:         # never the environment
        return f"CommandPanelist(name={self.name!r}, preset={self.preset!r}, command={self.command_line('PROMPT')!r})"

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def command_line(self, prompt_file: str) -> list[str]:
        """The exact argv this panelist runs (`prompt_file` is only used by Aider)."""
        if self.preset is None:
            return list(self.command)
        return PRESETS[self.preset].command_line(program=self.command[0] if self.command else None,
                                                 model=self.model, args=self.args, prompt_file=prompt_file)

    def propose(self, context: ConflictContext, history: tuple[Round, ...]) -> Proposal:
        system, user = build_prompt(self.templates, context, history, panelist=self.name,
                                    max_rounds=self.max_rounds, threshold=self.threshold,
                                    advocate=self.advocate, workspace=True)
        prompt = (system + "\n\n" + user).encode("utf-8")
        on_stdin = self.preset is None or PRESETS[self.preset].prompt_on_stdin
        # A helper that escaped the kill may still write there: cleaning up never fails the call.
        with tempfile.TemporaryDirectory(prefix="mergecoord-agent-", ignore_cleanup_errors=True) as temp:
            checkout = Path(temp) / "checkout"
            try:
                if context.workdir:
                    own_checkout(context.workdir, checkout)
                else:
                    checkout.mkdir()
            except OSError as exc:
                return abstain(self.name, f"cannot prepare its checkout: {exc.strerror or exc}", error=True)
            prompt_file = Path(temp) / "prompt.txt"
            if not on_stdin:
                prompt_file.write_bytes(prompt)
            result = child.run(self.command_line(str(prompt_file)), input=prompt if on_stdin else None,
                               cwd=str(checkout), env=self.env, timeout=self.timeout, limit=MAX_OUTPUT)
        if result.error:
            return abstain(self.name, self.redact(result.error), error=True)
        if result.timed_out:
            return abstain(self.name, f"timed out after {self.timeout:g}s", error=True)
        if result.overflowed:
            return abstain(self.name, f"printed more than {MAX_OUTPUT >> 20} MiB", error=True)
        try:
            text = answer_text(self.preset, result.stdout)
        except AgentError as exc:        # the tool said what went wrong: that is the reason to show
            exited = f"exited with {result.returncode}: " if result.returncode != 0 else ""
            return abstain(self.name, self.redact(exited + str(exc)), error=True)
        if result.returncode != 0:
            return abstain(self.name, self.redact(f"exited with {result.returncode}: {result.last_error_line()}"),
                           error=True)
        return parse_answer(self.name, text, context, history).redacted(self.redact)


def own_checkout(source: str, target: Path) -> None:
    """`source` (the merge's checkout, its files read-only) in a fresh directory tree of the
    panelist's own: files hard-linked (a copy costs a write per file on every call; a link
    is ten times cheaper), copied where linking is not possible. What an agent creates,
    deletes or renames there, no other agent and no later round sees."""
    try:
        shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    except (OSError, shutil.Error):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, symlinks=True)
