"""OpenAI chat completions (or any OpenAI-compatible server) as the LanguageModel port, streamed over httpx.

Server-sent events are read as they arrive: content deltas go out at once as TextDelta; tool-call fragments
are joined per index (the first fragment carries the id and name, the rest pieces of the arguments) and go
out as ToolCalls when the stream finishes. A 429 (honouring Retry-After), a 5xx, a refused connection or a
first chunk that does not come in time is retried with backoff, but only before anything was passed on; a
stream that breaks off after that raises LanguageModelError, and so does any other error answer.
Closing the iteration closes the HTTP stream (barge-in).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import structlog

from adapters.http_retry import backoff_s, error_text, retryable
from engine.options import Section, knob
from engine.ports.language import (
    LanguageModelError,
    LanguageModelEvent,
    Message,
    Prompt,
    TextDelta,
    TokenUsage,
    ToolCall,
    ToolSpec,
)


class OpenAISettings(Section):
    prefix: ClassVar[str] = "TAINA_OPENAI"
    api_key: str = knob(
        "", "OpenAI API key: the chat model is OpenAI's when it is set.", env="OPENAI_API_KEY", secret=True
    )
    base_url: str = knob(
        "https://api.openai.com/v1",
        "Any OpenAI-compatible server's /v1 URL.",
        env="OPENAI_BASE_URL",
        form=(r"^https?://", "be an http(s) URL"),
    )
    model: str = knob("gpt-4o-mini", "Chat model.", env="OPENAI_MODEL")
    temperature: float = knob(0.3, "Sampling temperature.", ge=0, le=2)
    max_tokens: int = knob(300, "Most tokens in one reply (spoken replies are short).", ge=16, le=4_096)
    connect_timeout_s: float = knob(5.0, "Time to connect to the server, in s.", gt=0, le=300)
    first_token_timeout_s: float = knob(
        10.0, "Time from the request to the first streamed chunk, in s.", gt=0, le=300
    )
    stall_timeout_s: float = knob(10.0, "Longest gap between two streamed chunks, in s.", gt=0, le=300)
    retries: int = knob(
        2, "Retries after a 429, a 5xx or a failed connection (before anything was streamed).", ge=0, le=10
    )


log = structlog.get_logger("taina.openai")


class _Retry(Exception):
    def __init__(self, reason: str, response: httpx.Response | None = None) -> None:
        super().__init__(reason)
        self.response = response


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIChat:
    def __init__(self, settings: OpenAISettings, client: httpx.AsyncClient | None = None) -> None:
        self.name = f"openai:{settings.model}"
        self._settings = settings
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        timeout = httpx.Timeout(
            connect=settings.connect_timeout_s,
            read=settings.stall_timeout_s,
            write=settings.connect_timeout_s,
            pool=settings.connect_timeout_s,
        )
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    def request_body(self, prompt: Prompt) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._settings.model,
            "messages": [_message(m) for m in prompt.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": self._settings.temperature,
            "max_tokens": self._settings.max_tokens,
        }
        if prompt.tools:
            body["tools"] = [_tool(t) for t in prompt.tools]
            body["tool_choice"] = "auto"
            body["parallel_tool_calls"] = False  # one write at a time, each confirmed
        return body

    async def respond(self, prompt: Prompt) -> AsyncIterator[LanguageModelEvent]:
        body = self.request_body(prompt)
        attempts = self._settings.retries + 1
        for attempt in range(attempts):
            passed_on = False
            try:
                async for event in self._stream(body, prompt.usage):
                    passed_on = True
                    yield event
                return
            except _Retry as retry:
                if passed_on:  # never repeat words already spoken
                    raise LanguageModelError(f"the stream broke off: {retry}") from None
                if attempt == attempts - 1:
                    raise LanguageModelError(f"{retry} (after {attempts} attempts)") from None
                delay = backoff_s(attempt, retry.response)
                log.warning("openai.retry", reason=str(retry), attempt=attempt + 1, delay_s=delay)
                await asyncio.sleep(delay)

    async def _stream(
        self, body: dict[str, Any], usage: list[TokenUsage] | None = None
    ) -> AsyncIterator[LanguageModelEvent]:
        headers = {"Authorization": f"Bearer {self._settings.api_key}", "Accept": "text/event-stream"}
        started = time.monotonic()
        try:
            async with self._client.stream("POST", self._url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    await response.aread()
                    message = f"{self._url} answered {response.status_code} {error_text(response)}".strip()
                    if retryable(response.status_code):
                        raise _Retry(message, response)
                    raise LanguageModelError(message)
                lines = response.aiter_lines()
                calls: dict[int, _PartialCall] = {}
                first = True
                while True:
                    try:
                        if first:
                            async with asyncio.timeout(self._settings.first_token_timeout_s):
                                line = await anext(lines)
                        else:
                            line = await anext(lines)
                    except StopAsyncIteration:
                        raise _Retry("the stream ended before [DONE]") from None
                    except TimeoutError:
                        raise _Retry(f"no answer within {self._settings.first_token_timeout_s:g} s") from None
                    if not line.startswith("data:"):
                        continue  # blank separators, comments, event names
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    if first:
                        first = False
                        log.debug("openai.first_chunk", ms=round((time.monotonic() - started) * 1000, 1))
                    for text in _read_chunk(data, calls):
                        yield TextDelta(text)
                    if usage is not None and '"usage"' in data:
                        _note_usage(data, usage)
                for index in sorted(calls):
                    call = calls[index]
                    if not call.name:
                        raise LanguageModelError(f"tool call {index} came without a name")
                    yield ToolCall(call.id or f"call_{index}", call.name, "".join(call.arguments))
        except httpx.TimeoutException as exc:
            raise _Retry(f"{type(exc).__name__} talking to {self._url}") from None
        except httpx.TransportError as exc:
            raise _Retry(f"cannot reach {self._url}: {exc}") from None


def _note_usage(data: str, usage: list[TokenUsage]) -> None:
    """The last chunk's token counts (stream_options.include_usage), noted on the prompt for cost per turn."""
    counts = json.loads(data).get("usage")
    if isinstance(counts, dict):
        details = counts.get("prompt_tokens_details") or {}
        usage.append(
            TokenUsage(
                int(counts.get("prompt_tokens") or 0),
                int(counts.get("completion_tokens") or 0),
                int(details.get("cached_tokens") or 0),
            )
        )


def _read_chunk(data: str, calls: dict[int, _PartialCall]) -> list[str]:
    """The text pieces of one chunk; tool-call fragments are added to ``calls``."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise LanguageModelError(f"the server sent a chunk that is not JSON: {data[:120]!r}") from None
    if not isinstance(chunk, dict):
        raise LanguageModelError("the server sent a chunk that is not a JSON object")
    if "error" in chunk:
        error = chunk["error"]
        raise LanguageModelError(
            f"the server reported: {error.get('message') if isinstance(error, dict) else error}"
        )
    texts: list[str] = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if delta.get("content"):
            texts.append(delta["content"])
        if delta.get("refusal"):
            texts.append(delta["refusal"])
        for fragment in delta.get("tool_calls") or []:
            partial = calls.setdefault(int(fragment.get("index", 0)), _PartialCall())
            partial.id = fragment.get("id") or partial.id
            function = fragment.get("function") or {}
            partial.name = function.get("name") or partial.name
            if function.get("arguments"):
                partial.arguments.append(function["arguments"])
    return texts


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": dict(spec.parameters),
            "strict": True,
        },
    }
