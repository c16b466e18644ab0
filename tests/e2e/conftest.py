"""Fixtures of the whole-server tests: a running assistant and Debian's Chromium."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import REPO, Server, start_server, stop_server


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    srv = start_server(data_dir)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by infra/install-chromium.sh if it is missing."""
    path = shutil.which("chromium")
    if path is None:
        result = subprocess.run([str(REPO / "infra" / "install-chromium.sh")], capture_output=True, text=True)
        path = shutil.which("chromium")
        if path is None:
            pytest.fail(f"could not install Debian's chromium:\n{result.stdout}\n{result.stderr}")
    return path
