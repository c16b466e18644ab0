"""The call and rate limits shared by `taina serve`'s worker processes, exercised from real processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from taina.http.machine_calls import MachineCalls, MachineRateLimiter, MachineRates


def _take_many(calls: MachineCalls, address: str, tries: int, start: Any, results: Any, slot: int) -> None:
    start.wait(10)
    taken = 0
    for _ in range(tries):
        if calls.take(address, capacity=12, per_address=100) is None:
            taken += 1
    results[slot] = taken


def _offer_many(rates: MachineRates, tries: int, start: Any, results: Any, slot: int) -> None:
    limiter = MachineRateLimiter(rates, "offers", limit=5)
    start.wait(10)
    allowed = 0
    for _ in range(tries):
        if limiter.retry_after("203.0.113.9") == 0:
            limiter.hit("203.0.113.9")
            allowed += 1
    results[slot] = allowed


def test_two_processes_never_hold_more_calls_than_the_machine_takes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    calls = MachineCalls(2, tmp_path / "lock", context)
    start, results = context.Event(), context.Array("i", 2)
    workers = [
        context.Process(target=_take_many, args=(calls.for_worker(i), f"10.0.0.{i}", 10, start, results, i))
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert sum(results) == 12  # 20 tries against a machine capacity of 12
    here = calls.for_worker(0)
    assert here.held() == 12
    assert here.take("10.0.0.9", capacity=12, per_address=5) == "capacity"
    calls.clear(1)  # worker 1 died: its calls are gone
    assert here.held() == results[0]


def test_the_per_address_limit_counts_every_worker(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    calls = MachineCalls(2, tmp_path / "lock", context)
    first, second = calls.for_worker(0), calls.for_worker(1)
    assert first.take("198.51.100.7", capacity=50, per_address=2) is None
    assert second.take("198.51.100.7", capacity=50, per_address=2) is None
    assert first.take("198.51.100.7", capacity=50, per_address=2) == "per_address"
    assert second.take("198.51.100.8", capacity=50, per_address=2) is None  # another address may
    second.give_back("198.51.100.7")
    assert first.take("198.51.100.7", capacity=50, per_address=2) is None
    assert first.held() == 3


def test_an_address_rate_is_counted_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    rates = MachineRates(tmp_path / "lock", context)
    start, results = context.Event(), context.Array("i", 2)
    workers = [context.Process(target=_offer_many, args=(rates, 8, start, results, i)) for i in range(2)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    # Racing processes may each pass the check before the other's hit: at most one extra per process.
    assert 5 <= sum(results) <= 6, list(results)
    here = MachineRateLimiter(rates, "offers", limit=5)
    assert here.retry_after("203.0.113.9") > 0
    assert here.retry_after("203.0.113.10") == 0  # another address is not limited


def test_the_window_slides(tmp_path: Path) -> None:
    rates = MachineRates(tmp_path / "lock", multiprocessing.get_context("spawn"))
    now = 1000.0
    for _ in range(4):
        rates.hit("t", "a", 60.0, now)
    assert rates.retry_after("t", "a", 4, 60.0, now) > 0
    assert rates.retry_after("t", "a", 4, 60.0, now + 59) > 0  # still this window
    # One window later, the previous window's 4 weigh 4 * (1 - 30/60) = 2 halfway through the next.
    assert rates.retry_after("t", "a", 4, 60.0, now + 90) == 0
    assert rates.retry_after("t", "a", 2, 60.0, now + 80) > 0  # 4 * 40/60 = 2.7 over 2
    assert rates.retry_after("t", "a", 4, 60.0, now + 200) == 0


def test_one_worker_per_core_within_the_cgroup_quota(tmp_path: Path) -> None:
    import os

    from taina.workers import worker_count

    cores = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")
    assert worker_count(0, cpu_max) == cores
    cpu_max.write_text("150000 100000\n")  # 1.5 CPUs: 2 workers, if the machine has them
    assert worker_count(0, cpu_max) == min(cores, 2)
    cpu_max.write_text("50000 100000\n")
    assert worker_count(0, cpu_max) == 1
    assert worker_count(0, tmp_path / "absent") == cores
    assert worker_count(3, cpu_max) == 3  # a number set is taken as it is
