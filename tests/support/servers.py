"""Servers the tests start: the assistant itself (`taina serve` in a subprocess), ASGI apps served by uvicorn
(in a thread, or in the test's own event loop), and the S3 server's connection details."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


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
            stop_database_left(data_dir)
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, process, log)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    process.wait(timeout=15)
    stop_database_left(data_dir)
    raise RuntimeError(f"the server did not come up in 60 s:\n{log.read_text()}")


def stop_server(srv: Server) -> None:
    """SIGTERM, as a service manager stops it: the server closes its app, embedded database included."""
    srv.process.terminate()
    try:
        srv.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        srv.process.kill()
        srv.process.wait(timeout=15)
    stop_database_left(srv.log.parent)


def stop_database_left(data_dir: Path) -> None:
    """The embedded PostgreSQL of a server that did not stop it (killed, or failed to start), stopped."""
    from adapters.postgres import running_postmaster, stop_postmaster

    pid = running_postmaster(data_dir / "postgres")
    if pid is not None:
        stop_postmaster(pid)


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
    pool), configured as `taina serve` configures it: its base URL."""
    import asyncio

    import uvicorn

    from taina.http.app import server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, log_level="warning", lifespan="off"))
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


class SeaweedFs:
    """A SeaweedFS of a test's own (`weed mini`), on fixed loopback ports and a fixed data folder, so it can be
    stopped and started again where it was."""

    NAMES = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
             "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "metricsPort", "webdav.port",
             "s3.port.iceberg", "s3.port.lance")  # fmt: skip

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = {name: free_port() for name in self.NAMES}
        self.s3 = S3Server(
            f"http://127.0.0.1:{self.ports['s3.port']}", "taina-test", "taina-key", "taina-secret"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        import boto3

        weed = Path(sys.executable).parent / "weed"
        args = [str(weed), "mini", f"-dir={self.folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
                f"-bucket={self.s3.bucket}", *[f"-{name}={port}" for name, port in self.ports.items()]]  # fmt: skip
        log = self.folder / "weed.log"
        self.process = process = subprocess.Popen(
            args, env={**os.environ, **self.s3.env()}, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        client = boto3.client("s3", endpoint_url=self.s3.endpoint, aws_access_key_id=self.s3.key,
                              aws_secret_access_key=self.s3.secret, region_name="us-east-1")  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                client.head_bucket(Bucket=self.s3.bucket)
                return
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"SeaweedFS did not start:\n{log.read_text(errors='replace')[-3000:]}"
                    ) from None
                time.sleep(0.3)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
