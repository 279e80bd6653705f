"""plait.names.notify: NOTIFY sent on zone changes, retransmitted until answered, bounded,
cancelled by close(); and received by Secondaries.handle_notify end to end over UDP."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from names.test_secondary import NullAuthority, Primary, until
from names.test_xfr_client import ORIGIN, FakePrimary, make_zone
from plait.names.catalog import ZoneCatalog
from plait.names.constants import Opcode, Rcode, RRType
from plait.names.message import Message
from plait.names.name import Name
from plait.names.notify import Notifier, notify_message
from plait.names.secondary import Secondaries

# Decides the reply to each NOTIFY received: a Message, or None to stay silent.
Answerer = Callable[[Message, int], Message | None]


def ack(msg: Message, n: int) -> Message | None:
    return Message(id=msg.id, flags=0x8000 | 0x0400 | (Opcode.NOTIFY << 11),
                   questions=msg.questions)


class Listener(asyncio.DatagramProtocol):
    """A UDP secondary stand-in that records each NOTIFY and answers via ``answerer``."""

    def __init__(self, answerer: Answerer = ack) -> None:
        self.answerer = answerer
        self.received: list[Message] = []
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        msg = Message.from_wire(data)
        self.received.append(msg)
        reply = self.answerer(msg, len(self.received))
        if reply is not None:
            self.transport.sendto(reply.to_wire(), addr)

    @property
    def address(self) -> tuple[str, int]:
        return self.transport.get_extra_info("sockname")[:2]  # type: ignore[no-any-return]


async def listener(answerer: Answerer = ack) -> Listener:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(lambda: Listener(answerer),
                                                   local_addr=("127.0.0.1", 0))
    return proto


def new_catalog() -> ZoneCatalog:
    return ZoneCatalog(authority=NullAuthority())


async def test_notify_on_new_zone_and_serial_change() -> None:
    secondary = await listener()
    catalog = new_catalog()
    notifier = Notifier(catalog, {"example.test": [secondary.address]}, interval=0.2)
    try:
        v10 = make_zone(10)
        catalog.put(v10)
        await notifier.wait()
        (msg,) = secondary.received
        assert msg.opcode == Opcode.NOTIFY and msg.aa and not msg.qr
        assert [(str(q.name), q.rtype) for q in msg.questions] == [(ORIGIN, RRType.SOA)]
        assert msg.answers == (v10.soa,)
        assert notifier.results[(Name.from_text(ORIGIN), secondary.address)] == Rcode.NOERROR
        catalog.put(make_zone(10, "same A 192.0.2.200\n"))  # same serial: no NOTIFY
        await notifier.wait()
        assert len(secondary.received) == 1
        v11 = make_zone(11)
        catalog.put(v11)
        await notifier.wait()
        assert len(secondary.received) == 2
        assert secondary.received[1].answers == (v11.soa,)
        assert notifier.sent == 2
    finally:
        await notifier.close()
        secondary.transport.close()


async def test_zone_without_targets_is_not_notified() -> None:
    secondary = await listener()
    catalog = new_catalog()
    notifier = Notifier(catalog, {"other.test": [secondary.address]}, interval=0.2)
    catalog.put(make_zone(10))
    await notifier.wait()
    await asyncio.sleep(0.1)
    assert secondary.received == []
    await notifier.close()
    secondary.transport.close()


async def test_retransmitted_until_answered() -> None:
    # silent to the first two, then a response with a wrong id, then a good one
    def answerer(msg: Message, n: int) -> Message | None:
        if n <= 2:
            return None
        reply = ack(msg, n)
        assert reply is not None
        if n == 3:
            return Message(id=(msg.id + 1) & 0xFFFF, flags=reply.flags,
                           questions=reply.questions)
        return reply
    secondary = await listener(answerer)
    catalog = new_catalog()
    notifier = Notifier(catalog, {ORIGIN: [secondary.address]}, interval=0.1, tries=5)
    catalog.put(make_zone(10))
    await notifier.wait()
    assert len(secondary.received) == 4
    assert len({m.id for m in secondary.received}) == 1  # retransmissions, not new queries
    assert notifier.results[(Name.from_text(ORIGIN), secondary.address)] == Rcode.NOERROR
    await notifier.close()
    secondary.transport.close()


async def test_gives_up_after_tries() -> None:
    secondary = await listener(lambda m, n: None)
    catalog = new_catalog()
    notifier = Notifier(catalog, {ORIGIN: [secondary.address]}, interval=0.05, tries=3)
    catalog.put(make_zone(10))
    await notifier.wait()
    await asyncio.sleep(0.1)
    assert len(secondary.received) == 3
    assert notifier.results[(Name.from_text(ORIGIN), secondary.address)] is None
    await notifier.close()
    secondary.transport.close()


async def test_error_rcode_ends_the_retries() -> None:
    def refuse(msg: Message, n: int) -> Message | None:
        return Message(id=msg.id, flags=0x8000 | (Opcode.NOTIFY << 11), rcode=Rcode.NOTAUTH,
                       questions=msg.questions)
    secondary = await listener(refuse)
    catalog = new_catalog()
    notifier = Notifier(catalog, {ORIGIN: [secondary.address]}, interval=0.05)
    result = await notifier.notify(make_zone(10))
    assert result == {secondary.address: Rcode.NOTAUTH}
    assert len(secondary.received) == 1
    await notifier.close()
    secondary.transport.close()


async def test_close_cancels_pending_and_stops_listening() -> None:
    secondary = await listener(lambda m, n: None)
    catalog = new_catalog()
    notifier = Notifier(catalog, {ORIGIN: [secondary.address]}, interval=1.0, tries=5)
    catalog.put(make_zone(10))
    await until(lambda: len(secondary.received) == 1)
    await notifier.close()
    catalog.put(make_zone(11))
    await asyncio.sleep(1.2)
    assert len(secondary.received) == 1
    secondary.transport.close()


async def test_newer_change_replaces_pending_and_removal_cancels() -> None:
    secondary = await listener(lambda m, n: None)
    catalog = new_catalog()
    notifier = Notifier(catalog, {ORIGIN: [secondary.address]}, interval=0.3, tries=3)
    catalog.put(make_zone(10))
    await until(lambda: len(secondary.received) == 1)
    catalog.put(make_zone(11))
    await until(lambda: len(secondary.received) == 2)
    assert secondary.received[1].answers == (make_zone(11).soa,)
    catalog.remove(ORIGIN)
    await asyncio.sleep(0.5)
    assert len(secondary.received) == 2  # nothing more for a removed zone
    assert not notifier._pending
    await notifier.close()
    secondary.transport.close()


def test_change_before_the_loop_runs_is_sent_by_flush() -> None:
    catalog = new_catalog()
    received: list[Message] = []

    async def main() -> None:
        secondary = await listener()
        notifier.targets[Name.from_text(ORIGIN)] = [secondary.address]
        await notifier.flush()
        await notifier.wait()
        received.extend(secondary.received)
        await notifier.close()
        secondary.transport.close()

    notifier = Notifier(catalog, {ORIGIN: [("127.0.0.1", 9)]})
    catalog.put(make_zone(10))  # no loop running yet
    asyncio.run(main())
    assert [m.answers[0] for m in received] == [make_zone(10).soa]


async def test_notify_all_zones_at_start() -> None:
    secondary = await listener()
    catalog = new_catalog()
    catalog.put(make_zone(10))
    notifier = Notifier(catalog, {ORIGIN: [secondary.address]}, interval=0.2)
    await asyncio.sleep(0.05)
    assert secondary.received == []  # zones already there: nothing until asked
    await notifier.notify_all()
    await notifier.wait()
    assert [m.answers for m in secondary.received] == [(make_zone(10).soa,)]
    await notifier.close()
    secondary.transport.close()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Notifier(new_catalog(), {}, tries=0)
    assert notify_message(make_zone(3), id=5).id == 5


async def test_notifier_to_secondaries_over_udp() -> None:
    """A primary's Notifier and a secondary's handle_notify talking over real sockets."""
    state = Primary(make_zone(10))
    secondary_catalog = new_catalog()
    async with FakePrimary(state) as primary:
        secs = Secondaries(secondary_catalog, refresh=3600.0, soa_timeout=0.3,
                           notify_gap=0.1)
        sec = secs.add(ORIGIN, [primary.address])

        class Handler(Listener):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                async def answer() -> None:
                    reply = await secs.handle_notify(Message.from_wire(data), addr)
                    if reply is not None:
                        self.transport.sendto(reply.to_wire(), addr)
                asyncio.get_running_loop().create_task(answer())

        loop = asyncio.get_running_loop()
        transport, handler = await loop.create_datagram_endpoint(
            lambda: Handler(), local_addr=("127.0.0.1", 0))
        primary_catalog = new_catalog()
        notifier = Notifier(primary_catalog, {ORIGIN: [handler.address]}, interval=0.2)
        await secs.start()
        try:
            await secs.wait_ready(2)
            state.zone = make_zone(11, "fresh A 198.51.100.9\n")
            primary_catalog.put(state.zone)
            await notifier.wait()
            assert notifier.results[(Name.from_text(ORIGIN), handler.address)] == \
                Rcode.NOERROR
            await until(lambda: sec.zone == state.zone, 2.0)
            assert secondary_catalog.get(ORIGIN) == state.zone
        finally:
            await notifier.close()
            await secs.stop()
            transport.close()


async def test_plait_primary_to_plait_secondary() -> None:
    """Two plait servers: the primary's catalog change reaches the secondary's server by
    its Notifier, the secondary's handle_notify and an IXFR answered with the full zone."""
    from plait.names.server import serve

    primary_catalog = ZoneCatalog()
    primary_catalog.put(make_zone(10))
    primary = await serve(primary_catalog, "127.0.0.1", 0)
    secondary_catalog = ZoneCatalog()
    secs = Secondaries(secondary_catalog, refresh=3600.0, retry=3600.0, notify_gap=0.1)
    secondary = await serve(secondary_catalog, "127.0.0.1", 0,
                            notify_handler=secs.handle_notify)
    notifier = Notifier(primary_catalog, {ORIGIN: [("127.0.0.1", secondary.port)]},
                        interval=0.3)
    sec = secs.add(ORIGIN, [("127.0.0.1", primary.port)])
    await secs.start()
    try:
        await secs.wait_ready(3)
        assert secondary_catalog.get(ORIGIN) == make_zone(10)
        v11 = make_zone(11, "fresh A 198.51.100.11\n")
        primary_catalog.put(v11)
        await notifier.wait()
        assert notifier.results[(Name.from_text(ORIGIN), ("127.0.0.1", secondary.port))] == \
            Rcode.NOERROR
        await until(lambda: sec.zone == v11, 2.0)
        assert secondary_catalog.get(ORIGIN) == v11
        # and the secondary's server answers from the new copy
        query = Message.make_query(f"fresh.{ORIGIN}", RRType.A, id=77, rd=False)
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        class Client(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                if not got.done():
                    got.set_result(data)
        transport, _ = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", secondary.port))
        try:
            transport.sendto(query.to_wire())
            reply = Message.from_wire(await asyncio.wait_for(got, 2.0))
        finally:
            transport.close()
        assert reply.aa and [str(rr) for rr in reply.answers] == [
            "fresh.example.test. 300 IN A 198.51.100.11"]
    finally:
        await notifier.close()
        await secs.stop()
        await secondary.close()
        await primary.close()
