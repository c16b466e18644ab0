"""The calls in progress on this machine, counted by every worker process of `taina serve` in one table of shared
memory, so the limits per machine (TAINA_WEBRTC_MAX_SESSIONS) and per address hold across the workers.

Each worker writes only its own row: the calls it holds, and how many of them come from each address (kept as a
stable 64-bit hash of the address). A check sums every row under a file lock (flock: the kernel lets go of it if
its holder is killed mid-check, where a semaphore would stay taken). When a worker dies, the supervisor clears
its row: its calls ended with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from taina.auth import RateLimiter

ADDRESSES_PER_WORKER = 4096  # distinct caller addresses one worker can hold calls from at once


def address_key(address: str) -> int:
    """A stable, non-zero 64-bit key (Python's hash() differs from process to process)."""
    key = int.from_bytes(hashlib.blake2b(address.encode(), digest_size=8).digest(), "little", signed=True)
    return key or 1


class MachineCalls:
    """Made by the supervisor before the workers start and handed to each (``for_worker``)."""

    def __init__(self, workers: int, lock_path: Path, context: Any) -> None:
        self.workers = workers
        self.worker = -1  # which row is ours; -1 in the supervisor
        self._lock_path = lock_path
        self._width = 1 + 2 * ADDRESSES_PER_WORKER  # [calls, keys..., counts...]
        self._shared: Any = context.RawArray("q", workers * self._width)
        self._fd = -1
        lock_path.touch(mode=0o600, exist_ok=True)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fd"] = -1  # each process opens the lock file itself
        return state

    def for_worker(self, index: int) -> MachineCalls:
        if not 0 <= index < self.workers:
            raise ValueError(f"no worker {index} among {self.workers}")
        mine = MachineCalls.__new__(MachineCalls)
        mine.__dict__.update(self.__getstate__())
        mine.worker = index
        return mine

    def _rows(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.frombuffer(self._shared, dtype=np.int64).reshape(self.workers, self._width)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[np.ndarray[Any, np.dtype[np.int64]]]:
        if self._fd < 0:
            self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CLOEXEC)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield self._rows()
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def take(self, address: str, capacity: int, per_address: int) -> str | None:
        """One call from ``address`` counted in our row, or why not: "capacity" (the machine holds
        ``capacity`` calls) or "per_address" (the address holds ``per_address``)."""
        key = address_key(address)
        n = ADDRESSES_PER_WORKER
        with self._locked() as rows:
            if int(rows[:, 0].sum()) >= capacity:
                return "capacity"
            keys, counts = rows[:, 1 : 1 + n], rows[:, 1 + n :]
            if int(counts[keys == key].sum()) >= per_address:
                return "per_address"
            row = rows[self.worker]
            mine = np.flatnonzero((row[1 : 1 + n] == key) & (row[1 + n :] > 0))
            if mine.size == 0:
                free = np.flatnonzero(row[1 + n :] == 0)
                if free.size == 0:
                    return "capacity"
                mine = free
                row[1 + mine[0]] = key
            row[1 + n + mine[0]] += 1
            row[0] += 1
        return None

    def give_back(self, address: str) -> None:
        key = address_key(address)
        n = ADDRESSES_PER_WORKER
        with self._locked() as rows:
            row = rows[self.worker]
            mine = np.flatnonzero((row[1 : 1 + n] == key) & (row[1 + n :] > 0))
            if mine.size:
                row[1 + n + mine[0]] -= 1
                row[0] -= 1

    def held(self) -> int:
        """Calls in progress on the machine, every worker's."""
        with self._locked() as rows:
            return int(rows[:, 0].sum())

    def clear(self, index: int) -> None:
        """Worker ``index`` is gone, and its calls with it."""
        with self._locked() as rows:
            rows[index] = 0


RATE_KEYS = 8192  # distinct (limit, address) keys the shared rate limiters follow at once
_PROBES = 32


class MachineRates:
    """Events per key in a sliding minute, counted by every worker (the offers and LiveKit tokens an address
    may ask for): a sliding-window counter per key (this window's count, plus the last window's weighted by
    how much of it still overlaps), in shared memory under the same file lock as the calls. A key that finds
    no free place takes the stalest one's."""

    def __init__(self, lock_path: Path, context: Any) -> None:
        self._lock_path = lock_path
        self._shared: Any = context.RawArray("d", RATE_KEYS * 4)  # [key, window start, previous, current]
        self._fd = -1
        lock_path.touch(mode=0o600, exist_ok=True)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fd"] = -1
        return state

    @contextlib.contextmanager
    def _locked(self) -> Iterator[np.ndarray[Any, np.dtype[np.float64]]]:
        if self._fd < 0:
            self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CLOEXEC)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield np.frombuffer(self._shared, dtype=np.float64).reshape(RATE_KEYS, 4)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @staticmethod
    def _code(name: str, key: str) -> float:
        return float(address_key(f"{name}\0{key}") >> 11) or 1.0  # 53 bits: exact in a double; 0: free

    @staticmethod
    def _row(rows: np.ndarray[Any, np.dtype[np.float64]], key: float, now: float, window: float) -> int:
        start = int(key) % RATE_KEYS
        probe = [(start + i) % RATE_KEYS for i in range(_PROBES)]
        for index in probe:
            if rows[index, 0] == key:
                return index
        stalest = min(probe, key=lambda i: rows[i, 1] if rows[i, 0] else -np.inf)
        rows[stalest] = (key, now, 0.0, 0.0)
        return stalest

    @staticmethod
    def _roll(row: np.ndarray[Any, np.dtype[np.float64]], now: float, window: float) -> None:
        passed = int((now - row[1]) // window)
        if passed >= 1:
            row[2] = row[3] if passed == 1 else 0.0
            row[3] = 0.0
            row[1] += passed * window

    def retry_after(self, name: str, key: str, limit: int, window: float, now: float) -> float:
        code = self._code(name, key)
        with self._locked() as rows:
            index = self._row(rows, code, now, window)
            row = rows[index]
            self._roll(row, now, window)
            elapsed, previous, current = now - float(row[1]), float(row[2]), float(row[3])
            if previous * (1 - elapsed / window) + current < limit:
                return 0.0
            if current < limit and previous > 0:  # the last window's weight fades enough within this one
                return max(0.001, window * (1 - (limit - current) / previous) - elapsed)
            # After this window ends it is the previous one: wait until enough of it has slid past.
            return (window - elapsed) + window * max(0.0, 1 - limit / current)

    def hit(self, name: str, key: str, window: float, now: float) -> None:
        code = self._code(name, key)
        with self._locked() as rows:
            row = rows[self._row(rows, code, now, window)]
            self._roll(row, now, window)
            row[3] += 1


class MachineRateLimiter(RateLimiter):
    """taina.auth.RateLimiter (``retry_after``, ``hit``) over MachineRates, for one named limit."""

    def __init__(self, rates: MachineRates, name: str, limit: int, window_s: float = 60.0) -> None:
        # CLOCK_MONOTONIC: one clock for every process on the machine.
        super().__init__(limit, window_s, time.monotonic)
        self._rates, self._name = rates, name

    def retry_after(self, key: str) -> float:
        return self._rates.retry_after(self._name, key, self._limit, self._window, self._clock())

    def hit(self, key: str) -> None:
        self._rates.hit(self._name, key, self._window, self._clock())
