from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder prepared once per test run (joining Whisper takes a second), shared read-only."""
    from adapters.whisper_model import bundled_model_dir

    models = tmp_path_factory.mktemp("models")
    bundled_model_dir(models, progress=False)
    return models


@pytest.fixture
def data_dir(tmp_path: Path, shared_models: Path) -> Path:
    """A fresh TAINA_DATA_DIR whose models folder links to the shared prepared model."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(shared_models)
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "TAINA_DATA_DIR": str(data_dir),
        "TAINA_HTTP_PORT": str(port),
        "TAINA_WEBRTC_ICE_ADDRESSES": "127.0.0.1",
        "TAINA_LOG_FORMAT": "json",
        **(extra_env or {}),
    }
    log = data_dir / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "taina.cli", "serve"],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, process, log)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not come up in 60 s:\n{log.read_text()}")


def stop_server(srv: Server) -> None:
    srv.process.terminate()
    try:
        srv.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        srv.process.kill()


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
