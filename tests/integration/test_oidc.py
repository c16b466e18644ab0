"""Sign-in through the clinic's identity provider (OpenID Connect, code flow with PKCE), over real HTTP: the
assistant's auth routes against the embedded PostgreSQL, and a real provider on 127.0.0.1.

The good sign-in, the expired ID token and the replayed state run against oidc-provider-mock (the PyPI
package). The wrong issuer and the wrong audience run against tests/support/oidc_provider.LocalProvider, our
own small provider signing with a real RSA key, because the package always signs its own issuer and the
client's id. Every refusal is a clear 4xx and leaves the accounts as they were.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from adapters.accounts_db import Accounts
from adapters.oidc_accounts import ExternalAccounts
from adapters.oidc_sign_ins import Flow, PendingSignIns
from taina.auth import Auth, AuthSettings, Tokens, hash_password
from taina.backend import Backend
from taina.http import deps
from taina.http.auth import router as auth_router
from taina.http.errors import ApiError, answer_errors_as_json
from taina.http.oidc import router as oidc_router
from taina.oidc import CODE_TTL_S, FLOW_TTL_S, OidcSignIn
from taina.settings import Settings
from tests.support.oidc_provider import LocalProvider, mock_provider
from tests.support.servers import serving, serving_here

KEY = "k" * 40
CLIENT = "taina-panel"


@dataclass
class Site:
    client: httpx.AsyncClient
    accounts: Accounts
    env: dict[str, str] = field(default_factory=dict)

    def use(self, issuer: str) -> None:
        self.env.update(
            {
                "TAINA_OIDC_ISSUER": issuer,
                "TAINA_OIDC_CLIENT_ID": CLIENT,
                "TAINA_OIDC_CLIENT_SECRET": "secreto-del-panel",
            }
        )

    async def users(self) -> list[tuple[str, str, bool]]:
        return [(u.email, u.role, u.disabled) for u in await self.accounts.users()]


@contextlib.asynccontextmanager
async def serving_site(backend: Backend, env: dict[str, str]) -> AsyncIterator[Site]:
    """The auth and sign-in routes on a port of their own, with an OidcSignIn of their own (as a `taina serve`
    worker has), on ``backend``'s database."""
    settings = AuthSettings(secret=KEY)
    accounts = backend.accounts
    app = FastAPI()
    answer_errors_as_json(app)
    app.state.auth = Auth(accounts, Tokens(KEY, settings), settings)
    app.state.oidc = OidcSignIn(backend.database)
    app.state.oidc_accounts = ExternalAccounts(backend.database)
    app.dependency_overrides[deps.settings] = lambda: Settings.from_env(env)
    app.include_router(auth_router)
    app.include_router(oidc_router)
    async with serving_here(app) as url, httpx.AsyncClient(base_url=url, timeout=15) as client:
        yield Site(client, accounts, env)


@pytest.fixture
async def site(backend: Backend) -> AsyncIterator[Site]:
    await backend.accounts.create_user("local@clinica.do", hash_password("una-clave-larga-2026"), "admin")
    async with serving_site(backend, {}) as found:
        yield found


@pytest.fixture
def provider() -> Iterator[str]:
    with mock_provider() as issuer:
        yield issuer


def set_user(issuer: str, sub: str, email: str, groups: list[str]) -> None:
    answer = httpx.put(f"{issuer}/users/{sub}", json={"email": email, "groups": groups}, timeout=10)
    assert answer.status_code == 204, answer.text


async def to_callback(site: Site, sub: str | None) -> str:
    """Start a sign-in and go through the provider: the callback URL it sends the browser back to."""
    start = await site.client.get("/api/auth/oidc/login")
    assert start.status_code == 303, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert site.client.cookies.get("taina_oidc_state") == query["state"][0]
    async with httpx.AsyncClient(timeout=15) as browser:
        if sub is None:  # the LocalProvider answers at once
            answer = await browser.get(authorize)
        else:  # oidc-provider-mock shows its form; the user picks an identity
            answer = await browser.post(authorize, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(str(site.client.base_url))
    return callback


async def sign_in(site: Site, callback: str) -> dict[str, str]:
    done = await site.client.get(callback)
    assert done.status_code == 303, done.text
    location = done.headers["location"]
    assert location.startswith("/admin#oidc=")
    tokens = await site.client.post("/api/auth/oidc/exchange", json={"code": location.split("=", 1)[1]})
    assert tokens.status_code == 200, tokens.text
    again = await site.client.post("/api/auth/oidc/exchange", json={"code": location.split("=", 1)[1]})
    assert again.status_code == 400  # the one-time code works once
    found: dict[str, str] = tokens.json()
    return found


async def me(site: Site, tokens: dict[str, str]) -> dict[str, str]:
    answer = await site.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, str] = answer.json()
    return found


async def test_off_without_an_issuer(site: Site) -> None:
    assert (await site.client.get("/api/auth/oidc")).json() == {"enabled": False}
    assert (await site.client.get("/api/auth/oidc/login")).status_code == 404


async def test_a_first_sign_in_makes_an_account_with_the_mapped_role_and_the_next_updates_it(
    site: Site, provider: str
) -> None:
    """oidc-provider-mock: the group claim maps to the role; the account is made, then updated; no password."""
    site.use(provider)
    assert (await site.client.get("/api/auth/oidc")).json() == {"enabled": True}
    set_user(provider, "ana", "Ana@Clinica.do", ["otros", "taina-editors"])
    tokens = await sign_in(site, await to_callback(site, "ana"))
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in"}
    account = await me(site, tokens)
    assert (account["email"], account["role"]) == ("ana@clinica.do", "editor")
    user = await site.accounts.by_email("ana@clinica.do")
    assert user is not None and user.password_hash == ""
    refused = await site.client.post(
        "/api/auth/login", json={"email": "ana@clinica.do", "password": "una-clave-larga-2026"}
    )
    assert refused.status_code == 401  # no password: the provider is the only way in for her

    set_user(provider, "ana", "ana@clinica.do", ["taina-admins", "taina-viewers"])
    tokens = await sign_in(site, await to_callback(site, "ana"))
    assert (await me(site, tokens))["role"] == "admin"
    assert [u for u in await site.users() if u[0] == "ana@clinica.do"] == [("ana@clinica.do", "admin", False)]
    # the local account is still the fallback
    local = await site.client.post(
        "/api/auth/login", json={"email": "local@clinica.do", "password": "una-clave-larga-2026"}
    )
    assert local.status_code == 200


async def test_a_replayed_state_is_refused(site: Site, provider: str) -> None:
    """oidc-provider-mock: the callback's state works once, even with the state cookie sent again."""
    site.use(provider)
    set_user(provider, "ana", "ana@clinica.do", ["taina-viewers"])
    callback = await to_callback(site, "ana")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    await sign_in(site, callback)
    before = await site.users()
    site.client.cookies.set("taina_oidc_state", state)  # the browser sends the state cookie again
    replay = await site.client.get(callback)
    assert replay.status_code == 400
    assert "already used" in replay.json()["error"]
    assert await site.users() == before


async def test_a_callback_from_another_browser_is_refused(site: Site, provider: str) -> None:
    """oidc-provider-mock: a callback without the state cookie of the browser that started it."""
    site.use(provider)
    set_user(provider, "ana", "ana@clinica.do", ["taina-viewers"])
    callback = await to_callback(site, "ana")
    before = await site.users()
    async with httpx.AsyncClient(timeout=15) as other:
        answer = await other.get(callback)
    assert answer.status_code == 400 and "this browser" in answer.json()["error"]
    assert await site.users() == before


async def test_an_expired_id_token_is_refused(site: Site) -> None:
    """oidc-provider-mock with a negative token lifetime: it signs ID tokens that expired two minutes ago."""
    with mock_provider(access_token_max_age=timedelta(seconds=-120)) as issuer:
        site.use(issuer)
        set_user(issuer, "ana", "ana@clinica.do", ["taina-admins"])
        before = await site.users()
        answer = await site.client.get(await to_callback(site, "ana"))
        assert answer.status_code == 401
        assert "expired" in answer.json()["error"]
        assert await site.users() == before


async def test_a_user_in_no_mapped_group_is_refused(site: Site, provider: str) -> None:
    site.use(provider)
    set_user(provider, "eva", "eva@clinica.do", ["contabilidad"])
    before = await site.users()
    answer = await site.client.get(await to_callback(site, "eva"))
    assert answer.status_code == 403 and "no group" in answer.json()["error"]
    assert await site.users() == before


async def test_a_provider_email_of_a_local_account_does_not_take_it_over(site: Site, provider: str) -> None:
    site.use(provider)
    set_user(provider, "intruso", "local@clinica.do", ["taina-viewers"])
    before = await site.users()
    answer = await site.client.get(await to_callback(site, "intruso"))
    assert answer.status_code == 409 and "local account" in answer.json()["error"]
    assert await site.users() == before


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://otro-proveedor.example"}, "iss"),
        ({"aud": "otro-cliente"}, "aud"),
        ({"nonce": "otro-nonce"}, "nonce"),
    ],
    ids=["wrong-issuer", "wrong-audience", "wrong-nonce"],
)
async def test_an_id_token_for_someone_else_is_refused(
    site: Site, claims: dict[str, str], message: str
) -> None:
    """LocalProvider (our own, real RSA signatures): the package cannot sign another issuer or audience."""
    local = LocalProvider()
    with serving(local.app) as issuer:
        site.use(issuer)
        local.user = {"sub": "u-1", "email": "luis@clinica.do", "groups": ["taina-admins"]}
        local.claims = claims
        before = await site.users()
        answer = await site.client.get(await to_callback(site, None))
        assert answer.status_code == 401, answer.text
        assert "ID token was refused" in answer.json()["error"] and message in answer.json()["error"]
        assert await site.users() == before

        local.claims = {}  # the same provider, honest: the sign-in works (and PKCE was checked by it)
        tokens = await sign_in(site, await to_callback(site, None))
        assert (await me(site, tokens))["role"] == "admin"


async def test_a_sign_in_started_by_one_worker_finishes_at_another(
    site: Site, backend: Backend, provider: str
) -> None:
    """Two OidcSignIn instances on one database, as two `taina serve` workers: the login goes to the first,
    the provider's callback reaches the second, and the page exchanges its code at the first. Each state and
    code works once, whichever worker sees it again."""
    site.use(provider)
    set_user(provider, "rosa", "rosa@clinica.do", ["taina-editors"])
    callback = await to_callback(site, "rosa")
    at = urlsplit(callback)
    async with serving_site(backend, site.env) as other:
        other.client.cookies.set("taina_oidc_state", site.client.cookies["taina_oidc_state"])
        done = await other.client.get(f"{at.path}?{at.query}")
        assert done.status_code == 303, done.text
        code = done.headers["location"].split("#oidc=", 1)[1]
        replay = await site.client.get(callback)  # the same callback, at the worker that started it
        assert replay.status_code == 400 and "already used" in replay.json()["error"]

        tokens = await site.client.post("/api/auth/oidc/exchange", json={"code": code})
        assert tokens.status_code == 200, tokens.text
        assert (await me(site, tokens.json()))["role"] == "editor"
        again = await other.client.post("/api/auth/oidc/exchange", json={"code": code})
        assert again.status_code == 400 and "already used" in again.json()["error"]
    rows = await backend.database.fetch(
        "SELECT (SELECT count(*) FROM oidc_flows) AS flows, (SELECT count(*) FROM oidc_handoffs) AS handoffs"
    )
    assert (rows[0]["flows"], rows[0]["handoffs"]) == (0, 0)  # both taken


async def test_the_database_holds_no_usable_state_or_code(
    site: Site, backend: Backend, provider: str
) -> None:
    """A copy of the tables (a backup) holds digests and ciphertext: neither the state nor the tokens."""
    site.use(provider)
    set_user(provider, "rosa", "rosa@clinica.do", ["taina-viewers"])
    callback = await to_callback(site, "rosa")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    flows = await backend.database.fetch("SELECT * FROM oidc_flows")
    assert len(flows) == 1 and state not in str(dict(flows[0]))
    done = await site.client.get(callback)
    code = done.headers["location"].split("#oidc=", 1)[1]
    handoffs = await backend.database.fetch("SELECT * FROM oidc_handoffs")
    assert len(handoffs) == 1 and code not in str(dict(handoffs[0]))
    assert b"access_token" not in handoffs[0]["tokens"] and b"eyJ" not in handoffs[0]["tokens"]
    tokens = (await site.client.post("/api/auth/oidc/exchange", json={"code": code})).json()
    assert (await me(site, tokens))["role"] == "viewer"


async def test_flows_and_codes_expire_and_are_pruned(backend: Backend, provider: str) -> None:
    """A callback after FLOW_TTL_S and an exchange after CODE_TTL_S are refused; a sign-in started prunes the
    expired flows and hand-offs nobody came back for."""
    now = [time.time()]
    flows = OidcSignIn(backend.database, clock=lambda: now[0])
    settings = Settings.from_env(
        {"TAINA_OIDC_ISSUER": provider, "TAINA_OIDC_CLIENT_ID": CLIENT, "TAINA_OIDC_CLIENT_SECRET": "s"}
    ).oidc
    callback = "http://127.0.0.1:9/api/auth/oidc/callback"
    _, state = await flows.start(settings, callback)
    code = await flows.hand_off({"access_token": "a", "refresh_token": "r"})
    now[0] += CODE_TTL_S + 1
    with pytest.raises(ApiError, match="expired") as refused:
        await flows.take(code)
    assert refused.value.status == 400
    now[0] += FLOW_TTL_S
    with pytest.raises(ApiError, match="expired") as refused:
        await flows.finish(settings, state, "any-code")
    assert refused.value.status == 400

    async def counts() -> tuple[int, int]:
        rows = await backend.database.fetch(
            "SELECT (SELECT count(*) FROM oidc_flows) AS f, (SELECT count(*) FROM oidc_handoffs) AS h"
        )
        return rows[0]["f"], rows[0]["h"]

    await flows.start(settings, callback)  # never finished
    await flows.hand_off({"access_token": "b"})  # never exchanged
    await flows.start(settings, callback)
    assert await counts() == (2, 1)
    now[0] += CODE_TTL_S + 1
    await flows.start(settings, callback)
    assert await counts() == (3, 0)  # the hand-off's time was up
    now[0] += FLOW_TTL_S + 1
    await flows.start(settings, callback)
    assert await counts() == (1, 0)  # and the three flows'


async def test_pending_sign_ins_are_bounded_across_workers(backend: Backend) -> None:
    """MAX_PENDING counts every worker's unexpired flows; expired ones make room again."""
    now = [time.time()]
    first = PendingSignIns(backend.database, clock=lambda: now[0])
    second = PendingSignIns(backend.database, clock=lambda: now[0])
    flow = Flow("n", "v", "http://127.0.0.1:9/cb", "http://127.0.0.1:9")
    assert await first.add_flow("s1", flow, ttl_s=60, max_pending=2)
    assert await second.add_flow("s2", flow, ttl_s=60, max_pending=2)
    assert not await first.add_flow("s3", flow, ttl_s=60, max_pending=2)
    assert not await second.add_flow("s3", flow, ttl_s=60, max_pending=2)
    now[0] += 61
    assert await second.add_flow("s3", flow, ttl_s=60, max_pending=2)
    assert await first.take_flow("s1") is None  # expired
    assert await first.take_flow("s3") == flow
    assert await second.take_flow("s3") is None  # taken
    assert await first.prune() == 1  # s2, expired
