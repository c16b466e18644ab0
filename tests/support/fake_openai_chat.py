"""A local OpenAI chat-completions server for the tests, speaking the streaming wire format exactly.

It checks what a real server would refuse (the bearer key, the request's shape, the tool round trip's
messages: every tool call of an assistant message answered by tool messages right after it, in order) and answers as OpenAI does: server-sent events, a first chunk with the role, content deltas,
tool-call deltas split across chunks (id and name first, then pieces of the arguments), a chunk with the
finish reason, a last chunk with usage and no choices, then "data: [DONE]". A test scripts the "model"
with a function from the request body to a Reply, including the faults a real network produces.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

KEY = "sk-test-key"


@dataclass
class Reply:
    text: list[str] = field(default_factory=list)
    tool_calls: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, arguments JSON)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    first_delay_s: float = 0.0  # before the first chunk
    cut_after: int | None = None  # close the stream after this many chunks, without [DONE]
    garbage_after: int | None = None  # send a chunk that is not JSON after this many chunks
    error_after: int | None = None  # send an in-stream error event after this many chunks, then stop


Brain = Callable[[dict[str, Any]], Reply]


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)


def check_request(body: Any) -> str:
    """What a real server would refuse in this request body, or ""."""
    if not isinstance(body, dict):
        return "body must be an object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model is required"
    if body.get("stream") is not True:
        return "this fake only streams"
    if body.get("stream_options") not in (None, {"include_usage": True}, {"include_usage": False}):
        return "bad stream_options"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty array"
    owed: list[str] = []  # the tool call ids the messages right after an assistant's tool calls must answer
    for i, m in enumerate(messages):
        role = m.get("role")
        if role not in ("system", "user", "assistant", "tool", "developer"):
            return f"messages[{i}].role is invalid"
        if owed and role != "tool":
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(owed)}"
            )
        if role == "assistant" and m.get("tool_calls"):
            for c in m["tool_calls"]:
                if c.get("type") != "function" or not c.get("id") or not isinstance(c.get("function"), dict):
                    return f"messages[{i}].tool_calls is malformed"
                if not isinstance(c["function"].get("name"), str) or not isinstance(
                    c["function"].get("arguments"), str
                ):
                    return f"messages[{i}].tool_calls[].function needs name and arguments strings"
                owed.append(c["id"])
            if m.get("content") is not None and not isinstance(m.get("content"), str):
                return f"messages[{i}].content must be a string or null"
        elif role == "tool":
            if not owed or m.get("tool_call_id") != owed[0]:
                return (
                    f"Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                    f"with 'tool_calls' (messages[{i}].tool_call_id {m.get('tool_call_id')!r}"
                    f"{', expected ' + repr(owed[0]) if owed else ''})."
                )
            owed.pop(0)
            if not isinstance(m.get("content"), str):
                return f"messages[{i}].content must be a string"
        elif not isinstance(m.get("content"), str):
            return f"messages[{i}].content must be a string"
    if owed:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(owed)}"
        )
    for t in body.get("tools") or []:
        function = t.get("function") if isinstance(t, dict) else None
        if t.get("type") != "function" or not isinstance(function, dict):
            return "tools[] must be {type: function, function: {...}}"
        if not isinstance(function.get("name"), str) or not isinstance(function.get("parameters"), dict):
            return "tools[].function needs a name and parameters"
        parameters = function["parameters"]
        if function.get("strict") and (
            parameters.get("additionalProperties") is not False
            or set(parameters.get("required", [])) != set(parameters.get("properties", {}))
        ):
            return (
                f"strict tool {function['name']}: every property must be required, no additional properties"
            )
    return ""


class FakeOpenAIChat:
    def __init__(self, brain: Brain) -> None:
        self.brain = brain
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers, as they came (traceparent, ...)
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Response:
            self.headers.append(dict(request.headers))
            if request.headers.get("authorization") != f"Bearer {KEY}":
                return _error(401, "Incorrect API key provided.", "invalid_api_key")
            try:
                body = await request.json()
            except ValueError:
                return _error(400, "We could not parse the JSON body of your request.")
            problem = check_request(body)
            if problem:
                return _error(400, problem)
            self.requests.append(body)
            reply = self.brain(body)
            if reply.status != 200:
                return JSONResponse(
                    {"error": {"message": "Rate limit reached" if reply.status == 429 else "The server had an error",
                               "type": "requests" if reply.status == 429 else "server_error"}},
                    reply.status, reply.headers,
                )  # fmt: skip
            return StreamingResponse(self._events(body, reply), media_type="text/event-stream")

        self.app = app

    async def _events(self, body: dict[str, Any], reply: Reply) -> AsyncIterator[bytes]:
        if reply.first_delay_s:
            await asyncio.sleep(reply.first_delay_s)
        base = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body["model"], "system_fingerprint": "fp_fake"}  # fmt: skip

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                    "usage": None}  # fmt: skip

        chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
        chunks += [chunk({"content": piece}) for piece in reply.text]
        for index, (call_id, name, arguments) in enumerate(reply.tool_calls):
            chunks.append(chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                 "function": {"name": name, "arguments": ""}}]}))  # fmt: skip
            for start in range(0, len(arguments), 7):  # arguments arrive in small pieces
                piece = arguments[start : start + 7]
                chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
        chunks.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
        if body.get("stream_options", {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9,
                                                             "total_tokens": 59}})  # fmt: skip
        for sent, data in enumerate(chunks):
            if reply.cut_after is not None and sent >= reply.cut_after:
                return
            if reply.garbage_after is not None and sent >= reply.garbage_after:
                yield b"data: {not json\n\n"
                return
            if (
                reply.error_after is not None and sent >= reply.error_after
            ):  # a fault mid-way, as OpenAI says it
                error = {"message": "The server had an error while processing your request.",
                         "type": "server_error", "param": None, "code": None}  # fmt: skip
                yield f"data: {json.dumps({'error': error})}\n\n".encode()
                return
            yield f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
            await asyncio.sleep(0.001)
        yield b"data: [DONE]\n\n"
