"""OpenID Connect providers the sign-in tests run on 127.0.0.1.

- ``mock_provider``: the PyPI package oidc-provider-mock (Flask + authlib's provider), served by werkzeug in a
  thread. Users and their claims are set with ``PUT /users/<sub>``; the sign-in form is answered with a POST.
  Its ``access_token_max_age`` also sets the ID token's lifetime, so a negative one issues expired ID tokens.
- ``LocalProvider``: a small provider of our own, for what the package cannot do: an ID token naming another
  issuer or another audience. It signs with a real RSA key (joserfc, the JOSE library authlib moved to) and
  checks the PKCE verifier against the challenge (S256), which the package does not.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey


@contextlib.contextmanager
def mock_provider(access_token_max_age: timedelta = timedelta(hours=1)) -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 (a free port) in a thread: its issuer URL."""
    import oidc_provider_mock
    import werkzeug.serving

    app = oidc_provider_mock.app(require_nonce=True, access_token_max_age=access_token_max_age)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class LocalProvider:
    """A provider whose ID tokens may be wrong on purpose: ``claims`` overrides what it signs."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.claims: dict[str, Any] = {}  # e.g. {"iss": "https://otro.example"} or {"aud": "otro-cliente"}
        self.user: dict[str, Any] = {"sub": "u-1", "email": "luis@clinica.do", "groups": ["taina-viewers"]}
        self._codes: dict[str, dict[str, str]] = {}
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def metadata(request: Request) -> dict[str, Any]:
            base = str(request.base_url).rstrip("/")
            return {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["response_type"] == "code" and q["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self._codes[code] = {
                "nonce": q["nonce"],
                "challenge": q["code_challenge"],
                "client_id": q["client_id"],
                "redirect_uri": q["redirect_uri"],
            }
            query = urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

        @app.post("/token")
        async def token(
            request: Request,
            code: str = Form(),
            code_verifier: str = Form(),
            redirect_uri: str = Form(),
        ) -> JSONResponse:
            grant = self._codes.pop(code, None)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if grant is None or grant["challenge"] != challenge or grant["redirect_uri"] != redirect_uri:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": str(request.base_url).rstrip("/"),
                "aud": grant["client_id"],
                "iat": now,
                "exp": now + 300,
                "nonce": grant["nonce"],
                **self.user,
                **self.claims,
            }
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)
            return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

        return app
