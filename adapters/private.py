"""Files only the engine's own user can read: folders 0700, files 0600, whatever the umask says.

Everything the engine keeps under the data folder (call spools, stored objects, the auth and storage keys, the
database folder) is made this way; ``tighten`` brings what an older version left (0644 files in 0755 folders)
to the same modes at start."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, pass_through: bool = False) -> Path:
    """``path`` and every missing folder above it, created 0700; an existing ``path`` is set to 0700
    (``pass_through``: its g+x and o+x kept, which the embedded database's own user needs, run as root)."""
    missing = []
    at = path
    while not at.exists():
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another task
            folder.mkdir(mode=DIR_MODE)
    mode = path.stat().st_mode & 0o7777
    wanted = DIR_MODE | (mode & 0o011 if pass_through else 0)
    if mode != wanted:
        path.chmod(wanted)
    return path


def open_private(path: Path, flags: int) -> int:
    """``os.open`` of a file created 0600 (an existing one is set to 0600)."""
    fd = os.open(path, flags | os.O_CREAT, FILE_MODE)
    if os.fstat(fd).st_mode & 0o7777 != FILE_MODE:
        os.fchmod(fd, FILE_MODE)
    return fd


def write_private(path: Path, data: bytes) -> None:
    """``data`` as the whole of ``path``, a file made 0600."""
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def tighten(root: Path, skip: Iterable[str] = ()) -> None:
    """Folders 0700 and files 0600 under ``root`` (not following links; top-level names in ``skip`` left
    alone)."""
    if not root.is_dir():
        return
    private_dir(root, pass_through=True)
    skipped = set(skip)
    for top in root.iterdir():
        if top.name in skipped or top.is_symlink():
            continue
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            if path.is_symlink():
                continue
            mode = DIR_MODE if path.is_dir() else FILE_MODE
            if path.stat().st_mode & 0o7777 != mode:
                path.chmod(mode)
