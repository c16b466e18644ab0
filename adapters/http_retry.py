"""What the HTTP adapters share: which answers are worth a retry, how long to wait, and a short error text."""

from __future__ import annotations

import httpx

MAX_DELAY_S = 10.0


def retryable(status: int) -> bool:
    """429 (slow down) and 5xx (the server's trouble) may succeed later; other answers will not."""
    return status == 429 or status >= 500


def backoff_s(attempt: int, response: httpx.Response | None = None, base_s: float = 0.5) -> float:
    """Retry-After when the server gives one in seconds, else exponential backoff; at most MAX_DELAY_S."""
    retry_after = response.headers.get("retry-after", "") if response is not None else ""
    try:
        delay = float(retry_after) if retry_after else base_s * 2**attempt
    except ValueError:
        delay = base_s * 2**attempt
    return max(0.0, min(delay, MAX_DELAY_S))


def error_text(response: httpx.Response) -> str:
    """The server's own message: OpenAI's {"error": {"message"}}, TAINA's {"error": "..."}, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", ""))[:200]
    return str(error if error is not None else body)[:200]
