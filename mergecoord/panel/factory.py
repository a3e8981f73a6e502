"""Builds panelists from `[[panel]]` config tables. The only place that knows the config
shape of a panelist; a bad entry is a ValueError with a one-line message naming it.

`build_panel` gives the neutral seats (every entry but those with `neutral = false`);
`build_advocates` gives, for one conflict, the workers of both sides as panelists, each
built from the entry its `[workers.NAME] panelist` names and speaking for its own side.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Mapping, Optional

from .. import child
from .agents import PRESETS
from .builtin import BuiltinResolver
from .command import CommandPanelist
from .llm import HttpPanelist
from .prompt import PromptTemplates
from .resolver import Resolver

OLLAMA_URL = "http://127.0.0.1:11434/v1"
_COMMON = {"name", "kind", "weight", "neutral"}
_HTTP = {"url", "model", "api_key_env", "timeout", "retries", "backoff", "max_tokens", "temperature"}
_AGENT = {"program", "model", "args", "timeout", "api_key_env", "pass_env"}
_KEYS = {
    "builtin": set(),
    "openai": _HTTP,
    "anthropic": _HTTP,
    "ollama": _HTTP,
    "command": {"command", "timeout", "api_key_env", "pass_env"},
    **{kind: _AGENT for kind in PRESETS},
}
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def build_panel(panel_config: list[dict], *, environ: Mapping[str, str], prompts_dir: Path,
                threshold: float = 0.85, max_rounds: int = 3) -> list[Resolver]:
    """The neutral panelists of `panel_config`, in order; no entries means the built-in panel.
    Every entry is checked, also those that only sit as advocates."""
    if not panel_config:
        return [BuiltinResolver()]
    builder = _Builder(environ, prompts_dir, threshold, max_rounds)
    built = [(entry, builder.build(entry, where)) for entry, where in _checked(panel_config)]
    return [panelist for entry, panelist in built if entry.get("neutral", True)]


def build_advocates(panel_config: list[dict], sides: Mapping[str, tuple[str, str]], *,
                    environ: Mapping[str, str], prompts_dir: Path, threshold: float = 0.85,
                    max_rounds: int = 3) -> list[Resolver]:
    """One panelist per side: `sides` maps "A"/"B" to (worker name, name of the [[panel]]
    entry that is the worker's agent). The panelist is named after the worker."""
    entries = {entry.get("name"): (entry, where) for entry, where in _checked(panel_config)}
    builder = _Builder(environ, prompts_dir, threshold, max_rounds)
    out = []
    for side in sorted(sides):
        worker, agent = sides[side]
        if agent not in entries:
            raise ValueError(f"[workers.{worker}] panelist {agent!r} is not the name of a [[panel]] entry")
        entry, where = entries[agent]
        if entry["kind"] == "builtin":
            raise ValueError(f"[workers.{worker}] panelist {agent!r} is a builtin panelist, which speaks for no one")
        out.append(builder.build(entry, where, name=worker, advocate=side))
    return out


def _checked(panel_config: list[dict]) -> list[tuple[Mapping, str]]:
    out, names = [], set()
    for position, entry in enumerate(panel_config, 1):
        if not isinstance(entry, Mapping):
            raise ValueError(f"[[panel]] entry {position} is not a table")
        kind = entry.get("kind")
        name = str(entry.get("name") or kind or f"panelist{position}")
        where = f"[[panel]] entry {position} ({name})"
        if kind not in _KEYS:
            raise ValueError(f"{where}: unknown kind {kind!r} (use one of: {', '.join(_KEYS)})")
        unknown = sorted(set(entry) - _COMMON - _KEYS[kind])
        if unknown:
            raise ValueError(f"{where}: unknown key {unknown[0]!r} for kind {kind}")
        if name in names:
            raise ValueError(f"{where}: the name {name!r} is used twice")
        if not isinstance(entry.get("neutral", True), bool):
            raise ValueError(f"{where}: neutral must be true or false")
        names.add(name)
        out.append((entry, where))
    return out


class _Builder:
    def __init__(self, environ, prompts_dir, threshold, max_rounds):
        self.environ, self.prompts_dir = environ, prompts_dir
        self.threshold, self.max_rounds = threshold, max_rounds
        self._templates = None

    @property
    def templates(self) -> PromptTemplates:
        if self._templates is None:
            self._templates = PromptTemplates.load(self.prompts_dir)
        return self._templates

    def build(self, entry: Mapping, where: str, *, name: Optional[str] = None,
              advocate: Optional[str] = None) -> Resolver:
        kind = entry["kind"]
        name = name or str(entry.get("name") or kind)
        weight = _number(entry, "weight", 1.0, where)
        if weight <= 0:
            raise ValueError(f"{where}: weight must be positive")
        if kind == "builtin":
            return BuiltinResolver(name=name, weight=weight)
        common = dict(name=name, templates=self.templates, weight=weight, max_rounds=self.max_rounds,
                      threshold=self.threshold, advocate=advocate)
        key_env = entry.get("api_key_env")
        if key_env is not None and (not isinstance(key_env, str) or not _VARIABLE.fullmatch(key_env)):
            raise ValueError(f"{where}: api_key_env must be the name of an environment variable")
        if kind in ("openai", "anthropic", "ollama"):
            url = entry.get("url", OLLAMA_URL if kind == "ollama" else None)
            for key, value in (("url", url), ("model", entry.get("model"))):
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"{where}: missing {key}")
            return HttpPanelist(
                kind="anthropic" if kind == "anthropic" else "openai", url=url, model=entry["model"],
                api_key=self.environ.get(key_env) if key_env else None, api_key_env=key_env,
                timeout=_number(entry, "timeout", 60.0, where), retries=int(_number(entry, "retries", 2, where)),
                backoff=_number(entry, "backoff", 0.5, where),
                max_tokens=int(_number(entry, "max_tokens", 4096, where)),
                temperature=_number(entry, "temperature", 0.0, where), json_mode=kind == "ollama", **common)
        passed = _strings(entry, "pass_env", where)
        if any(not _VARIABLE.fullmatch(n) for n in passed):
            raise ValueError(f"{where}: pass_env must list names of environment variables")
        names = ([key_env] if key_env else []) + passed
        # Redact every key-like value the runner holds, not only the ones this child gets:
        # an agent may still have found one (a login file, a proxy echoing headers).
        secrets = [v for k, v in self.environ.items() if (_SECRET_NAME.search(k) or k in names) and len(v) >= 8]
        env = child.environment(self.environ, names)
        timeout = _number(entry, "timeout", 120.0 if kind == "command" else 300.0, where)
        if kind == "command":
            command = entry.get("command")
            if isinstance(command, str):
                command = shlex.split(command)
            if not command or not isinstance(command, list) or not all(isinstance(c, str) for c in command):
                raise ValueError(f"{where}: command must be a list of strings (or one string)")
            return CommandPanelist(command=command, timeout=timeout, env=env, secrets=secrets, **common)
        program = entry.get("program")
        if program is not None and (not isinstance(program, str) or not program.strip()):
            raise ValueError(f"{where}: program must be the name or path of the {kind} executable")
        model = entry.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise ValueError(f"{where}: model must be a model name")
        return CommandPanelist(command=[program] if program else [], preset=kind, model=model,
                               args=_strings(entry, "args", where), timeout=timeout, env=env,
                               secrets=secrets, **common)


def _strings(entry: Mapping, key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: {key} must be a list of strings")
    return list(value)


def _number(entry: Mapping, key: str, default: float, where: str) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: {key} must be a number")
    return float(value)
