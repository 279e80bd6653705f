"""Cooperator: fair round-robin within a time slice, pause/resume/stop, awaiting tasks.

Ticks are driven by hand (an injected scheduler) and the slice is measured on an
injected clock that the test iterators advance, so nothing depends on real time.
"""
from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any

import pytest

from plait.epsilon.cooperator import (
    CooperativeTask,
    Cooperator,
    SchedulerStopped,
    TaskDone,
    TaskFailed,
    TaskFinished,
    TaskNotPaused,
    TaskState,
    TaskStopped,
    cooperate,
    default_cooperator,
)


class FakeClock:
    """A clock that only moves when a test step says so."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> float:
        return self.now


class Handle:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """Collects the cooperator's tick requests; ``tick()`` runs the pending one."""

    def __init__(self) -> None:
        self.pending: list[Handle] = []

    def __call__(self, callback: Callable[[], None]) -> Handle:
        handle = Handle(callback)
        self.pending.append(handle)
        return handle

    def tick(self) -> None:
        live = [h for h in self.pending if not h.cancelled]
        assert len(live) == 1, f"expected one pending tick, found {len(live)}"
        self.pending.clear()
        live[0].callback()

    @property
    def has_tick(self) -> bool:
        return any(not h.cancelled for h in self.pending)


def make(time_slice: float = 10) -> tuple[Cooperator, FakeClock, ManualScheduler]:
    clock, scheduler = FakeClock(), ManualScheduler()
    return Cooperator(time_slice=time_slice, clock=clock, scheduler=scheduler), clock, scheduler


def worker(name: str, steps: int, log: list[str], clock: FakeClock | None = None,
           cost: int = 0) -> Iterator[None]:
    for i in range(steps):
        log.append(f"{name}{i}")
        if clock is not None:
            clock.now += cost
        yield None
    return None


async def settle() -> None:
    """Let callbacks (future completions, background closes) run."""
    for _ in range(5):
        await asyncio.sleep(0)


# -- fairness and the time slice -----------------------------------------------------------

async def test_steps_are_round_robin_and_bounded_by_the_slice() -> None:
    coop, clock, scheduler = make(time_slice=10)
    log: list[str] = []
    a = coop.cooperate(worker("a", 4, log, clock, cost=4))
    b = coop.cooperate(worker("b", 4, log, clock, cost=4))
    scheduler.tick()  # 4 + 4 + 4 = 12 >= 10: three steps
    assert log == ["a0", "b0", "a1"]
    scheduler.tick()  # round robin resumes where it left off
    assert log == ["a0", "b0", "a1", "b1", "a2", "b2"]
    scheduler.tick()  # a3, b3 (8 < 10), then both are exhausted within the same slice
    assert log == ["a0", "b0", "a1", "b1", "a2", "b2", "a3", "b3"]
    assert a.state is TaskState.DONE and b.state is TaskState.DONE
    assert not scheduler.has_tick
    assert await a is None


async def test_at_least_one_step_per_tick_even_when_a_step_overruns() -> None:
    coop, clock, scheduler = make(time_slice=10)
    log: list[str] = []
    coop.cooperate(worker("a", 3, log, clock, cost=100))
    coop.cooperate(worker("b", 3, log, clock, cost=100))
    scheduler.tick()
    assert log == ["a0"]
    scheduler.tick()
    assert log == ["a0", "b0"]


async def test_a_cheap_task_runs_many_steps_in_one_slice() -> None:
    coop, clock, scheduler = make(time_slice=10)
    log: list[str] = []
    task = coop.cooperate(worker("a", 9, log, clock, cost=1))
    scheduler.tick()
    assert len(log) == 9  # 9 steps, then exhaustion ends the task within the same slice
    assert task.done() and not scheduler.has_tick


async def test_loop_stays_responsive_with_the_default_scheduler() -> None:
    clock = FakeClock()
    coop = Cooperator(time_slice=10, clock=clock)
    log: list[str] = []
    task = coop.cooperate(worker("a", 5, log, clock, cost=10))  # one step per tick
    await asyncio.sleep(0)
    assert 1 <= len(log) < 5  # the loop got control back before the job finished
    await task
    assert len(log) == 5


async def test_many_tasks_all_finish() -> None:
    coop = Cooperator()
    results = await asyncio.gather(*(coop.cooperate(iter(range(i))) for i in range(50)))
    assert results == [None] * 50
    assert not coop.tasks


# -- awaiting ------------------------------------------------------------------------------

async def test_await_returns_the_generator_return_value() -> None:
    def job() -> Generator[Any, Any, Any]:
        yield None
        return 42

    coop = Cooperator()
    assert await coop.cooperate(job()) == 42
    task = coop.cooperate([1, 2, 3])  # an iterable is accepted too
    assert await task is None
    assert await task is None  # awaiting again gives the same outcome
    assert task.state is TaskState.DONE


async def test_iterator_exception_is_raised_by_await() -> None:
    def job() -> Generator[Any, Any, Any]:
        yield None
        raise KeyError("boom")

    coop = Cooperator()
    task = coop.cooperate(job())
    with pytest.raises(KeyError, match="boom"):
        await task
    assert task.state is TaskState.FAILED
    for operation in (task.pause, task.resume, task.stop):
        with pytest.raises(TaskFailed):
            operation()


async def test_when_done_futures_are_independent() -> None:
    coop, _, scheduler = make()
    task = coop.cooperate(iter([1, 2]))
    first, second = task.when_done(), task.when_done()
    first.cancel()  # cancelling one waiter neither stops the task nor the other waiter
    scheduler.tick()
    await settle()
    assert task.state is TaskState.DONE
    assert second.done() and second.result() is None


async def test_unawaited_failure_is_reported_to_the_loop() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        def job() -> Generator[Any, Any, Any]:
            raise ValueError("nobody listens")
            yield None

        coop = Cooperator()
        task = coop.cooperate(job())
        await settle()
        assert task.state is TaskState.FAILED
        del task
        gc.collect()
        assert len(reported) == 1
        assert isinstance(reported[0]["exception"], ValueError)
    finally:
        loop.set_exception_handler(None)


# -- pause, resume, stop -------------------------------------------------------------------

async def test_pauses_nest() -> None:
    coop, _, scheduler = make()
    log: list[str] = []
    task = coop.cooperate(worker("a", 3, log))
    task.pause()
    task.pause()
    assert task.state is TaskState.PAUSED
    scheduler.tick()
    assert log == []
    task.resume()
    assert task.state is TaskState.PAUSED
    assert not scheduler.has_tick
    task.resume()
    assert task.state is TaskState.RUNNING
    scheduler.tick()
    assert log == ["a0", "a1", "a2"]
    with pytest.raises(TaskNotPaused):
        coop.cooperate(iter(())).resume()


async def test_pausing_one_task_leaves_others_running() -> None:
    coop, clock, scheduler = make(time_slice=10)
    log: list[str] = []
    a = coop.cooperate(worker("a", 3, log, clock, cost=5))
    coop.cooperate(worker("b", 3, log, clock, cost=5))
    a.pause()
    scheduler.tick()
    assert log == ["b0", "b1"]
    a.resume()
    scheduler.tick()
    assert log == ["b0", "b1", "b2", "a0"]


async def test_operations_on_a_done_task_raise_task_done() -> None:
    coop, _, scheduler = make()
    task = coop.cooperate(iter([1]))
    scheduler.tick()
    assert task.state is TaskState.DONE
    for operation in (task.pause, task.resume, task.stop):
        with pytest.raises(TaskDone):
            operation()
    assert issubclass(TaskDone, TaskFinished)


async def test_stop_closes_the_generator_and_await_raises_task_stopped() -> None:
    closed: list[bool] = []
    coop, clock, scheduler = make()

    def job() -> Generator[Any, Any, Any]:
        try:
            while True:
                clock.now += 5
                yield None
        finally:
            closed.append(True)

    task = coop.cooperate(job())
    scheduler.tick()
    task.stop()
    assert closed == [True]
    assert task.state is TaskState.STOPPED
    with pytest.raises(TaskStopped):
        await task
    for operation in (task.pause, task.resume, task.stop):
        with pytest.raises(TaskStopped):
            operation()
    scheduler.tick()  # a stale tick finds nothing to run
    assert not coop.tasks


async def test_a_task_may_stop_itself() -> None:
    coop, _, scheduler = make()
    holder: list[CooperativeTask] = []
    closed: list[bool] = []

    def job() -> Generator[Any, Any, Any]:
        try:
            yield None
            holder[0].stop()
            yield None
            raise AssertionError("ran after stopping")
        finally:
            closed.append(True)

    holder.append(coop.cooperate(job()))
    scheduler.tick()
    assert holder[0].state is TaskState.STOPPED
    assert closed == [True]


async def test_cooperator_stop_stops_every_task_and_refuses_new_ones() -> None:
    coop, _, scheduler = make()
    tasks = [coop.cooperate(iter(range(10))) for _ in range(3)]
    coop.stop()
    assert not coop.running
    assert not scheduler.has_tick
    for task in tasks:
        assert task.state is TaskState.STOPPED
        with pytest.raises(SchedulerStopped):
            await task
        with pytest.raises(SchedulerStopped):
            task.pause()
    late = coop.cooperate(iter(range(10)))
    assert late.state is TaskState.STOPPED
    with pytest.raises(TaskStopped):  # SchedulerStopped is a TaskStopped
        await late


async def test_not_an_iterator_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not an iterator"):
        Cooperator().cooperate(42)  # type: ignore[arg-type]


# -- yielding awaitables -------------------------------------------------------------------

async def test_yielded_future_pauses_only_that_task_and_sends_the_result_back() -> None:
    coop, _, scheduler = make()
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    received: list[int] = []
    log: list[str] = []

    def waiter() -> Generator[Any, Any, Any]:
        received.append((yield future))
        return "done"

    task = coop.cooperate(waiter())
    coop.cooperate(worker("b", 3, log))
    scheduler.tick()
    assert log == ["b0", "b1", "b2"]  # the other task ran while this one waited
    assert task.state is TaskState.RUNNING and received == []
    future.set_result(7)
    await settle()
    scheduler.tick()
    assert received == [7]
    assert await task == "done"


async def test_yielded_failure_is_thrown_into_the_generator() -> None:
    coop = Cooperator()
    loop = asyncio.get_running_loop()

    def handles() -> Generator[Any, Any, Any]:
        failing: asyncio.Future[None] = loop.create_future()
        loop.call_soon(failing.set_exception, OSError("disk"))
        try:
            yield failing
        except OSError as error:
            return f"handled {error}"
        return "not reached"

    assert await coop.cooperate(handles()) == "handled disk"

    def lets_it_fly() -> Generator[Any, Any, Any]:
        yield asyncio.sleep(0)
        yield loop.run_in_executor(None, int, "not a number")

    with pytest.raises(ValueError, match="not a number"):
        await coop.cooperate(lets_it_fly())


async def test_plain_iterator_yielding_a_failure_fails_the_task() -> None:
    loop = asyncio.get_running_loop()
    failing: asyncio.Future[None] = loop.create_future()
    failing.set_exception(OSError("gone"))
    task = Cooperator().cooperate(iter([failing, None]))
    with pytest.raises(OSError, match="gone"):
        await task
    assert task.state is TaskState.FAILED


async def test_yielded_coroutine_runs_and_its_value_comes_back() -> None:
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    def job() -> Generator[Any, Any, Any]:
        total = 0
        for n in range(3):
            total += yield fetch(n)
        return total

    assert await cooperate(job()) == 6


async def test_pause_while_waiting_stays_paused_after_the_wait() -> None:
    coop, _, scheduler = make()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    log: list[str] = []

    def job() -> Generator[Any, Any, Any]:
        yield future
        log.append("after")

    task = coop.cooperate(job())
    scheduler.tick()
    task.pause()
    future.set_result(None)
    await settle()
    assert not scheduler.has_tick and log == []
    task.resume()
    scheduler.tick()
    assert log == ["after"]


async def test_stop_while_waiting_cancels_a_coroutine_it_owns() -> None:
    cancelled: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    def job() -> Generator[Any, Any, Any]:
        yield slow()

    task = Cooperator().cooperate(job())
    await settle()
    task.stop()
    await settle()
    assert cancelled == [True]
    assert task.state is TaskState.STOPPED


# -- async iterators -----------------------------------------------------------------------

async def test_async_iterator_steps_interleave_with_sync_tasks() -> None:
    log: list[str] = []

    async def ticker(n: int) -> AsyncIterator[int]:
        for i in range(n):
            log.append(f"async{i}")
            yield i

    coop = Cooperator()
    a = coop.cooperate(ticker(3))
    b = coop.cooperate(worker("s", 3, log))
    await asyncio.gather(a, b)
    assert sorted(log) == ["async0", "async1", "async2", "s0", "s1", "s2"]
    assert a.state is TaskState.DONE


async def test_async_iterator_is_paused_between_steps() -> None:
    coop, _, scheduler = make()
    log: list[str] = []

    async def ticker() -> AsyncIterator[int]:
        for i in range(3):
            log.append(f"a{i}")
            yield i

    task = coop.cooperate(ticker())
    scheduler.tick()  # starts one __anext__
    await settle()
    assert log == ["a0"]
    task.pause()
    scheduler.tick()  # queued when its step finished, but now paused: no step
    await settle()
    assert log == ["a0"] and not scheduler.has_tick
    task.resume()
    scheduler.tick()
    await settle()
    assert log == ["a0", "a1"]


async def test_async_iterator_exception_is_raised_by_await() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("async boom")

    task = Cooperator().cooperate(broken())
    with pytest.raises(RuntimeError, match="async boom"):
        await task
    assert task.state is TaskState.FAILED


async def test_stopping_an_async_generator_closes_it() -> None:
    closed: list[bool] = []

    async def forever() -> AsyncIterator[int]:
        try:
            while True:
                await asyncio.sleep(0)
                yield 1
        finally:
            closed.append(True)

    task = Cooperator().cooperate(forever())
    await settle()
    task.stop()
    await settle()
    assert closed == [True]
    with pytest.raises(TaskStopped):
        await task


async def test_async_iterable_is_accepted() -> None:
    class Numbers:
        def __aiter__(self) -> AsyncIterator[int]:
            return self._gen()

        async def _gen(self) -> AsyncIterator[int]:
            yield 1
            yield 2

    assert await Cooperator().cooperate(Numbers()) is None


# -- the default cooperator ----------------------------------------------------------------

async def test_default_cooperator_is_per_loop_and_replaced_when_stopped() -> None:
    first = default_cooperator()
    assert default_cooperator() is first
    task = cooperate(iter(range(3)))
    assert task in first.tasks
    await task
    first.stop()
    second = default_cooperator()
    assert second is not first and second.running
    assert await cooperate(iter([1])) is None


def test_default_cooperators_differ_between_loops() -> None:
    async def get() -> Cooperator:
        return default_cooperator()

    one, two = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert one.run_until_complete(get()) is not two.run_until_complete(get())
    finally:
        one.close()
        two.close()


def test_negative_time_slice_is_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        Cooperator(time_slice=-1)
