"""Object storage on the local filesystem: the embedded default (``file://<data dir>/objects``).

With a key, every object is kept encrypted (AES-256-GCM): a header (``TAINAOBJ``, a version byte, a 12-byte
nonce of its own) then the ciphertext, its key name bound in as associated data (an object moved under another
key does not decrypt). An object without the header, written by an older version, is read as it is.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.private import private_dir, write_private
from engine.ports.storage import StorageError, check_key

MAGIC = b"TAINAOBJ"
VERSION = 1
NONCE = 12


class EncryptionKeyError(StorageError):
    """The storage key cannot be used; the message says why."""


def storage_key(configured: str, data_dir: Path) -> bytes:
    """TAINA_STORAGE_ENCRYPTION_KEY (32 bytes, base64), or the key kept in <data dir>/storage_key (made once,
    0600, like the auth secret). Losing it loses every object stored with it."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError:
            raise EncryptionKeyError("TAINA_STORAGE_ENCRYPTION_KEY must be base64") from None
        if len(key) != 32:
            raise EncryptionKeyError(
                "TAINA_STORAGE_ENCRYPTION_KEY must be 32 bytes (base64 of 32 random bytes)"
            )
        return key
    path = data_dir / "storage_key"
    if not path.exists():
        private_dir(data_dir, pass_through=True)
        write_private(path, base64.b64encode(secrets.token_bytes(32)) + b"\n")
    return base64.b64decode(path.read_bytes().strip())


def seal(aead: AESGCM, key: str, data: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE)
    return MAGIC + bytes([VERSION]) + nonce + aead.encrypt(nonce, data, key.encode())


def unseal(aead: AESGCM | None, key: str, stored: bytes) -> bytes:
    if not stored.startswith(MAGIC):
        return stored  # kept before encryption was on: read as it is
    version = stored[len(MAGIC)]
    if version != VERSION or aead is None:
        raise OSError(f"object {key!r} is encrypted (version {version}) and cannot be read with this key")
    start = len(MAGIC) + 1
    nonce = stored[start : start + NONCE]
    return aead.decrypt(nonce, stored[start + NONCE :], key.encode())


class FileStore:
    name = "file"

    def __init__(self, root: Path, key: bytes | None = None) -> None:
        self.root = root
        self._aead = AESGCM(key) if key is not None else None

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
            write_private(partial, seal(self._aead, key, data) if self._aead is not None else data)
            partial.replace(path)  # atomic: readers see the old object or the new one, never half

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            stored = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise KeyError(key) from None
        return unseal(self._aead, key, stored)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def aclose(self) -> None:
        return None
