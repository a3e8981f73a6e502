"""Builds panelists from `[[panel]]` config tables. The only place that knows the config
shape of a panelist; a bad entry is a ValueError with a one-line message naming it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Mapping

from ..children import for_child
from .builtin import BuiltinResolver
from .command import CommandPanelist
from .llm import HttpPanelist
from .prompt import PromptTemplates
from .resolver import Resolver

_COMMON = {"name", "kind", "weight"}
_KEYS = {
    "builtin": set(),
    "openai": {"url", "model", "api_key_env", "timeout", "retries", "backoff", "max_tokens", "temperature"},
    "anthropic": {"url", "model", "api_key_env", "timeout", "retries", "backoff", "max_tokens", "temperature"},
    "command": {"command", "timeout", "api_key_env"},
}
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)


def build_panel(panel_config: list[dict], *, environ: Mapping[str, str], prompts_dir: Path,
                threshold: float = 0.85, max_rounds: int = 3) -> list[Resolver]:
    """The panelists of `panel_config`, in order; no entries means the built-in panel."""
    if not panel_config:
        return [BuiltinResolver()]
    panel: list[Resolver] = []
    names: set[str] = set()
    templates = None
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
        names.add(name)
        weight = _number(entry, "weight", 1.0, where)
        if kind == "builtin":
            panel.append(BuiltinResolver(name=name, weight=weight))
            continue
        if templates is None:
            templates = PromptTemplates.load(prompts_dir)
        if kind in ("openai", "anthropic"):
            for required in ("url", "model"):
                if not isinstance(entry.get(required), str) or not entry[required].strip():
                    raise ValueError(f"{where}: missing {required}")
            key_env = entry.get("api_key_env")
            if key_env is not None and not isinstance(key_env, str):
                raise ValueError(f"{where}: api_key_env must be the name of an environment variable")
            panel.append(HttpPanelist(
                name=name, kind=kind, url=entry["url"], model=entry["model"], templates=templates,
                api_key=environ.get(key_env) if key_env else None, api_key_env=key_env,
                timeout=_number(entry, "timeout", 60.0, where), retries=int(_number(entry, "retries", 2, where)),
                backoff=_number(entry, "backoff", 0.5, where), weight=weight,
                max_tokens=int(_number(entry, "max_tokens", 4096, where)),
                temperature=_number(entry, "temperature", 0.0, where),
                max_rounds=max_rounds, threshold=threshold))
        else:
            command = entry.get("command")
            if isinstance(command, str):
                command = shlex.split(command)
            if not command or not isinstance(command, list) or not all(isinstance(c, str) for c in command):
                raise ValueError(f"{where}: command must be a list of strings (or one string)")
            key_env = entry.get("api_key_env")
            if key_env is not None and not isinstance(key_env, str):
                raise ValueError(f"{where}: api_key_env must be the name of an environment variable")
            secrets = [v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= 8]
            # An outside program: the basics and its own key variable, none of the others.
            panel.append(CommandPanelist(name=name, command=command, templates=templates,
                                         timeout=_number(entry, "timeout", 120.0, where), weight=weight,
                                         env=for_child(environ, [key_env] if key_env else []), secrets=secrets,
                                         max_rounds=max_rounds, threshold=threshold))
    return panel


# key -> (lowest, highest, whether the lowest is allowed): a value outside is refused
# with one line rather than met later as a wait without end or a negative retry count.
_RANGES = {"weight": (0, 1000, False), "timeout": (0, 86400, False), "retries": (0, 10, True),
           "backoff": (0, 60, True), "max_tokens": (1, 10 ** 6, True), "temperature": (0, 2, True)}


def _number(entry: Mapping, key: str, default: float, where: str) -> float:
    import math

    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: {key} must be a number")
    low, high, low_ok = _RANGES.get(key, (-math.inf, math.inf, True))
    if not math.isfinite(value) or value > high or value < low or (value == low and not low_ok):
        raise ValueError(f"{where}: {key} must be {'at least' if low_ok else 'greater than'} {low:g} "
                         f"and at most {high:g}")
    return float(value)
