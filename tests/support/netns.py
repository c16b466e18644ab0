"""A network namespace with a veth pair for tests of the LiveKit SDK, whose WebRTC ignores loopback interfaces:
both ends stay inside the namespace (10.213.0.1 and 10.213.0.2), so no packet leaves it. Needs root."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator

SERVER_IP = "10.213.0.1"
PEER_IP = "10.213.0.2"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextlib.contextmanager
def veth_namespace() -> Iterator[str]:
    """A fresh namespace's name (for ``ip netns exec``); deleted afterwards, whatever happened."""
    name = f"lk-{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        for args in (
            ("link", "set", "lo", "up"),
            ("link", "add", "lka", "type", "veth", "peer", "name", "lkb"),
            ("addr", "add", f"{SERVER_IP}/24", "dev", "lka"),
            ("addr", "add", f"{PEER_IP}/24", "dev", "lkb"),
            ("link", "set", "lka", "up"),
            ("link", "set", "lkb", "up"),
        ):
            _ip("-n", name, *args)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
