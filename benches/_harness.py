"""Shared plumbing for the side-by-side benchmarks.

* Sizes: every network benchmark runs a fixed batch per round; ``PLAIT_BENCH_QUICK=1`` (set by
  ``benches/run.py --quick``) shrinks batches and rounds to a smoke run.
* ``TwistedDriver``: drives Twisted's default reactor (epoll) by hand inside this process,
  the same way ``ReactorBase.mainLoop`` does (``runUntilCurrent()`` then
  ``doIteration(timeout())``), until a Deferred fires or a deadline passes.
* ``record``: tags a benchmark with its implementation and the unit of work per round, which
  ``benches/run.py`` turns into ops/s or MB/s and ratios.
"""
from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

QUICK = os.environ.get("PLAIT_BENCH_QUICK", "") not in ("", "0")

# Hard bound on one batch (one benchmark round), wall clock.
BATCH_TIMEOUT = 30.0
HOST = "127.0.0.1"


def size(full: int, quick: int) -> int:
    """``full`` normally, ``quick`` under ``--quick``."""
    return quick if QUICK else full


def record(benchmark: Any, impl: str, *, per_round: int = 1, unit: str = "ops",
           nbytes_per_round: int = 0) -> None:
    """Tell run.py what one round (or one iteration, for micro benchmarks) did."""
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["per_round"] = per_round
    benchmark.extra_info["unit"] = unit
    if nbytes_per_round:
        benchmark.extra_info["bytes_per_round"] = nbytes_per_round


def pedantic(benchmark: Any, fn: Callable[[], Any], rounds: int) -> Any:
    """A network batch: fixed rounds, one iteration each, one warm-up round."""
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


class Turns:
    """Batches of several implementations run in turns, each timed alone by process CPU time.

    On a machine whose speed drifts (a shared VM), implementations measured one after the
    other see different machines; taking turns, with the order rotating each round, they
    see the same one.  ``samples`` maps each implementation to its seconds per batch.
    """

    def __init__(self, batches: dict[str, Callable[[], Any]]) -> None:
        self.batches = batches
        self.samples: dict[str, list[float]] = {impl: [] for impl in batches}
        self._order = list(batches)

    def warm_up(self) -> None:
        for batch in self.batches.values():
            batch()

    def round(self) -> None:
        """One batch of every implementation."""
        for impl in self._order:
            start = time.process_time()
            self.batches[impl]()
            self.samples[impl].append(time.process_time() - start)
        self._order.append(self._order.pop(0))


def interleaved(benchmark: Any, batches: dict[str, Callable[[], Any]], *, rounds: int,
                per_round: int, unit: str, nbytes_per_round: int = 0) -> None:
    """A pytest-benchmark group measured in :class:`Turns`.

    The samples go to ``extra_info["samples"]`` (impl -> seconds per batch), which
    ``run.py`` reads as one benchmark per implementation.
    """
    turns = Turns(batches)
    turns.warm_up()
    benchmark.pedantic(turns.round, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(samples=turns.samples, per_round=per_round, unit=unit)
    if nbytes_per_round:
        benchmark.extra_info["bytes_per_round"] = nbytes_per_round


# ---------------------------------------------------------------- asyncio (uvloop) side


def run_batch(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[T]]) -> T:
    """Run one batch coroutine on the persistent loop, bounded in time."""
    return loop.run_until_complete(asyncio.wait_for(make(), BATCH_TIMEOUT))


# ---------------------------------------------------------------- Twisted side


class TwistedDriver:
    """Drive Twisted's global default reactor manually, in this thread."""

    def __init__(self) -> None:
        from twisted.internet import reactor

        self.reactor: Any = reactor
        if not reactor._started:
            reactor.startRunning(installSignalHandlers=False)
        # Let the startup triggers settle.
        self.spin(0.0)

    def spin(self, seconds: float) -> None:
        """Run the reactor for about ``seconds`` (at least one iteration)."""
        r = self.reactor
        deadline = time.monotonic() + seconds
        while True:
            r.runUntilCurrent()
            r.doIteration(0)
            if time.monotonic() >= deadline:
                return

    def run(self, d: Any, timeout: float = BATCH_TIMEOUT) -> Any:
        """Iterate the reactor as ``mainLoop`` does until Deferred ``d`` fires; its result."""
        from twisted.python.failure import Failure

        fired: list[Any] = []
        d.addBoth(fired.append)
        r = self.reactor
        deadline = time.monotonic() + timeout
        while not fired:
            r.runUntilCurrent()
            t = r.timeout()
            r.doIteration(0.01 if t is None or t > 0.01 else t)
            if time.monotonic() > deadline:
                raise TimeoutError(f"Twisted batch did not finish within {timeout}s")
        result = fired[0]
        if isinstance(result, Failure):
            result.raiseException()
        return result


_driver: TwistedDriver | None = None


def twisted_driver() -> TwistedDriver:
    global _driver
    if _driver is None:
        _driver = TwistedDriver()
    return _driver
