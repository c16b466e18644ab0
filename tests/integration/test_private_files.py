"""What the engine keeps under the data folder is its user's alone: folders 0700, files 0600 (spools, objects,
the auth secret, the database folder), the folders above it left as they were even when the embedded
PostgreSQL runs as its own user (as root), and that database stopped when the app closes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from adapters.recordings import recording_key
from engine.recording import RATE
from taina.app import App
from taina.server import create_app
from taina.settings import Settings
from tests.support.clock import TEST_NOW


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def modes_under(root: Path) -> dict[str, int]:
    found = {}
    for path in [root, *root.rglob("*")]:
        if path.is_symlink() or path.is_socket() or path.relative_to(root).parts[:1] == ("models",):
            continue
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


async def test_everything_the_engine_writes_under_the_data_folder_is_private(
    tmp_path: Path, shared_models: Path, e5: object
) -> None:
    above = tmp_path / "srv"
    above.mkdir(mode=0o700)
    above.chmod(0o700)
    data = above / "data"
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in [above, *above.parents]}
    old_umask = os.umask(0o022)  # the usual umask: without care, files come out 0644 and folders 0755
    try:
        settings = Settings.from_env({"TAINA_DATA_DIR": str(data), "TAINA_NOW": TEST_NOW})
        async with App.open(settings, embedder=e5) as app:  # type: ignore[arg-type]
            assert app.backend is not None and app.recordings is not None
            create_app(app)  # makes the auth secret
            objects = app.backend.objects
            await objects.put("documents/d1/original.pdf", b"%PDF-1.4 informe", "application/pdf")
            spool = app.recordings.open("call-1")
            spool.write(np.zeros(RATE * 2 * 2, np.int16).tobytes())
            spool.close()
            half_done = app.recordings.open("call-2")  # a spool still being written
            half_done.write(np.zeros(RATE, np.int16).tobytes())
            await app.recordings.finish("call-1")
            assert await objects.exists(recording_key("call-1"))
            database_pid = int((data / "postgres" / "postmaster.pid").read_text().split()[0])
            assert alive(database_pid)
            modes = modes_under(data)
            half_done.close()
    finally:
        os.umask(old_umask)

    assert not alive(database_pid), "the embedded PostgreSQL outlived the app"
    for path, mode in before.items():  # as root, the database's own user may pass through them, no more
        now = stat.S_IMODE(path.stat().st_mode)
        assert now in (mode, mode | stat.S_IXGRP | stat.S_IXOTH), f"{path} widened: {oct(mode)} -> {oct(now)}"
    assert modes["."] in (0o700, 0o711)
    for name in ("objects", "objects/recordings", "objects/documents/d1", "recordings", "postgres"):
        assert modes[name] == 0o700, f"{name}: {oct(modes[name])}"
    for name in ("auth_secret", "objects/documents/d1/original.pdf", "objects/recordings/call-1.ogg",
                 "recordings/call-2.pcm", "recordings/call-2.json"):  # fmt: skip
        assert modes[name] == 0o600, f"{name}: {oct(modes[name])}"
    loose = {n: oct(m) for n, m in modes.items() if m & 0o066}
    assert not loose, f"readable by others: {loose}"
