"""Services: long-running things a server starts and stops as one tree.

Why: ``plait serve`` runs many listeners (control socket, AMP, later SSH, SMTP, DNS...).
Each is a :class:`Service` with async ``start``/``stop``; a :class:`MultiService` starts
its children in order and stops them in reverse, so a server comes up or goes down
as a whole; :func:`run_until_signalled` turns SIGINT/SIGTERM (or a Stop command) into a
graceful stop with a bounded deadline.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import signal
import weakref
from collections.abc import Callable, Iterator

from plait.core.endpoints import ListeningPort, ProtocolFactory, server_endpoint

__all__ = [
    "MultiService",
    "Service",
    "StreamServerService",
    "request_stop",
    "run_until_signalled",
    "service_stop_requested",
]

log = logging.getLogger(__name__)

#: The loop time by which a stop in progress must be done (set by run_until_signalled).
_stop_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "plait_stop_deadline", default=None
)
#: How long stragglers get to close after being told to, before they are aborted.
CLOSE_TIMEOUT = 1.0


class Service:
    """Something with an async start and stop; subclasses override ``start``/``stop``."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.running = False
        self.parent: MultiService | None = None

    async def start(self) -> None:
        """Begin serving."""
        self.running = True

    async def stop(self) -> None:
        """Stop serving; must be safe to call when not running."""
        self.running = False

    def endpoints(self) -> list[str]:
        """What this serves, as printable addresses (for ``plait status`` and the banner)."""
        return []

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<{type(self).__name__} {self.name!r} {state}>"


class MultiService(Service):
    """A service made of children: started in order, stopped in reverse."""

    def __init__(self, name: str = "", services: list[Service] | None = None) -> None:
        super().__init__(name)
        self.services: list[Service] = []
        for service in services or ():
            self.add_service(service)

    def add_service(self, service: Service) -> None:
        """Add a child (it is started by ``start()``, or by you if the tree already runs)."""
        if service in self.services:
            raise ValueError(f"{service!r} is already in {self!r}")
        if service.name and any(s.name == service.name for s in self.services):
            raise ValueError(f"{self!r} already has a service named {service.name!r}")
        service.parent = self
        self.services.append(service)

    def remove_service(self, service: Service) -> None:
        """Remove a child; stopping it (``await service.stop()``) is the caller's job."""
        self.services.remove(service)
        service.parent = None

    def get_service_named(self, name: str) -> Service:
        """The child called ``name``; ``KeyError`` if there is none."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def __iter__(self) -> Iterator[Service]:
        return iter(list(self.services))

    async def start(self) -> None:
        """Start each child in order; if one fails, stop those started, then re-raise."""
        started: list[Service] = []
        for service in list(self.services):
            try:
                await service.start()
            except BaseException:
                log.debug("service %r failed to start; stopping the ones started", service.name)
                for done in reversed(started):
                    try:
                        await done.stop()
                    except Exception:
                        log.exception("while rolling back, %r failed to stop", done.name)
                raise
            started.append(service)
        self.running = True

    async def stop(self) -> None:
        """Stop every running child in reverse order; the first failure is re-raised last."""
        self.running = False
        first: BaseException | None = None
        for service in reversed(list(self.services)):
            if not service.running:
                continue
            try:
                await service.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("service %r failed to stop", service.name)
                first = first or exc
        if first is not None:
            raise first

    def endpoints(self) -> list[str]:
        return [e for service in self.services for e in service.endpoints()]


class StreamServerService(Service):
    """Listens on an endpoint description; stops gracefully.

    ``stop()`` stops accepting, lets in-flight connections finish on their own for up
    to ``grace`` seconds (less if a tree-wide stop deadline is nearer), then closes the
    stragglers (flushing what they wrote) and aborts any that still linger.  Works for
    ``udp:`` descriptions too, with a DatagramProtocol factory.
    """

    def __init__(
        self,
        name: str,
        endpoint_description: str,
        protocol_factory: ProtocolFactory,
        *,
        grace: float = 10.0,
    ) -> None:
        super().__init__(name)
        self.endpoint_description = endpoint_description
        self.endpoint = server_endpoint(endpoint_description)  # ValueError now, not at start
        self.protocol_factory = protocol_factory
        self.grace = grace
        self.port: ListeningPort | None = None

    async def start(self) -> None:
        if self.running:
            return
        self.port = await self.endpoint.listen(self.protocol_factory)
        self.running = True

    async def stop(self) -> None:
        port, self.port = self.port, None
        self.running = False
        if port is None:
            return
        await port.close()
        grace = self.grace
        deadline = _stop_deadline.get()
        if deadline is not None:
            grace = max(0.0, min(grace, deadline - asyncio.get_running_loop().time()))
        if port.connections:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(port.wait_idle(), grace)
        stragglers = port.connections
        if not stragglers:
            return
        log.info("%s: closing %d connection(s) still open after %.1fs",
                 self.name, len(stragglers), grace)
        for proto in stragglers:
            close = getattr(proto, "close", None)
            if callable(close):
                close()
            else:
                transport = port.transport_of(proto)
                if transport is not None:
                    transport.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(port.wait_idle(), CLOSE_TIMEOUT)
        for proto in port.connections:
            transport = port.transport_of(proto)
            if transport is not None and hasattr(transport, "abort"):
                transport.abort()

    def endpoints(self) -> list[str]:
        if self.port is not None:
            return self.port.addresses
        return [self.endpoint_description]

    def __repr__(self) -> str:
        return f"<StreamServerService {self.name!r} on {self.endpoints()}>"


# ----------------------------------------------------------------- stopping

_triggers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)


def service_stop_requested() -> asyncio.Event:
    """The running loop's stop trigger: ``.set()`` it to make run_until_signalled stop.

    Use it from anywhere (a control endpoint's Stop command, a test, an admin page).
    """
    loop = asyncio.get_running_loop()
    event = _triggers.get(loop)
    if event is None:
        event = _triggers[loop] = asyncio.Event()
    return event


def request_stop() -> None:
    """Ask the service tree run by :func:`run_until_signalled` on this loop to stop."""
    service_stop_requested().set()


async def run_until_signalled(
    service: Service,
    *,
    grace: float = 10.0,
    ready: Callable[[], None] | None = None,
    stop_event: asyncio.Event | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> None:
    """Start ``service``, wait for a signal or a stop request, then stop it gracefully.

    The stop gets ``grace`` seconds overall (every StreamServerService in the tree
    shares that deadline) plus a short margin to close stragglers; a second signal
    during the stop cancels it at once.  A failing start propagates its exception.
    """
    loop = asyncio.get_running_loop()
    trigger = service_stop_requested()
    signalled: list[int] = []
    stopping: list[asyncio.Task[None]] = []

    def on_signal(signum: int) -> None:
        signalled.append(signum)
        if stopping:
            log.warning("second signal: stopping at once")
            stopping[0].cancel()
        else:
            trigger.set()

    installed: list[signal.Signals] = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover
            log.warning("cannot install a handler for %s on this loop/thread", sig.name)
    try:
        await service.start()
        if ready is not None:
            ready()
        waits = [asyncio.ensure_future(trigger.wait())]
        if stop_event is not None:
            waits.append(asyncio.ensure_future(stop_event.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        if signalled:
            log.info("received %s: stopping", signal.Signals(signalled[0]).name)
        token = _stop_deadline.set(loop.time() + grace)
        try:
            task = asyncio.ensure_future(service.stop())
            stopping.append(task)
            done, _ = await asyncio.wait({task}, timeout=grace + 2 * CLOSE_TIMEOUT)
            if not done:
                log.warning("services did not stop within %.1fs; giving up on them", grace)
                task.cancel()
                await asyncio.wait({task})
            if not task.cancelled():
                task.result()  # re-raise a failure to stop
        finally:
            _stop_deadline.reset(token)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        trigger.clear()
