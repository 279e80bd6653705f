"""Run many long jobs as iterators, fairly, without starving the event loop.

A job written as a generator (one ``yield`` per unit of work) or an async iterator
(one ``__anext__`` per unit) is handed to a ``Cooperator``, which on each loop
iteration takes steps round-robin from all its jobs until a time slice (10 ms by
default) is used, then gives the loop back so I/O and timers stay responsive.
These are Twisted's ``twisted.internet.task.Cooperator`` ideas, for asyncio:

- a generator that yields an awaitable (a Future, Task or coroutine) waits for it
  without blocking the other jobs, and gets its result back from the ``yield``
  (or its exception raised there), as Twisted's yielded Deferreds;
- ``pause()`` / ``resume()`` nest; ``stop()`` closes the iterator (its ``finally``
  blocks run);
- ``await task`` gives the generator's return value, raises what the iterator
  raised, or ``TaskStopped`` if it was stopped.
"""
from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Protocol

__all__ = [
    "CooperativeTask",
    "Cooperator",
    "SchedulerStopped",
    "TaskDone",
    "TaskFailed",
    "TaskFinished",
    "TaskNotPaused",
    "TaskState",
    "TaskStopped",
    "cooperate",
    "default_cooperator",
]

logger = logging.getLogger(__name__)


class TaskState(enum.Enum):
    """Where a cooperative task is in its life; the last three are final."""

    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"


class TaskFinished(Exception):
    """The task has finished, so it can no longer be paused, resumed or stopped."""


class TaskDone(TaskFinished):
    """The task's iterator was exhausted."""


class TaskStopped(TaskFinished):
    """The task was stopped before its iterator was exhausted (``await`` raises this)."""


class SchedulerStopped(TaskStopped):
    """The task's cooperator was stopped (before or while the task ran)."""


class TaskFailed(TaskFinished):
    """The task's iterator raised; ``await task`` raises the iterator's own exception."""


class TaskNotPaused(Exception):
    """``resume()`` was called on a task that was not paused."""


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[Callable[[], None]], _Cancellable]
_NOTHING: Any = object()
_FINAL_ERRORS: dict[TaskState, type[TaskFinished]] = {
    TaskState.DONE: TaskDone, TaskState.STOPPED: TaskStopped, TaskState.FAILED: TaskFailed,
}


class CooperativeTask:
    """One iterator being run by a ``Cooperator``; made by ``Cooperator.cooperate``."""

    def __init__(self, iterator: Iterator[Any] | AsyncIterator[Any],
                 cooperator: Cooperator) -> None:
        self._iterator = iterator
        self._is_async = not hasattr(iterator, "__next__")
        self._cooperator = cooperator
        self._pause_count = 0
        self._final: TaskState | None = None
        self._final_error: type[TaskFinished] = TaskDone
        self._result: Any = None
        self._error: BaseException | None = None
        self._observed = False
        self._waiters: list[asyncio.Future[Any]] = []
        self._waiting: asyncio.Future[Any] | None = None  # an awaitable the task waits on
        self._owns_waiting = False  # we made that future, so stop() may cancel it
        self._send: Any = _NOTHING  # what the next step sends into a generator
        self._throw: BaseException | None = None  # or throws into it
        self._queued = False  # in the cooperator's run queue
        self._stepping = False
        self._pending_close: asyncio.Future[Any] | None = None

    def __repr__(self) -> str:
        return f"<CooperativeTask {self.state.value} {self._iterator!r}>"

    @property
    def state(self) -> TaskState:
        """RUNNING (also while waiting on a yielded awaitable), PAUSED, or a final state."""
        if self._final is not None:
            return self._final
        return TaskState.PAUSED if self._pause_count else TaskState.RUNNING

    def done(self) -> bool:
        """True once the task is DONE, STOPPED or FAILED."""
        return self._final is not None

    def pause(self) -> None:
        """Take no more steps until a matching ``resume()``; pauses nest."""
        self._check_not_finished()
        self._pause_count += 1

    def resume(self) -> None:
        """Undo one ``pause()``; the task runs again when every pause is undone."""
        self._check_not_finished()
        if not self._pause_count:
            raise TaskNotPaused(f"{self!r} is not paused")
        self._pause_count -= 1
        if not self._pause_count:
            self._cooperator._make_runnable(self)

    def stop(self) -> None:
        """Stop for good: close the iterator and raise ``TaskStopped`` in awaiters."""
        self._check_not_finished()
        self._stop_with(TaskStopped(f"{self!r} was stopped"))

    def when_done(self) -> asyncio.Future[Any]:
        """A new future for the outcome; cancelling it does not stop the task."""
        self._observed = True
        future = self._cooperator._get_loop().create_future()
        if self._final is None:
            self._waiters.append(future)
        else:
            self._settle(future)
        return future

    def __await__(self) -> Any:
        return self.when_done().__await__()

    # -- running ------------------------------------------------------------------------

    def _runnable(self) -> bool:
        return self._final is None and not self._pause_count and self._waiting is None

    def _check_not_finished(self) -> None:
        if self._final is not None:
            raise self._final_error(f"{self!r} has already finished")

    def _step(self) -> None:
        """One unit of work: one ``next``/``send``/``throw``, or start one ``__anext__``."""
        if self._is_async:
            anext = self._iterator.__anext__()  # type: ignore[union-attr]
            self._wait_for(anext, owned=True)
            return
        iterator: Any = self._iterator
        self._stepping = True
        try:
            if self._throw is not None:
                error, self._throw = self._throw, None
                throw = getattr(iterator, "throw", None)
                if throw is None:
                    raise error
                value = throw(error)
            elif self._send is not _NOTHING:
                sent, self._send = self._send, _NOTHING
                send = getattr(iterator, "send", None)
                value = send(sent) if send is not None else next(iterator)
            else:
                value = next(iterator)
        except StopIteration as exhausted:
            self._finish(TaskState.DONE, result=exhausted.value)
            return
        except (Exception, asyncio.CancelledError) as error:  # noqa: BLE001 - the task's outcome
            self._finish(TaskState.FAILED, error=error)
            return
        except BaseException as error:  # KeyboardInterrupt, SystemExit: fail, then let it go
            self._finish(TaskState.FAILED, error=error)
            raise
        finally:
            self._stepping = False
        if self._final is not None:  # the step stopped its own task
            if inspect.iscoroutine(value):
                value.close()
            self._close_iterator()
        elif inspect.isawaitable(value):
            self._wait_for(value, owned=not asyncio.isfuture(value))

    def _wait_for(self, awaitable: Any, owned: bool) -> None:
        future = asyncio.ensure_future(awaitable, loop=self._cooperator._get_loop())
        self._waiting, self._owns_waiting = future, owned
        future.add_done_callback(self._awaited)

    def _awaited(self, future: asyncio.Future[Any]) -> None:
        if future is not self._waiting:  # the task finished meanwhile
            return
        self._waiting = None
        if future.cancelled():
            error: BaseException | None = asyncio.CancelledError()
        else:
            error = future.exception()
        if self._is_async:
            if isinstance(error, StopAsyncIteration):
                self._finish(TaskState.DONE)
                return
            if error is not None:
                self._finish(TaskState.FAILED, error=error)
                return
        elif error is not None:
            self._throw = error
        else:
            self._send = future.result()
        self._cooperator._make_runnable(self)

    # -- finishing ----------------------------------------------------------------------

    def _finish(self, state: TaskState, result: Any = None,
                error: BaseException | None = None) -> None:
        self._final = state
        self._final_error = type(error) if isinstance(error, TaskStopped) \
            else _FINAL_ERRORS[state]
        self._result, self._error = result, error
        self._cooperator._tasks.discard(self)
        waiting, self._waiting = self._waiting, None
        if waiting is not None and self._owns_waiting and not waiting.done():
            waiting.cancel()
        self._pending_close = waiting if self._owns_waiting else None
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            self._settle(future)

    def _settle(self, future: asyncio.Future[Any]) -> None:
        if future.done():
            return
        if self._final is TaskState.DONE:
            future.set_result(self._result)
        else:
            future.set_exception(self._error or TaskStopped())

    def _stop_with(self, error: TaskStopped) -> None:
        self._finish(TaskState.STOPPED, error=error)
        if not self._stepping:
            self._close_iterator()

    def _close_iterator(self) -> None:
        """Run the iterator's ``finally`` blocks: ``close()``, or ``aclose()`` in a task."""
        if self._is_async:
            aclose = getattr(self._iterator, "aclose", None)
            if aclose is not None:
                self._cooperator._spawn(_aclose_after(self._pending_close, aclose))
            return
        close = getattr(self._iterator, "close", None)
        if close is None:
            return
        try:
            close()
        except Exception as error:  # noqa: BLE001 - reported, the stop itself succeeded
            self._cooperator._report("closing a stopped cooperative task failed", error, self)

    def __del__(self) -> None:
        """Like an unretrieved asyncio exception: a failure nobody awaited is reported."""
        if getattr(self, "_final", None) is TaskState.FAILED and not self._observed:
            try:
                self._cooperator._report("unhandled exception in cooperative task",
                                         self._error, self)
            except Exception:  # noqa: BLE001, S110 - interpreter shutdown: nothing left to do
                pass


async def _aclose_after(inflight: asyncio.Future[Any] | None,
                        aclose: Callable[[], Any]) -> None:
    """Close an async generator once its cancelled ``__anext__`` has unwound."""
    if inflight is not None:
        await asyncio.wait([inflight])
    await aclose()


class Cooperator:
    """Runs cooperative tasks round-robin, ``time_slice`` seconds of steps per tick.

    ``clock`` measures the slice (inject a fake one in tests); ``scheduler`` arranges
    the next tick, ``loop.call_soon`` by default, e.g. ``lambda tick:
    loop.call_later(0.01, tick)`` to leave the loop idle between ticks as Twisted did.
    """

    def __init__(self, *, time_slice: float = 0.01, clock: Callable[[], float] = time.monotonic,
                 scheduler: Scheduler | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        if time_slice < 0:
            raise ValueError(f"time_slice must not be negative: {time_slice!r}")
        self._time_slice = time_slice
        self._clock = clock
        self._scheduler = scheduler
        self._loop_ref = weakref.ref(loop) if loop is not None else None
        self._tasks: set[CooperativeTask] = set()
        self._queue: deque[CooperativeTask] = deque()
        self._tick_handle: _Cancellable | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._stopped = False

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Cooperator {state}, {len(self._tasks)} tasks>"

    @property
    def running(self) -> bool:
        """False once ``stop()`` was called."""
        return not self._stopped

    @property
    def tasks(self) -> frozenset[CooperativeTask]:
        """The tasks not yet finished."""
        return frozenset(self._tasks)

    def cooperate(self, iterator: Iterable[Any] | AsyncIterable[Any]) -> CooperativeTask:
        """Start running ``iterator`` (or async iterator) as a task; await it for its end.

        Needs a running loop unless the cooperator was given one."""
        if hasattr(iterator, "__next__") or hasattr(iterator, "__anext__"):
            source: Any = iterator
        elif hasattr(iterator, "__iter__"):
            source = iter(iterator)  # type: ignore[arg-type]
        elif hasattr(iterator, "__aiter__"):
            source = iterator.__aiter__()
        else:
            raise TypeError(f"cannot cooperate on {iterator!r}: not an iterator")
        self._get_loop()  # bind to the running loop now, not at the first tick
        task = CooperativeTask(source, self)
        if self._stopped:
            task._stop_with(SchedulerStopped(f"{self!r} was stopped"))
            return task
        self._tasks.add(task)
        self._make_runnable(task)
        return task

    def stop(self) -> None:
        """Stop every task (with ``SchedulerStopped``) and refuse new ones."""
        self._stopped = True
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        for task in list(self._tasks):
            task._stop_with(SchedulerStopped(f"{self!r} was stopped"))
        self._queue.clear()

    # -- scheduling ---------------------------------------------------------------------

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop_ref() if self._loop_ref is not None else None
        if loop is None:
            loop = asyncio.get_running_loop()
            self._loop_ref = weakref.ref(loop)
        return loop

    def _make_runnable(self, task: CooperativeTask) -> None:
        if not task._queued and task._runnable():
            task._queued = True
            self._queue.append(task)
        self._schedule()

    def _schedule(self) -> None:
        if self._tick_handle is None and self._queue and not self._stopped:
            schedule = self._scheduler or self._get_loop().call_soon
            self._tick_handle = schedule(self._tick)

    def _tick(self) -> None:
        """Take steps round-robin until the slice is used, at least one step per tick."""
        self._tick_handle = None
        deadline = self._clock() + self._time_slice
        queue = self._queue
        try:
            while queue:
                task = queue.popleft()
                if not task._runnable():  # paused, waiting or finished since it was queued
                    task._queued = False
                    continue
                queue.append(task)
                task._step()
                if self._clock() >= deadline:
                    break
        finally:  # even when KeyboardInterrupt escapes a step, the others keep their turn
            self._schedule()

    def _spawn(self, coroutine: Any) -> None:
        task = self._get_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._report("closing a stopped cooperative task failed", task.exception(), task)

    def _report(self, message: str, error: BaseException | None, task: object) -> None:
        loop = self._loop_ref() if self._loop_ref is not None else None
        if loop is not None and not loop.is_closed():
            loop.call_exception_handler({"message": message, "exception": error, "task": task})
        else:
            logger.error("%s: %r", message, task, exc_info=error)


_defaults: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Cooperator] = \
    weakref.WeakKeyDictionary()


def default_cooperator() -> Cooperator:
    """The running loop's shared cooperator (a new one if the old one was stopped)."""
    loop = asyncio.get_running_loop()
    cooperator = _defaults.get(loop)
    if cooperator is None or not cooperator.running:
        cooperator = _defaults[loop] = Cooperator(loop=loop)
    return cooperator


def cooperate(iterator: Iterable[Any] | AsyncIterable[Any]) -> CooperativeTask:
    """Run ``iterator`` on the running loop's default cooperator."""
    return default_cooperator().cooperate(iterator)
