"""LLM panelists over HTTP with `requests`: kind `openai` (any OpenAI-compatible
`/v1/chat/completions`: OpenAI, Ollama, vLLM, llama.cpp server) and kind `anthropic` (the
Messages API).

A panelist that errs, times out or answers garbage abstains; 429 and 5xx are retried with
exponential backoff. The API key lives only in request headers: every message that leaves
this module (proposal, log line) goes through `redact`, so a key echoed back by a server or
a proxy never reaches a transcript.
"""

from __future__ import annotations

import logging
import time
from typing import Optional


from .hunks import ConflictContext
from .prompt import PromptTemplates, build_prompt, parse_answer
from .resolver import Proposal, Round, abstain

log = logging.getLogger("mergecoord.panel")

ANTHROPIC_VERSION = "2023-06-01"
MAX_BACKOFF = 30.0


class PanelistError(Exception):
    """Why a panelist could not answer; its message is already redacted."""


class HttpPanelist:
    deterministic = False

    def __init__(self, *, name: str, kind: str, url: str, model: str, templates: PromptTemplates,
                 api_key: Optional[str] = None, api_key_env: Optional[str] = None, timeout: float = 60.0,
                 retries: int = 2, backoff: float = 0.5, weight: float = 1.0, max_tokens: int = 4096,
                 temperature: float = 0.0, max_rounds: int = 3, threshold: float = 0.85,
                 json_mode: bool = False, advocate: Optional[str] = None):
        if kind not in ("openai", "anthropic"):
            raise ValueError(f"unknown HTTP panelist kind {kind!r}")
        self.name, self.kind, self.model, self.weight = name, kind, model, weight
        self.url = _endpoint(kind, url)
        self.templates = templates
        self._api_key = api_key or None
        self.api_key_env = api_key_env
        self.timeout, self.retries, self.backoff = float(timeout), int(retries), float(backoff)
        self.max_tokens, self.temperature = int(max_tokens), float(temperature)
        self.max_rounds, self.threshold = max_rounds, threshold
        self.json_mode = json_mode        # ask an OpenAI-compatible server for a JSON object (Ollama's JSON mode)
        self.advocate = advocate          # "A" / "B": the worker speaking for that side

    def __repr__(self) -> str:      # never the key
        return f"HttpPanelist(name={self.name!r}, kind={self.kind!r}, url={self.url!r}, model={self.model!r})"

    def redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "[redacted]")
        return text

    def propose(self, context: ConflictContext, history: tuple[Round, ...]) -> Proposal:
        if self.api_key_env and not self._api_key:
            return abstain(self.name, f"environment variable {self.api_key_env} is not set", error=True)
        system, user = build_prompt(self.templates, context, history, panelist=self.name,
                                    max_rounds=self.max_rounds, threshold=self.threshold, advocate=self.advocate)
        try:
            text = self.complete(system, user)
        except PanelistError as exc:
            log.warning("panelist %s abstains: %s", self.name, exc)
            return abstain(self.name, str(exc), error=True)
        proposal = parse_answer(self.name, text, context, history)
        if proposal.error:
            log.warning("panelist %s abstains: %s", self.name, proposal.error)
        return proposal.redacted(self.redact)

    def complete(self, system: str, user: str) -> str:
        """The model's text answer to one prompt."""
        if self.kind == "openai":
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            body = {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens,
                    "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}
            if self.json_mode:
                body["response_format"] = {"type": "json_object"}
        else:
            headers = {"anthropic-version": ANTHROPIC_VERSION}
            if self._api_key:
                headers["x-api-key"] = self._api_key
            body = {"model": self.model, "max_tokens": self.max_tokens, "temperature": self.temperature,
                    "system": system, "messages": [{"role": "user", "content": user}]}
        data = self._post(body, headers)
        try:
            if self.kind == "openai":
                content = data["choices"][0]["message"]["content"]
            else:
                content = "".join(block.get("text", "") for block in data["content"] if block.get("type") == "text")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise PanelistError("response is not a chat completion") from None
        if not isinstance(content, str):
            raise PanelistError("response has no text content")
        return content

    def _post(self, body: dict, headers: dict) -> dict:
        import requests    # only a runner whose panel sits pays for importing it

        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                log.info("panelist %s: POST %s (attempt %d)", self.name, self.url, attempt + 1)
                response = requests.post(self.url, json=body, headers=headers, timeout=self.timeout)
            except requests.Timeout:
                # Not retried: a round already costs the slowest panelist.
                raise PanelistError(f"timed out after {self.timeout:g}s") from None
            except requests.RequestException as exc:
                if last:
                    raise PanelistError(self.redact(f"cannot reach {self.url}: {type(exc).__name__}")) from None
                self._sleep(attempt, None)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                if last:
                    raise PanelistError(f"HTTP {response.status_code} after {attempt + 1} attempt(s)")
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if response.status_code >= 400:
                detail = " ".join(response.text.split())[:200]
                raise PanelistError(self.redact(f"HTTP {response.status_code}: {detail}"))
            try:
                return response.json()
            except ValueError:
                raise PanelistError("response is not JSON") from None
        raise PanelistError("no attempt made")   # retries < 0

    def _sleep(self, attempt: int, retry_after: Optional[str]) -> None:
        delay = self.backoff * (2 ** attempt)
        try:
            if retry_after is not None:
                delay = max(delay, float(retry_after))
        except ValueError:
            pass
        time.sleep(min(delay, MAX_BACKOFF))


def _endpoint(kind: str, url: str) -> str:
    url = url.rstrip("/")
    suffix = "/chat/completions" if kind == "openai" else "/messages"
    if url.endswith(suffix):
        return url
    if not url.endswith("/v1"):
        url += "/v1"
    return url + suffix

