"""A backup's files at rest: the key, the sealed stream format (AES-256-GCM in 4 MiB chunks, each bound to its
file's name, its number and whether it is the last), and where backups are kept (a folder or an s3:// prefix).
taina/backup.py takes and restores backups in this format."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import shutil
import struct
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.private import private_dir, write_private

if TYPE_CHECKING:
    from taina.settings import Settings


log = structlog.get_logger("taina.backup")


class BackupError(RuntimeError):
    """The backup cannot be made, read or restored; the message (one line) says why. Nothing was changed."""


MAGIC = b"TAINABK1"
CHUNK = 4 * 1024 * 1024
NONCE = 12
FORMAT = 1
PG_BIN_ENV = "TAINA_PG_BIN"


# -- keys and sealing ---------------------------------------------------------------------------------------


def backup_key(settings: Settings, key_file: Path | None = None, create: bool = False) -> bytes:
    """The backup key: ``key_file``, TAINA_BACKUP_KEY (or _FILE), or <data dir>/backup_key (made if ``create``)."""
    if key_file is not None:
        try:
            raw = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BackupError(f"cannot read the key file {key_file}: {exc.strerror or exc}") from None
        return _decode_key(raw, str(key_file))
    if settings.backup.key:
        return _decode_key(settings.backup.key, "TAINA_BACKUP_KEY")
    path = settings.data_dir / "backup_key"
    if not path.exists():
        if not create:
            raise BackupError(
                "no backup key: set TAINA_BACKUP_KEY (or TAINA_BACKUP_KEY_FILE) or give --key-file"
            )
        private_dir(settings.data_dir, pass_through=True)
        write_private(path, base64.b64encode(secrets.token_bytes(32)) + b"\n")
        log.warning("backup.key_created", path=str(path), note="copy it away from the backups")
    return _decode_key(path.read_text().strip(), str(path))


def _decode_key(raw: str, where: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise BackupError(f"{where}: the backup key must be base64 of 32 bytes") from None
    if len(key) != 32:
        raise BackupError(f"{where}: the backup key must be 32 bytes (base64 of 32 random bytes)")
    return key


def _aad(name: str, index: int, last: bool) -> bytes:
    return f"{name}|{index}|{int(last)}".encode()


def seal_stream(aead: AESGCM, name: str, source: IO[bytes], out: IO[bytes]) -> tuple[str, int, int]:
    """``source`` sealed into ``out``: (sha256 of the plain bytes, plain size, sealed size)."""
    digest = hashlib.sha256()
    out.write(MAGIC)
    written, size, index = len(MAGIC), 0, 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if len(chunk) == CHUNK else b""
        last = not following
        digest.update(chunk)
        size += len(chunk)
        nonce = secrets.token_bytes(NONCE)
        sealed = aead.encrypt(nonce, chunk, _aad(name, index, last))
        out.write(struct.pack(">I", len(sealed)) + nonce + sealed)
        written += 4 + NONCE + len(sealed)
        if last:
            return digest.hexdigest(), size, written
        chunk, index = following, index + 1


def open_stream(aead: AESGCM, name: str, source: IO[bytes], out: IO[bytes] | None) -> tuple[str, int]:
    """The plain bytes of a sealed ``source`` written to ``out`` (or only checked): (sha256, size). BackupError
    if it does not open: a wrong key, or a corrupt or truncated file."""
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError(f"{name}: not a TAINA backup file (corrupt or truncated)")
    digest = hashlib.sha256()
    size, index = 0, 0
    while True:
        head = source.read(4 + NONCE)
        if len(head) < 4 + NONCE:
            raise BackupError(f"{name}: the file is truncated")
        length = struct.unpack(">I", head[:4])[0]
        if length > CHUNK + 16:
            raise BackupError(f"{name}: the file is corrupt")
        sealed = source.read(length)
        if len(sealed) < length:
            raise BackupError(f"{name}: the file is truncated")
        plain = None
        for last in (False, True):
            try:
                plain = aead.decrypt(head[4:], sealed, _aad(name, index, last))
            except InvalidTag:
                continue
            break
        if plain is None:
            raise BackupError(f"{name}: does not open with this key (a wrong key, or the file is corrupt)")
        digest.update(plain)
        size += len(plain)
        if out is not None:
            out.write(plain)
        if last:
            if source.read(1):
                raise BackupError(f"{name}: the file is corrupt (bytes after its end)")
            return digest.hexdigest(), size
        index += 1


def seal_bytes(aead: AESGCM, name: str, data: bytes) -> bytes:
    import io

    out = io.BytesIO()
    seal_stream(aead, name, io.BytesIO(data), out)
    return out.getvalue()


def open_bytes(aead: AESGCM, name: str, sealed: bytes) -> bytes:
    import io

    out = io.BytesIO()
    open_stream(aead, name, io.BytesIO(sealed), out)
    return out.getvalue()


# -- destinations -------------------------------------------------------------------------------------------


class Destination(Protocol):
    url: str

    def put_file(self, name: str, path: Path) -> None: ...
    def get_file(self, name: str, path: Path) -> None: ...
    def put_bytes(self, name: str, data: bytes) -> None: ...
    def get_bytes(self, name: str) -> bytes: ...
    def names(self, prefix: str) -> list[str]: ...
    def delete(self, name: str) -> None: ...


class FolderDestination:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = str(root)

    def _path(self, name: str) -> Path:
        return self.root / name

    def put_file(self, name: str, path: Path) -> None:
        target = self._path(name)
        target.parent.mkdir(0o700, parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        os.chmod(partial, 0o600)
        partial.replace(target)

    def get_file(self, name: str, path: Path) -> None:
        try:
            shutil.copyfile(self._path(name), path)
        except FileNotFoundError:
            raise BackupError(f"{self.url}: {name} is missing (the backup is incomplete)") from None

    def put_bytes(self, name: str, data: bytes) -> None:
        target = self._path(name)
        target.parent.mkdir(0o700, parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        write_private(partial, data)
        partial.replace(target)

    def get_bytes(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise BackupError(f"{self.url}: {name} is missing (the backup is incomplete)") from None

    def names(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._path(name).parent.rmdir()  # an emptied backup folder goes too


class S3Destination:
    """An s3://bucket/prefix, with boto3 (credentials, region and AWS_ENDPOINT_URL as boto resolves them)."""

    def __init__(self, url: str) -> None:
        import boto3  # type: ignore[import-untyped]

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise BackupError(f"{url}: no bucket named (s3://bucket/prefix)")
        self.url, self.bucket, self.prefix = url, bucket, prefix.strip("/")
        self._s3: Any = boto3.client("s3")

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put_file(self, name: str, path: Path) -> None:
        self._s3.upload_file(str(path), self.bucket, self._key(name))

    def get_file(self, name: str, path: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            self._s3.download_file(self.bucket, self._key(name), str(path))
        except ClientError as exc:
            raise BackupError(f"{self.url}: cannot read {name}: {exc}") from None

    def put_bytes(self, name: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)

    def get_bytes(self, name: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            body: bytes = self._s3.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()
        except ClientError as exc:
            raise BackupError(f"{self.url}: cannot read {name}: {exc}") from None
        return body

    def names(self, prefix: str) -> list[str]:
        found = []
        strip = len(self._key(""))
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix)
        ):
            found += [item["Key"][strip:] for item in page.get("Contents", [])]
        return sorted(found)

    def delete(self, name: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=self._key(name))


def destination(url: str) -> Destination:
    if url.startswith("s3://"):
        return S3Destination(url)
    return FolderDestination(Path(url).expanduser().resolve())


def default_destination(settings: Settings) -> str:
    return settings.backup.to or str(settings.data_dir / "backups")


# -- what a backup holds ------------------------------------------------------------------------------------
