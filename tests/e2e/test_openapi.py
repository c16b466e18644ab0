"""The REST API against its own OpenAPI document (schemathesis, bounded examples): whatever a client sends
that the document allows or not, the answer is never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.accounts import ACCOUNT_PASSWORD, create_account
from tests.support.servers import Server, start_server, stop_server

PASSWORD = ACCOUNT_PASSWORD


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> Iterator[tuple[Server, str]]:
    data = tmp_path_factory.mktemp("openapi")
    (data / "models").symlink_to(shared_models)
    create_account(data, "jefa@clinica.do")
    server = start_server(data)
    login = httpx.post(
        f"{server.url}/api/auth/login", json={"email": "jefa@clinica.do", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    yield server, login.json()["access_token"]
    stop_server(server)


def test_no_request_gets_a_server_error(api_server: tuple[Server, str]) -> None:
    server, token = api_server
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, "the document lists the API"
    seen: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def no_server_error(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            seen.append(f"{case.method} {case.formatted_path} {response.status_code}")
            assert response.status_code < 500, f"{seen[-1]}\n{server.logs()[-3000:]}"
            if response.status_code >= 400:
                assert response.json()["error"], "every error says what was wrong"

        no_server_error()
    assert len(seen) >= 3 * len(operations)
