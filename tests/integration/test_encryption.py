"""What the file store keeps is encrypted at rest (AES-GCM, a header with a version and a nonce per object),
with a key from the environment or one made once in the data folder (0600); objects stored before encryption
was on are still read. S3 objects ask for server-side encryption by default."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from adapters.file_store import FileStore, storage_key
from adapters.s3_store import StorageSettings
from engine.ports.storage import StorageError
from taina.knowledge.open import object_store
from taina.settings import Settings

SECRET = b"Paciente: Ana Ruiz, DNI 12345678Z, resultado de la biopsia"


async def test_objects_are_encrypted_at_rest_and_old_plain_ones_still_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = object_store(Settings.from_env({"TAINA_DATA_DIR": str(data)}))
    await store.put("documents/d1/informe.txt", SECRET, "text/plain")
    raw = (data / "objects" / "documents" / "d1" / "informe.txt").read_bytes()
    assert SECRET not in raw and b"Ana Ruiz" not in raw
    assert raw.startswith(b"TAINAOBJ\x01") and len(raw) == 9 + 12 + len(SECRET) + 16
    assert await store.get("documents/d1/informe.txt") == SECRET
    await store.put("documents/d2/informe.txt", SECRET, "text/plain")  # a nonce of its own
    assert (data / "objects/documents/d2/informe.txt").read_bytes()[9:21] != raw[9:21]

    key_file = data / "storage_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = object_store(Settings.from_env({"TAINA_DATA_DIR": str(data)}))  # the next start: same key
    assert await again.get("documents/d1/informe.txt") == SECRET

    old = data / "objects" / "recordings" / "old.ogg"  # written by a version without encryption
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"OggS plain old recording")
    assert await again.get("recordings/old.ogg") == b"OggS plain old recording"

    moved = data / "objects" / "documents" / "d3" / "informe.txt"  # a sealed object under another name
    moved.parent.mkdir(parents=True)
    moved.write_bytes(raw)
    with pytest.raises(InvalidTag):
        await again.get("documents/d3/informe.txt")


async def test_a_key_from_the_environment_is_used_and_checked(tmp_path: Path) -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    settings = Settings.from_env({"TAINA_DATA_DIR": str(tmp_path), "TAINA_STORAGE_ENCRYPTION_KEY": key})
    store = object_store(settings)
    await store.put("a/b", SECRET, "text/plain")
    assert not (tmp_path / "storage_key").exists()
    assert await FileStore(tmp_path / "objects", bytes(range(32))).get("a/b") == SECRET
    with pytest.raises(StorageError, match="32 bytes"):
        storage_key(base64.b64encode(b"short").decode(), tmp_path)


def test_s3_objects_ask_for_server_side_encryption_by_default() -> None:
    assert StorageSettings().sse == "AES256"
    assert Settings.from_env({"TAINA_DATA_DIR": "/x"}).storage.sse == "AES256"
