"""A call's spool is encoded a second at a time: the whole recording, its length, a sample split across the
read boundary kept whole, never the whole PCM in memory at once."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from adapters.recordings import SPOOL_BYTES_PER_SECOND, encode_spool
from engine.recording import RATE


def _decoded_seconds(ogg: bytes) -> float:
    with av.open(io.BytesIO(ogg), "r") as container:
        samples = sum(int(frame.samples) for frame in container.decode(audio=0))
    return samples / 48_000  # Opus decodes at 48 kHz


def test_a_spool_is_encoded_whole_a_second_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tone = (np.sin(np.arange(int(3.5 * RATE)) * 2 * np.pi * 440 / RATE) * 8000).astype(np.int16)
    pcm = np.stack([tone, tone // 2], axis=1).reshape(-1).tobytes() + b"\x01\x02"  # a half sample at the end
    spool = tmp_path / "call.pcm"
    spool.write_bytes(pcm)
    reads: list[int] = []
    original = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        handle = original(self, *args, **kwargs)
        read = handle.read

        def counted(size: int = -1) -> bytes:
            block: bytes = read(size)
            reads.append(len(block))
            return block

        handle.read = counted
        return handle

    monkeypatch.setattr(Path, "open", counting_open)
    encoded, seconds = encode_spool(spool)
    assert seconds == 3.5
    assert max(reads) == SPOOL_BYTES_PER_SECOND  # never more than a second of PCM read at once
    assert abs(_decoded_seconds(encoded) - 3.5) < 0.05
