"""What every HTTP answer and request goes through: the request body held to its route's limit while it
arrives (413 at once, never read whole first), security headers on every answer, and the caller's address and
scheme, believing X-Forwarded-For and X-Forwarded-Proto only from the configured proxies
(TAINA_HTTP_TRUSTED_PROXIES)."""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taina.http.documents import MAX_FILES
from taina.http_settings import HttpSettings
from taina.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The pages load only their own files; nothing may frame them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's API explorer (/docs, /redoc) loads its script and style from a CDN and starts with inline code.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


@functools.lru_cache(maxsize=4)
def page_csp(livekit_url: str) -> str:
    """The pages' policy; with LiveKit on, the voice page also reaches the LiveKit server (its signalling
    WebSocket, and the HTTP endpoint its SDK asks why a connection was refused)."""
    if not livekit_url:
        return CSP
    found = urlsplit(livekit_url)
    secure = found.scheme in ("wss", "https")
    server = f"{'wss' if secure else 'ws'}://{found.netloc} {'https' if secure else 'http'}://{found.netloc}"
    return CSP.replace("connect-src 'self'", f"connect-src 'self' {server}")


@functools.lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(proxies))


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name]
    return ",".join(values)


def client_address(scope: Scope, proxies: tuple[str, ...]) -> str:
    """The caller's address: the peer's, or, when the peer is one of ``proxies``, the nearest address in
    X-Forwarded-For that is not one of them (so a caller cannot choose theirs by sending the header)."""
    client = scope.get("client")
    peer = str(client[0]) if client else ""
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in _header(scope, b"x-forwarded-for").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def is_https(scope: Scope, proxies: tuple[str, ...]) -> bool:
    """Served over TLS: the request's scheme, or X-Forwarded-Proto from a trusted proxy."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if proxies and client and _trusted(str(client[0]), proxies):
        return _header(scope, b"x-forwarded-proto").split(",")[0].strip().lower() == "https"
    return False


def address(connection: HTTPConnection, settings: HttpSettings) -> str:
    return client_address(connection.scope, settings.trusted_proxies)


def body_limit(method: str, path: str, settings: Settings) -> int:
    """How many bytes a request's body may have: small before login and for the JSON API, large only for
    document uploads (and no more than MAX_FILES files of the largest size could need)."""
    http = settings.http
    if path.startswith("/api/auth/"):
        return http.max_login_bytes
    if method == "POST" and path.rstrip("/") == "/api/documents":
        return min(http.max_upload_bytes, MAX_FILES * (settings.ingest.max_bytes + 16_384))
    return http.max_body_bytes


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is over {limit} bytes")


class Guard:
    """ASGI middleware: body limits counted while the body arrives, and the security headers."""

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings]) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        livekit = settings.livekit.url if settings.livekit.enabled else ""
        headers = security_headers(scope, settings.http, livekit)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *((k, v) for k, v in headers if k not in present),
                    ],
                }
            await send(message)

        limit = body_limit(scope["method"], scope["path"], settings)
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send_with_headers, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)  # answered as JSON by the app's HTTPException handler
            return message

        await self.app(scope, counted, send_with_headers)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"the request body is over {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def security_headers(
    scope: Scope, settings: HttpSettings, livekit_url: str = ""
) -> list[tuple[bytes, bytes]]:
    path = scope.get("path", "")
    csp = DOCS_CSP if path in ("/docs", "/redoc") or path.startswith("/docs/") else page_csp(livekit_url)
    headers: list[tuple[bytes, bytes]] = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"microphone=(self), camera=(), geolocation=()"),
    ]
    if is_https(scope, settings.trusted_proxies):
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def install(app: Any, settings: Callable[[], Settings]) -> None:
    """The guard on ``app`` (a FastAPI or Starlette app), reading the HTTP settings at each request."""
    app.add_middleware(Guard, settings=settings)
