"""Services as items: what a store runs is what it holds (Axiom's "goodbye, config files").

Why: ``plait serve`` and ``axiomatic start`` do not read a configuration file; they open a
store and start every item that powers it up for :class:`IService`.  A listening port is
an item (:class:`TCPPort`, :class:`StringEndpointPort`) that points at a factory item, so
adding a server to a site is creating two items and installing one::

    factory = EchoFactory(store=s)                    # any item with build_protocol()
    port = StringEndpointPort(store=s, description="tcp:8750:interface=127.0.0.1",
                              factory=factory)
    install_on(port, s)                               # powers s up for IService

    service = StoreService(s)                         # a plait.core.service.MultiService
    await service.start()                             # listens; runs the scheduler
    service.endpoints()                               # ['tcp:127.0.0.1:8750'] for `plait status`
    await service.stop()                              # closes, in reverse order

:class:`StoreService` starts the ``IService`` powerups highest priority first and the
store's scheduler after them (so overdue events fire with the services up), and stops
them in reverse.  Service items keep their running state in memory; the StoreService
holds them while they run.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from plait.axiom.attributes import inmemory, integer, reference, text
from plait.axiom.item import Item
from plait.axiom.scheduler import Clock, Scheduler, scheduler_for
from plait.core.endpoints import quote, server_endpoint
from plait.core.service import MultiService, Service, StreamServerService

__all__ = [
    "IProtocolFactory",
    "IService",
    "StoreService",
    "StringEndpointPort",
    "TCPPort",
]


@runtime_checkable
class IService(Protocol):
    """An item the store starts and stops with itself (install it on the store)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class IProtocolFactory(Protocol):
    """What a port's ``factory`` item provides: a new protocol per connection."""

    def build_protocol(self) -> asyncio.BaseProtocol: ...


def _item_name(item: Any) -> str:
    """The item's own ``name`` if it has one (``plait status`` shows it), else type#id."""
    name = getattr(item, "name", None)
    if isinstance(name, str) and name:
        return name
    store_id = getattr(item, "store_id", None)
    return f"{getattr(type(item), 'type_name', type(item).__name__)}#{store_id}"


class _ItemService(Service):
    """Adapts an ``IService`` item to a :class:`plait.core.service.Service` child."""

    def __init__(self, item: Any) -> None:
        super().__init__(_item_name(item))
        self.item = item

    async def start(self) -> None:
        await self.item.start()
        self.running = True

    async def stop(self) -> None:
        self.running = False
        await self.item.stop()

    def endpoints(self) -> list[str]:
        endpoints = getattr(self.item, "endpoints", None)
        return list(endpoints()) if callable(endpoints) else []

    def __repr__(self) -> str:
        return f"<service for {self.item!r}>"


class _SchedulerService(Service):
    """Runs the store's scheduler while the StoreService runs."""

    def __init__(self, scheduler: Scheduler, clock: Clock | None) -> None:
        super().__init__("scheduler")
        self.scheduler = scheduler
        self.clock = clock

    async def start(self) -> None:
        await self.scheduler.start(self.clock)
        self.running = True

    async def stop(self) -> None:
        self.running = False
        await self.scheduler.stop()


class StoreService(MultiService):
    """Runs a store: its ``IService`` powerups (highest priority first), then its scheduler.

    The children are collected from the store on every ``start()``, so items installed
    or removed while stopped take effect on the next start.  ``clock`` is passed to the
    scheduler (tests inject one).  ``scheduler=False`` leaves the scheduler alone.
    """

    def __init__(self, store: Any, *, name: str = "store", clock: Clock | None = None,
                 scheduler: bool = True) -> None:
        super().__init__(name)
        self.store = store
        self.clock = clock
        self.run_scheduler = scheduler

    def item_services(self) -> list[Any]:
        """The items powering the store up for ``IService``, in start order."""
        return list(self.store.powerups_for(IService))

    async def start(self) -> None:
        if self.running:
            return
        for child in list(self.services):
            self.remove_service(child)
        for item in self.item_services():
            self.add_service(_ItemService(item))
        if self.run_scheduler:
            self.add_service(_SchedulerService(scheduler_for(self.store), self.clock))
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            for child in list(self.services):
                if not child.running:
                    self.remove_service(child)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<StoreService {self.store!r} {state}, {len(self.services)} service(s)>"


# ----------------------------------------------------------------- port items


class _PortBase:
    """Shared behaviour of the port items: listen on start, close on stop."""

    factory: Any
    listener: Any
    #: The server endpoint description to listen on; each port item defines it.
    description_for_listen: Callable[[], str]

    def _factory_callable(self) -> Any:
        factory = self.factory
        if factory is None:
            raise ValueError(f"{self!r} has no factory")
        build = getattr(factory, "build_protocol", None)
        if not callable(build):
            raise TypeError(f"{type(factory).__name__} (the factory of {self!r}) "
                            "has no build_protocol()")
        return build

    async def start(self) -> None:
        """Listen (``ValueError`` for a bad description, ``OSError`` if it cannot bind)."""
        if self.listener is not None:
            return
        listener = StreamServerService(_item_name(self), self.description_for_listen(),
                                       self._factory_callable())
        await listener.start()
        self.listener = listener

    async def stop(self) -> None:
        """Stop listening and close the connections (gracefully, then at once)."""
        listener, self.listener = self.listener, None
        if listener is not None:
            await listener.stop()

    def endpoints(self) -> list[str]:
        """Where it listens when running (the real port if 0 was asked), else where it
        would."""
        if self.listener is not None:
            return list(self.listener.endpoints())
        return [self.description_for_listen()]


class TCPPort(_PortBase, Item):
    """Listen on TCP ``port_number`` (``interface`` "" = all) with ``factory``'s protocol."""

    type_name = "axiom_tcp_port"
    schema_version = 1

    powerup_interfaces = [IService]

    name = text(allow_none=True, default=None, doc="what `plait status` calls this service")
    port_number = integer(default=0, allow_none=False, doc="the TCP port (0: any free one)")
    interface = text(default="", allow_none=False, doc="the address to bind ('' = all)")
    factory = reference(doc="an item whose build_protocol() makes each connection's protocol")
    listener = inmemory()

    def description_for_listen(self) -> str:
        if self.interface:
            return f"tcp:{self.port_number}:interface={quote(self.interface)}"
        return f"tcp:{self.port_number}"

    def __repr__(self) -> str:
        return f"<TCPPort {self.store_id} {self.interface or '*'}:{self.port_number}>"


class StringEndpointPort(_PortBase, Item):
    """Listen on an endpoint description (``tcp:8750:interface=127.0.0.1``, ``ssl:...``,
    ``unix:...``) with ``factory``'s protocol."""

    type_name = "axiom_string_endpoint_port"
    schema_version = 1

    powerup_interfaces = [IService]

    name = text(allow_none=True, default=None, doc="what `plait status` calls this service")
    description = text(allow_none=False, doc="a plait.core.endpoints server description")
    factory = reference(doc="an item whose build_protocol() makes each connection's protocol")
    listener = inmemory()

    def check(self) -> None:
        """``ValueError`` now if the description is malformed."""
        server_endpoint(self.description)

    def description_for_listen(self) -> str:
        return str(self.description)

    def __repr__(self) -> str:
        return f"<StringEndpointPort {self.store_id} {self.description!r}>"
