"""A call's recording: the caller on the left channel, the assistant on the right, aligned by time.

Both sides are cut into 20 ms slots by when they were heard (the caller's frame timestamps) or sent (the
playout's due times), so a pause, an interruption or a late frame lands where it happened. Slots are written
to a spool a little behind the newest (``lag_slots``), as 16 kHz interleaved 16-bit stereo, with silence
where a side had nothing. The spool is the adapter's (a file that survives a crash); encoding and upload
happen when the call ends.

A spool that cannot be written (the disk full) stops the recording, never the call: the error is logged and
kept in ``failed``, and the caller decides what to do with what was written before it.
"""

from __future__ import annotations

import numpy as np
import structlog

from engine.audio import Pcm
from engine.ports.records import Spool
from engine.resample import Decimator

log = structlog.get_logger("taina.recording")

RATE = 16_000
SLOT_S = 0.02
SLOT = int(RATE * SLOT_S)


class CallRecorder:
    def __init__(self, spool: Spool, started_at: float, lag_slots: int = 10) -> None:
        self._spool = spool
        self._t0 = started_at
        self._lag = lag_slots
        self._left: dict[int, Pcm] = {}
        self._right: dict[int, Pcm] = {}
        self._written = 0  # slots already in the spool
        self._newest = -1
        self._decimator: Decimator | None = None
        self._silence = np.zeros(SLOT, np.int16)
        self.closed = False
        self.failed: OSError | None = None  # why the spool stopped taking audio, if it did

    def caller(self, samples: Pcm, ended_at: float) -> None:
        """A 20 ms frame of the caller at 16 kHz, heard at ``ended_at`` (its last sample)."""
        self._put(self._left, samples, ended_at)

    def assistant(self, samples: Pcm, rate: int, sent_at: float) -> None:
        """A 20 ms frame of what the assistant sent (silence included), at ``rate``, leaving at ``sent_at``."""
        if rate != RATE:
            if self._decimator is None:
                self._decimator = Decimator(rate // RATE)
            samples = self._decimator.push(samples)
        self._put(self._right, samples, sent_at + SLOT_S)

    def close(self) -> None:
        """Write every slot left and close the spool."""
        if self.closed:
            return
        self._flush(self._newest + 1)
        self._close_spool()

    def _close_spool(self) -> None:
        self.closed = True
        self._left.clear()
        self._right.clear()
        try:
            self._spool.close()
        except OSError as exc:
            log.error("recording.spool_close_failed", error=str(exc))
            self.failed = self.failed or exc

    def _put(self, side: dict[int, Pcm], samples: Pcm, ended_at: float) -> None:
        if self.closed:
            return
        slot = round((ended_at - self._t0) / SLOT_S) - 1
        if slot < self._written:
            return  # older than what is already written (or from before the call)
        side[slot] = samples[:SLOT] if len(samples) >= SLOT else np.pad(samples, (0, SLOT - len(samples)))
        if slot > self._newest:
            self._newest = slot
            if slot - self._written >= 2 * self._lag:
                self._flush(slot - self._lag)

    def _flush(self, until: int) -> None:
        """Write slots up to (not including) ``until``."""
        if until <= self._written:
            return
        count = until - self._written
        block = np.empty((count * SLOT, 2), np.int16)
        for i, slot in enumerate(range(self._written, until)):
            block[i * SLOT : (i + 1) * SLOT, 0] = self._left.pop(slot, self._silence)
            block[i * SLOT : (i + 1) * SLOT, 1] = self._right.pop(slot, self._silence)
        self._written = until
        try:
            self._spool.write(block.tobytes())
        except OSError as exc:  # ENOSPC, EIO: the recording stops here, the call goes on
            self.failed = exc
            log.error(
                "recording.spool_failed", error=str(exc), errno=exc.errno, seconds_written=until * SLOT_S
            )
            self._close_spool()
