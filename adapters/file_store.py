"""Object storage on the local filesystem: the embedded default (``file://<data dir>/objects``)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from adapters.private import private_dir, write_private
from engine.ports.storage import StorageError, check_key


class FileStore:
    name = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def check(self) -> None:
        def prepare() -> None:
            private_dir(self.root)
            probe = self.root / ".write-check"
            write_private(probe, b"")
            probe.unlink()

        try:
            await asyncio.to_thread(prepare)
        except OSError as exc:
            raise StorageError(
                f"cannot write to the object folder {self.root}: {exc.strerror or exc}"
            ) from exc

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            private_dir(path.parent)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            write_private(partial, data)
            partial.replace(path)  # atomic: readers see the old object or the new one, never half

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise KeyError(key) from None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def aclose(self) -> None:
        return None
