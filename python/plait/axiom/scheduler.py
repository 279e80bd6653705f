"""Persistent timed events: run an item's ``run()`` at a time, even across restarts.

Why: a server has work due later (retry a mail, expire a session, rotate a log) that must
survive a restart.  Divmod's scheduler kept those as items; so does this one::

    class Reminder(Item):
        note = text()
        def run(self) -> Time | None:       # may be sync or async
            print(self.note)
            return None                     # or the next Time to run at

    sched = scheduler_for(store)            # the store's Scheduler powerup (made on first use)
    sched.schedule(reminder, Time() + timedelta(minutes=5))
    sched.scheduled_times(reminder)         # -> [Time(...)]
    sched.reschedule(reminder, old_time, new_time)
    sched.unschedule(reminder)              # the earliest event; unschedule_all: every one

Events are :class:`TimedEvent` items (``time`` indexed, ``runnable`` a reference that
cascades: deleting the runnable deletes its events).  They fire only while the scheduler
runs, which :class:`~plait.axiom.service.StoreService` arranges (or ``await
sched.start()`` yourself): one ``loop.call_at`` timer is armed for the earliest event and
re-armed whenever the schedule changes.  Events whose time passed while nothing ran
(the server was down) fire as soon as it starts.  Each event runs in its own transaction:
the event is removed, ``run()`` is called, and if it returns a ``Time`` the runnable is
scheduled again at that time.  If ``run()`` raises, its changes are rolled back, the
error is logged with the event, and the event is dropped.

In a substore (a child opened through a :class:`~plait.axiom.substore.SubStore`), the
parent store keeps one event per child, at the child's earliest time, whose run() runs the
child's due events: the site's StoreService runs every user's schedule without keeping
their stores open.

Time comes from a clock (``Callable[[], Time]``, default ``Time``), so tests can inject
one and call :meth:`Scheduler.wake` after moving it instead of waiting.
"""
from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import weakref
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from plait.axiom.attributes import CASCADE, reference, timestamp
from plait.axiom.comparison import AND
from plait.axiom.item import Item
from plait.axiom.powerup import powerup_for
from plait.axiom.substore import substore_item_for
from plait.epsilon.extime import Time

__all__ = [
    "Clock",
    "IScheduler",
    "Scheduler",
    "TimedEvent",
    "scheduler_for",
]

log = logging.getLogger(__name__)

Clock = Callable[[], Time]

#: The longest the timer sleeps before looking at the clock again (guards against the
#: wall clock jumping or the machine sleeping, since the loop's clock is monotonic).
MAX_TIMER_DELAY = 300.0
#: How long the scheduler waits after failing to run events at all (a store error).
RETRY_DELAY = 1.0


@runtime_checkable
class IScheduler(Protocol):
    """The interface a store's scheduler powers the store up for."""

    def schedule(self, runnable: Item, when: Time) -> TimedEvent: ...

    def unschedule_all(self, runnable: Item) -> int: ...

    def scheduled_times(self, runnable: Item) -> list[Time]: ...


class TimedEvent(Item):
    """One scheduled run: call ``runnable.run()`` at ``time``."""

    type_name = "axiom_timed_event"
    schema_version = 1

    time = timestamp(indexed=True, allow_none=False, doc="when to run")
    runnable = reference(when_deleted=CASCADE, doc="the item whose run() is called")

    def __repr__(self) -> str:
        return f"<TimedEvent {self.store_id} at {self.time!r} for {self.runnable!r}>"


class _Runtime:
    """What a running scheduler holds in memory: its clock, timer and pending tasks."""

    def __init__(self, scheduler: Scheduler, clock: Clock) -> None:
        self.scheduler = scheduler  # a strong reference keeps the item (and this) alive
        self.clock = clock
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.firing = False


#: The time the innermost ``run_due`` runs events for (substores use their parent's).
_now: contextvars.ContextVar[Time | None] = contextvars.ContextVar("axiom_now", default=None)

#: The running runtime of each store's scheduler (keyed by store).
_runtimes: weakref.WeakKeyDictionary[Any, _Runtime] = weakref.WeakKeyDictionary()


class Scheduler(Item):
    """The store's scheduler powerup: schedules :class:`TimedEvent` items and runs them."""

    type_name = "axiom_scheduler"
    schema_version = 1

    powerup_interfaces = [IScheduler]

    # -- the schedule -------------------------------------------------------------------

    def schedule(self, runnable: Item, when: Time) -> TimedEvent:
        """Run ``runnable.run()`` at ``when`` (a ``Time``; a past time runs at once)."""
        self._check_runnable(runnable)
        if not isinstance(when, Time):
            raise TypeError(f"schedule: expected a Time, got {type(when).__name__}")
        event = TimedEvent(store=self.store, time=when, runnable=runnable)
        self.wake()
        return event

    def reschedule(self, runnable: Item, from_time: Time, to_time: Time) -> TimedEvent:
        """Move the event of ``runnable`` at ``from_time`` to ``to_time``.

        ``ValueError`` if there is no such event."""
        event = self._event_at(runnable, from_time)
        if event is None:
            raise ValueError(f"{runnable!r} is not scheduled at {from_time!r}")
        event.time = to_time
        self.wake()
        return event

    def unschedule(self, runnable: Item, when: Time | None = None) -> None:
        """Remove one event of ``runnable``: the one at ``when``, else the earliest.

        ``ValueError`` if there is none."""
        if when is None:
            event = self._events_of(runnable)[:1]
            found = event[0] if event else None
        else:
            found = self._event_at(runnable, when)
        if found is None:
            raise ValueError(f"{runnable!r} is not scheduled"
                             + ("" if when is None else f" at {when!r}"))
        found.delete_from_store()
        self.wake()

    def unschedule_all(self, runnable: Item) -> int:
        """Remove every event of ``runnable``; returns how many there were."""
        events = self._events_of(runnable)
        for event in events:
            event.delete_from_store()
        self.wake()
        return len(events)

    def scheduled_times(self, runnable: Item) -> list[Time]:
        """When ``runnable`` is scheduled to run, earliest first."""
        return [event.time for event in self._events_of(runnable)]

    def next_event(self) -> TimedEvent | None:
        """The earliest event in the store, or None."""
        return self.store.find_first(TimedEvent, sort=TimedEvent.time.ascending)

    def _events_of(self, runnable: Item) -> list[TimedEvent]:
        return list(self.store.query(TimedEvent, TimedEvent.runnable == runnable,
                                     sort=TimedEvent.time.ascending))

    def _event_at(self, runnable: Item, when: Time) -> TimedEvent | None:
        for event in self._events_of(runnable):
            if event.time == when:
                return event
        return None

    def _check_runnable(self, runnable: Item) -> None:
        if not isinstance(runnable, Item) or runnable.store is not self.store:
            raise ValueError(f"{runnable!r} is not an item in this scheduler's store")
        if not callable(getattr(runnable, "run", None)):
            raise TypeError(f"{type(runnable).__name__} has no run() method")

    # -- running ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether events fire (between ``start()`` and ``stop()``)."""
        return _runtimes.get(self.store) is not None

    async def start(self, clock: Clock | None = None) -> None:
        """Fire events on the running loop from now on; overdue ones fire at once."""
        store = self.store
        if store in _runtimes:
            raise RuntimeError(f"the scheduler of {store!r} is already running")
        _runtimes[store] = _Runtime(self, clock or Time)
        self.wake()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop firing; waits up to ``timeout`` s for async ``run()``s still going, then
        cancels them.  Safe to call when not running."""
        runtime = _runtimes.pop(self.store, None)
        if runtime is None:
            return
        if runtime.timer is not None:
            runtime.timer.cancel()
            runtime.timer = None
        if runtime.tasks:
            _done, pending = await asyncio.wait(runtime.tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    def wake(self) -> None:
        """Re-arm the timer for the earliest event (after the schedule or clock changed).

        Does nothing unless running; called by every scheduling method.  In a substore
        it also moves the parent store's event that runs this one (see below)."""
        self._sync_parent()
        self._arm(0.0)

    def _arm(self, min_delay: float) -> None:
        runtime = _runtimes.get(self.store)
        if runtime is None or runtime.firing:
            return
        if runtime.timer is not None:
            runtime.timer.cancel()
            runtime.timer = None
        event = self.next_event()
        if event is None:
            return
        delay = (event.time - runtime.clock()).total_seconds()
        delay = min(max(delay, min_delay), MAX_TIMER_DELAY)
        runtime.timer = runtime.loop.call_at(runtime.loop.time() + delay, self._on_timer)

    def _on_timer(self) -> None:
        runtime = _runtimes.get(self.store)
        if runtime is None:
            return
        runtime.timer = None
        runtime.firing = True
        retry = 0.0
        try:
            self.run_due(runtime.clock())
        except Exception:
            log.exception("the scheduler of %r failed; retrying in %.0fs",
                          self.store, RETRY_DELAY)
            retry = RETRY_DELAY
        finally:
            runtime.firing = False
        self._arm(retry)

    def run_due(self, now: Time | None = None) -> int:
        """Run every event due by ``now`` (default: the clock's now); returns how many ran.

        Used by the timer; callable directly (without ``start()``) by tests and tools."""
        runtime = _runtimes.get(self.store)
        if now is None:
            now = runtime.clock() if runtime is not None else Time()
        # Only events that exist now: one a run() adds (or re-adds) for a time already
        # past runs on the next pass, so a runnable that keeps returning a past time
        # cannot starve the loop.
        last = self.store.find_first(TimedEvent, TimedEvent.time <= now,
                                     sort=TimedEvent.store_id.descending)
        if last is None:
            self._sync_parent()
            return 0
        due = AND(TimedEvent.time <= now, TimedEvent.store_id <= last.store_id)
        count = 0
        token = _now.set(now)
        try:
            while True:
                # one at a time, so a run() that schedules or removes events is seen
                event = self.store.find_first(TimedEvent, due, sort=TimedEvent.time.ascending)
                if event is None:
                    break
                count += 1
                self.store.transact(self._run_one, event)
        finally:
            _now.reset(token)
        self._sync_parent()
        return count

    def _run_one(self, event: TimedEvent) -> None:
        runnable = event.runnable
        when = event.time
        event.delete_from_store()
        if runnable is None:  # pragma: no cover - CASCADE deletes such events
            return
        try:
            result = self.store.transact(runnable.run)
        except Exception:
            log.exception("scheduled run of %r (due %r) failed; event dropped", runnable, when)
            return
        if inspect.isawaitable(result):
            self._await_result(runnable, when, result)
        elif result is not None:
            self._reschedule_after(runnable, when, result)

    def _reschedule_after(self, runnable: Item, when: Time, result: object) -> None:
        if isinstance(result, Time):
            TimedEvent(store=self.store, time=result, runnable=runnable)
        else:
            log.error("scheduled run of %r (due %r) returned %r, not a Time or None; "
                      "not rescheduled", runnable, when, result)

    def _await_result(self, runnable: Item, when: Time, awaitable: Any) -> None:
        runtime = _runtimes.get(self.store)

        async def wait() -> Any:
            return await awaitable

        if runtime is not None:
            loop = runtime.loop
        else:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                if inspect.iscoroutine(awaitable):
                    awaitable.close()
                log.error("scheduled run of %r (due %r) is async but no event loop runs; "
                          "event dropped", runnable, when)
                return
        task = loop.create_task(wait())
        if runtime is not None:
            runtime.tasks.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            if runtime is not None:
                runtime.tasks.discard(task)
            if task.cancelled():
                log.warning("scheduled run of %r (due %r) was cancelled", runnable, when)
                return
            exc = task.exception()
            if exc is not None:
                log.error("scheduled run of %r (due %r) failed; event dropped",
                          runnable, when, exc_info=exc)
                return
            result = task.result()
            if result is not None and runnable.store is not None:
                self.store.transact(self._reschedule_after, runnable, when, result)
                self.wake()

        task.add_done_callback(done)


    # -- substores: the parent's scheduler runs the child's events ----------------------

    def _sync_parent(self) -> None:
        """In a substore, keep one event in the parent store, at this store's earliest
        event, whose run() runs the due events here (so the site's service runs users'
        schedules without opening every substore)."""
        parent = getattr(self.store, "parent", None)
        if parent is None:
            return
        sub = substore_item_for(self.store)
        if sub is None:  # not opened through a SubStore: nothing can find it
            return
        event = self.next_event()

        def sync() -> None:
            hook = parent.find_first(_SubSchedulerParentHook,
                                     _SubSchedulerParentHook.substore == sub)
            if event is None:
                if hook is not None:
                    hook.delete_from_store()  # its events cascade
                return
            if hook is None:
                hook = _SubSchedulerParentHook(store=parent, substore=sub)
            parent_scheduler = scheduler_for(parent)
            if parent_scheduler.scheduled_times(hook) != [event.time]:
                parent_scheduler.unschedule_all(hook)
                parent_scheduler.schedule(hook, event.time)

        parent.transact(sync)


class _SubSchedulerParentHook(Item):
    """In a parent store: runs the due events of one substore when its time comes."""

    type_name = "axiom_subscheduler_parent_hook"
    schema_version = 1

    substore = reference(when_deleted=CASCADE, allow_none=False,
                         doc="the SubStore item whose child store has events")

    def run(self) -> None:
        runtime = _runtimes.get(self.store)
        now = _now.get() or (runtime.clock() if runtime is not None else Time())
        child = self.substore.open()
        scheduler_for(child).run_due(now)  # and re-syncs this hook's next event


def scheduler_for(store: Any) -> Scheduler:
    """The store's :class:`Scheduler`, installed as its ``IScheduler`` powerup on first use."""
    found = powerup_for(store, IScheduler)
    if isinstance(found, Scheduler):
        return found
    existing = store.find_first(Scheduler)
    if existing is not None:
        store.power_up(existing, IScheduler)
        return existing  # type: ignore[no-any-return]

    def create() -> Scheduler:
        scheduler = Scheduler(store=store)
        store.power_up(scheduler, IScheduler)
        return scheduler

    return store.transact(create)  # type: ignore[no-any-return]
