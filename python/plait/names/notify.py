"""NOTIFY out (RFC 1996): tell a zone's secondaries at once that it changed.

Without NOTIFY a secondary learns of a change only at its next SOA refresh, which may be
hours away. The :class:`Notifier` listens to a :class:`~plait.names.catalog.ZoneCatalog`;
when a zone with configured secondaries appears or its serial changes, it sends each of
them a NOTIFY over UDP (opcode 4, AA, the question ``origin SOA``, the new SOA in the
answer) and retransmits, a bounded number of times, until a matching response arrives.
A newer change replaces a pending NOTIFY for the same zone and secondary.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import secrets
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from .catalog import ZoneCatalog
from .constants import Opcode, Rcode, RRType
from .errors import DNSFormatError
from .message import Message, Question
from .name import Name
from .zone import Zone, origin_name

__all__ = ["Notifier", "notify_message"]

log = logging.getLogger(__name__)

_AA = 0x0400
Target = tuple[str, int]


def notify_message(zone: Zone, id: int | None = None) -> Message:
    """The NOTIFY for ``zone``'s current SOA."""
    return Message(id=secrets.randbelow(0x10000) if id is None else id,
                   flags=_AA | (Opcode.NOTIFY << 11),
                   questions=(Question(zone.origin, RRType.SOA),), answers=(zone.soa,))


class _Exchange(asyncio.DatagramProtocol):
    """One NOTIFY and the wait for its response."""

    def __init__(self, query: Message) -> None:
        self.query = query
        self.response: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.response.done():
            return
        try:
            msg = Message.from_wire(data)
        except DNSFormatError:
            return
        if (msg.id == self.query.id and msg.qr and msg.opcode == Opcode.NOTIFY
                and msg.questions == self.query.questions):
            self.response.set_result(msg)

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable": nobody listens yet; the next try may find them.
        log.debug("NOTIFY to a secondary: %s", exc)


class Notifier:
    """Sends NOTIFY for the zones of ``catalog`` to ``targets`` (origin -> secondaries).

    Each NOTIFY is sent up to ``tries`` times, ``interval`` seconds apart. ``results``
    holds, per (origin, target), the RCODE of the last response, or None if none came.
    """

    def __init__(self, catalog: ZoneCatalog,
                 targets: Mapping[Name | str, Sequence[Target]], *, tries: int = 5,
                 interval: float = 2.0) -> None:
        if tries < 1 or interval <= 0:
            raise ValueError("need tries >= 1 and interval > 0")
        self.catalog = catalog
        self.targets: dict[Name, list[Target]] = {
            origin_name(o): [(str(h), int(p)) for h, p in ts] for o, ts in targets.items()}
        self.tries = tries
        self.interval = interval
        self.results: dict[tuple[Name, Target], int | None] = {}
        self.sent = 0  # datagrams sent, retransmissions included
        self._pending: dict[tuple[Name, Target], asyncio.Task[int | None]] = {}
        self._unsent: dict[Name, Zone] = {}
        self._closed = False
        catalog.add_listener(self._changed)

    def _changed(self, old: Zone | None, new: Zone | None) -> None:
        if self._closed:
            return
        if new is None:
            if old is not None:
                self._cancel(old.origin)
                self._unsent.pop(old.origin, None)
            return
        if old is not None and old.serial == new.serial:
            return
        if not self.targets.get(new.origin):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # A change made before the loop runs: sent by the next flush() or change.
            self._unsent[new.origin] = new
            return
        self._flush_unsent()
        self._schedule(new)

    def _flush_unsent(self) -> None:
        unsent, self._unsent = self._unsent, {}
        for zone in unsent.values():
            self._schedule(zone)

    async def flush(self) -> None:
        """Send the NOTIFYs for changes made while no event loop was running."""
        self._flush_unsent()

    async def notify_all(self) -> None:
        """Schedule a NOTIFY for every zone of the catalog that has secondaries (what a
        primary does when it starts: its secondaries need not wait for their refresh)."""
        self._unsent.clear()
        for zone in self.catalog.zones():
            if self.targets.get(zone.origin):
                self._schedule(zone)

    def _cancel(self, origin: Name) -> None:
        for key in [k for k in self._pending if k[0] == origin]:
            self._pending.pop(key).cancel()

    def _schedule(self, zone: Zone) -> None:
        loop = asyncio.get_running_loop()
        for target in self.targets.get(zone.origin, ()):
            key = (zone.origin, target)
            old = self._pending.pop(key, None)
            if old is not None:
                old.cancel()
            task = loop.create_task(self._send(zone, target),
                                    name=f"NOTIFY {zone.origin} to {target[0]}#{target[1]}")
            self._pending[key] = task
            task.add_done_callback(functools.partial(self._done, key))

    def _done(self, key: tuple[Name, Target], task: asyncio.Task[int | None]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]

    async def notify(self, zone: Zone) -> dict[Target, int | None]:
        """NOTIFY every secondary of ``zone`` now and wait: target -> RCODE (None if no
        response came after every try)."""
        targets = self.targets.get(zone.origin, [])
        rcodes = await asyncio.gather(*(self._send(zone, t) for t in targets))
        return dict(zip(targets, rcodes, strict=True))

    async def _send(self, zone: Zone, target: Target) -> int | None:
        loop = asyncio.get_running_loop()
        query = notify_message(zone)
        wire = query.to_wire()
        family = socket.AF_INET
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(target[0]).version == 6:
                family = socket.AF_INET6
        key = (zone.origin, target)
        try:
            transport, exchange = await loop.create_datagram_endpoint(
                lambda: _Exchange(query), remote_addr=target, family=family)
        except OSError as exc:
            log.warning("NOTIFY %s to %s#%d: %s", zone.origin, target[0], target[1], exc)
            self.results[key] = None
            return None
        try:
            for _ in range(self.tries):
                transport.sendto(wire)
                self.sent += 1
                try:
                    response = await asyncio.wait_for(asyncio.shield(exchange.response),
                                                      self.interval)
                except TimeoutError:
                    continue
                if response.rcode != Rcode.NOERROR:
                    log.warning("NOTIFY %s (serial %d) to %s#%d: rcode %d", zone.origin,
                                zone.serial, target[0], target[1], response.rcode)
                self.results[key] = response.rcode
                return response.rcode
            log.warning("NOTIFY %s (serial %d) to %s#%d: no response after %d tries",
                        zone.origin, zone.serial, target[0], target[1], self.tries)
            self.results[key] = None
            return None
        finally:
            transport.close()
            if not exchange.response.done():
                exchange.response.cancel()

    async def wait(self) -> None:
        """Wait until every pending NOTIFY is answered or given up."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop listening to the catalog and cancel pending NOTIFYs."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(ValueError):
                self.catalog.remove_listener(self._changed)
        tasks = list(self._pending.values())
        self._pending.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
