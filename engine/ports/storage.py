"""Blobs by key: documents' originals and call recordings."""

from __future__ import annotations

import re
from typing import Protocol


class ObjectStore(Protocol):
    """Blobs by key (documents' originals, call recordings). Keys are checked by check_key below."""

    name: str

    async def check(self) -> None:
        """Raise StorageError now if the store cannot be used (unreachable, no such bucket, no access)."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; KeyError if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone."""

    async def exists(self, key: str) -> bool: ...

    async def aclose(self) -> None: ...


class StorageError(RuntimeError):
    """The object store cannot be used; the message says which store and why."""


def check_key(key: str) -> str:
    """A key is slash-separated segments of letters, digits, '.', '_' and '-', none of them '.' or '..'."""
    segments = key.split("/")
    if (
        not key
        or len(key) > 512
        or any(s in ("", ".", "..") or not _KEY_SEGMENT.fullmatch(s) for s in segments)
    ):
        raise ValueError(f"invalid object key {key!r}")
    return key


_KEY_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
