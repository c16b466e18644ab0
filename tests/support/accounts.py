"""Accounts made for the tests the way an operator makes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
