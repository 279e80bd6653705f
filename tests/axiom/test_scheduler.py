"""The scheduler: persistent timed events fired on the loop, with an injected clock."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from plait.axiom.attributes import boolean, integer, text
from plait.axiom.item import Item
from plait.axiom.powerup import powerup_for
from plait.axiom.scheduler import IScheduler, Scheduler, TimedEvent, scheduler_for
from plait.axiom.service import StoreService
from plait.axiom.store import Store
from plait.axiom.substore import SubStore
from plait.epsilon.extime import Time

WAIT = 5.0
T0 = Time.from_iso8601_time_and_date("2005-10-01T12:00:00Z")

#: names of runnables in the order they ran (reset by each test that reads it)
ran: list[str] = []


class FakeClock:
    def __init__(self, now: Time = T0) -> None:
        self.now = now

    def __call__(self) -> Time:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now = self.now + timedelta(seconds=seconds)


class Job(Item):
    type_name = "test_sched_job"
    name = text(default="job")
    runs = integer(default=0)
    every = integer(default=0, doc="seconds until the next run; 0: run once")
    fail = boolean(default=False)

    def run(self) -> Time | None:
        self.runs += 1
        ran.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        if self.every:
            return self.store_clock() + timedelta(seconds=self.every)
        return None

    def store_clock(self) -> Time:
        return clock_of.get(self.store_id, FakeClock())()


#: the clock each Job reads when rescheduling itself (store id -> clock)
clock_of: dict[int, FakeClock] = {}


class AsyncJob(Item):
    type_name = "test_sched_async_job"
    runs = integer(default=0)
    again = boolean(default=False)

    async def run(self) -> Time | None:
        await asyncio.sleep(0)
        self.runs += 1
        return T0 + timedelta(hours=1) if self.again else None


class NotRunnable(Item):
    type_name = "test_sched_not_runnable"
    x = integer(default=0)


async def eventually(predicate: Callable[[], bool], timeout: float = WAIT) -> None:
    """Wait (bounded) until ``predicate()`` holds, yielding to the loop in between."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)


def at(seconds: float) -> Time:
    return T0 + timedelta(seconds=seconds)


# ----------------------------------------------------------------- the schedule


def test_scheduler_for_installs_one_scheduler_powerup(tmp_path: Path) -> None:
    s = Store(tmp_path / "site")
    sched = scheduler_for(s)
    assert isinstance(sched, Scheduler)
    assert scheduler_for(s) is sched
    assert powerup_for(s, IScheduler) is sched
    sched_id = sched.store_id
    s.close()
    s = Store(tmp_path / "site")
    try:
        assert scheduler_for(s).store_id == sched_id
        assert s.query(Scheduler).count() == 1
    finally:
        s.close()


def test_schedule_and_inspect() -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s)
    sched.schedule(job, at(30))
    sched.schedule(job, at(10))
    sched.schedule(job, at(20))
    assert sched.scheduled_times(job) == [at(10), at(20), at(30)]
    sched.reschedule(job, at(20), at(40))
    assert sched.scheduled_times(job) == [at(10), at(30), at(40)]
    sched.unschedule(job)  # the earliest
    assert sched.scheduled_times(job) == [at(30), at(40)]
    sched.unschedule(job, at(40))
    assert sched.scheduled_times(job) == [at(30)]
    assert sched.unschedule_all(job) == 1
    assert sched.scheduled_times(job) == []
    assert s.query(TimedEvent).count() == 0


def test_schedule_errors() -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s)
    with pytest.raises(ValueError, match="not scheduled"):
        sched.reschedule(job, at(1), at(2))
    with pytest.raises(ValueError, match="not scheduled"):
        sched.unschedule(job)
    with pytest.raises(TypeError, match="Time"):
        sched.schedule(job, 12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="run"):
        sched.schedule(NotRunnable(store=s), at(1))
    with pytest.raises(ValueError, match="store"):
        sched.schedule(Job(store=Store()), at(1))


def test_deleting_the_runnable_deletes_its_events() -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s)
    sched.schedule(job, at(1))
    sched.schedule(job, at(2))
    job.delete_from_store()
    assert s.query(TimedEvent).count() == 0


# ----------------------------------------------------------------- running events


def test_run_due_runs_due_events_in_time_order() -> None:
    s = Store()
    sched = scheduler_for(s)
    a, b, c = Job(store=s, name="a"), Job(store=s, name="b"), Job(store=s, name="c")
    sched.schedule(b, at(20))
    sched.schedule(a, at(10))
    sched.schedule(c, at(99))
    ran.clear()
    assert sched.run_due(at(50)) == 2
    assert ran == ["a", "b"]
    assert (a.runs, b.runs, c.runs) == (1, 1, 0)
    assert sched.scheduled_times(c) == [at(99)]
    assert sched.scheduled_times(a) == []


def test_run_returning_a_time_reschedules() -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s, every=60)
    clock_of[job.store_id] = FakeClock(at(10))
    sched.schedule(job, at(10))
    assert sched.run_due(at(10)) == 1
    assert sched.scheduled_times(job) == [at(70)]


def test_a_failing_run_is_logged_rolled_back_and_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    s = Store()
    sched = scheduler_for(s)
    bad = Job(store=s, name="bad", fail=True, every=60)
    good = Job(store=s, name="good")
    sched.schedule(bad, at(1))
    sched.schedule(good, at(2))
    with caplog.at_level(logging.ERROR, logger="plait.axiom.scheduler"):
        assert sched.run_due(at(5)) == 2
    assert "failed" in caplog.text and "bad failed" in caplog.text
    assert bad.runs == 0  # its change was rolled back with the failure
    assert good.runs == 1
    assert sched.scheduled_times(bad) == []


async def test_events_fire_on_the_loop_with_an_injected_clock(loop_kind: str) -> None:
    s = Store()
    clock = FakeClock()
    sched = scheduler_for(s)
    due, later = Job(store=s, name="due"), Job(store=s, name="later")
    sched.schedule(due, at(-5))
    sched.schedule(later, at(3600))
    await sched.start(clock)
    try:
        assert sched.running
        await eventually(lambda: due.runs == 1)
        assert later.runs == 0
        clock.advance(3600)
        sched.wake()  # the clock moved: re-arm now instead of waiting
        await eventually(lambda: later.runs == 1)
        # scheduling while running arms the timer for the new earliest event
        sched.schedule(due, at(3000))
        await eventually(lambda: due.runs == 2)
    finally:
        await sched.stop()
    assert not sched.running
    assert s.query(TimedEvent).count() == 0


async def test_repeating_event_while_running(loop_kind: str) -> None:
    s = Store()
    clock = FakeClock()
    sched = scheduler_for(s)
    job = Job(store=s, every=10)
    clock_of[job.store_id] = clock
    sched.schedule(job, at(0))
    await sched.start(clock)
    try:
        await eventually(lambda: job.runs == 1)
        assert sched.scheduled_times(job) == [at(10)]
        clock.advance(10)
        sched.wake()
        await eventually(lambda: job.runs == 2)
        assert sched.scheduled_times(job) == [at(20)]
    finally:
        await sched.stop()


async def test_real_clock_fires_a_near_event(loop_kind: str) -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s)
    await sched.start()
    try:
        sched.schedule(job, Time() + timedelta(milliseconds=5))
        await eventually(lambda: job.runs == 1)
    finally:
        await sched.stop()


async def test_async_run_and_its_next_time(loop_kind: str) -> None:
    s = Store()
    sched = scheduler_for(s)
    job = AsyncJob(store=s, again=True)
    sched.schedule(job, at(0))
    await sched.start(FakeClock())
    try:
        await eventually(lambda: job.runs == 1)
        await eventually(lambda: sched.scheduled_times(job) == [at(3600)])
    finally:
        await sched.stop()


async def test_no_events_fire_after_stop(loop_kind: str) -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s)
    await sched.start(FakeClock())
    await sched.stop()
    await sched.stop()  # idempotent
    sched.schedule(job, at(-1))
    for _ in range(5):
        await asyncio.sleep(0)
    assert job.runs == 0
    assert sched.scheduled_times(job) == [at(-1)]


async def test_starting_twice_is_an_error(loop_kind: str) -> None:
    s = Store()
    sched = scheduler_for(s)
    await sched.start(FakeClock())
    try:
        with pytest.raises(RuntimeError, match="already running"):
            await sched.start(FakeClock())
    finally:
        await sched.stop()


async def test_missed_events_fire_on_the_next_start(tmp_path: Path, loop_kind: str) -> None:
    s = Store(tmp_path / "site")
    job = Job(store=s, name="missed")
    job_id = job.store_id
    scheduler_for(s).schedule(job, at(60))
    service = StoreService(s, clock=FakeClock(at(0)))
    await service.start()
    await asyncio.sleep(0)
    await service.stop()
    assert job.runs == 0
    s.close()
    del job

    # "the server was down" past the event's time
    s = Store(tmp_path / "site")
    try:
        service = StoreService(s, clock=FakeClock(at(3600)))
        await service.start()
        try:
            job = s.get_item_by_id(job_id)
            await eventually(lambda: job.runs == 1)
        finally:
            await service.stop()
        assert s.query(TimedEvent).count() == 0
    finally:
        s.close()


# ----------------------------------------------------------------- substores


def test_substore_events_run_through_the_parent_scheduler(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    try:
        child = SubStore.create_new(site, ["user.axiom"]).open()
        job = Job(store=child, name="sub", every=60)
        clock_of[job.store_id] = FakeClock(at(10))
        child_sched = scheduler_for(child)
        child_sched.schedule(job, at(10))
        site_sched = scheduler_for(site)
        [hook_event] = list(site.query(TimedEvent))
        assert hook_event.time == at(10)
        assert site_sched.run_due(at(5)) == 0
        assert site_sched.run_due(at(10)) == 1
        assert job.runs == 1
        assert child_sched.scheduled_times(job) == [at(70)]
        assert [e.time for e in site.query(TimedEvent)] == [at(70)]
        child_sched.unschedule_all(job)
        assert site.query(TimedEvent).count() == 0
    finally:
        site.close()


async def test_site_service_fires_substore_events(tmp_path: Path, loop_kind: str) -> None:
    site = Store(tmp_path / "site")
    try:
        child = SubStore.create_new(site, ["user.axiom"]).open()
        job = Job(store=child, name="sub")
        scheduler_for(child).schedule(job, at(-1))
        service = StoreService(site, clock=FakeClock())
        await service.start()
        try:
            await eventually(lambda: job.runs == 1)
        finally:
            await service.stop()
    finally:
        site.close()


def test_a_runnable_returning_a_past_time_runs_once_per_pass() -> None:
    s = Store()
    sched = scheduler_for(s)
    job = Job(store=s, every=1)
    clock_of[job.store_id] = FakeClock(at(0))  # always returns at(1), in the past
    sched.schedule(job, at(0))
    assert sched.run_due(at(100)) == 1
    assert sched.run_due(at(100)) == 1
    assert job.runs == 2


def test_async_run_without_a_loop_is_logged_and_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    s = Store()
    sched = scheduler_for(s)
    job = AsyncJob(store=s, again=True)
    sched.schedule(job, at(0))
    with caplog.at_level(logging.ERROR, logger="plait.axiom.scheduler"):
        assert sched.run_due(at(1)) == 1
    assert "no event loop" in caplog.text
    assert sched.scheduled_times(job) == []
