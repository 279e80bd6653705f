"""plait.names.secondary: initial transfer, SOA-timer refresh, retry, expiry, old copy kept
until a new one is complete, NOTIFY handling. Primaries are in-test servers (see
test_xfr_client) whose zone the test changes; timers are fractions of a second."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from names.test_xfr_client import (
    ORIGIN,
    FakePrimary,
    Step,
    answer,
    axfr_messages,
    make_zone,
)
from plait.names.catalog import ZoneCatalog
from plait.names.constants import Opcode, Rcode, RRType
from plait.names.message import RR, Message, Question
from plait.names.name import Name
from plait.names.secondary import Secondaries, SecondaryZone
from plait.names.zone import Zone

FAST = {"refresh": 0.2, "retry": 0.1, "expire": 30.0, "first_retry": 0.1,
        "soa_timeout": 0.3, "transfer_timeout": 2.0}


class NullAuthority:
    """Stands in for the native authority (the catalog's bookkeeping is what is tested)."""

    def __init__(self) -> None:
        self.zones: dict[Name, Sequence[RR]] = {}

    def set_zone(self, origin: Name, records: Sequence[RR]) -> None:
        self.zones[origin] = records

    def remove_zone(self, origin: Name) -> None:
        del self.zones[origin]


def new_catalog() -> tuple[ZoneCatalog, list[tuple[Zone | None, Zone | None]]]:
    catalog = ZoneCatalog(authority=NullAuthority())
    changes: list[tuple[Zone | None, Zone | None]] = []
    catalog.add_listener(lambda old, new: changes.append((old, new)))
    return catalog, changes


class Primary:
    """What the in-test primary serves: ``zone``; ``down`` makes it silent; ``hang_axfr``
    makes transfers stall after their first message; ``ixfr`` False answers IXFR NOTIMP."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.down = False
        self.hang_axfr = False
        self.ixfr = True

    def __call__(self, q: Message) -> list[Step]:
        if self.down:
            return []
        rtype = q.questions[0].rtype
        if rtype == RRType.SOA:
            return [answer(q, [self.zone.soa])]
        if rtype == RRType.IXFR and not self.ixfr:
            return [answer(q, [], rcode=Rcode.NOTIMP)]
        if rtype == RRType.IXFR and q.authority and q.authority[0] == self.zone.soa:
            return [answer(q, [self.zone.soa])]
        steps = axfr_messages(q, self.zone, 5)
        if self.hang_axfr:
            return [steps[0], "hang"]
        return steps


async def until(predicate: Any, timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


def rtypes(primary: FakePrimary) -> list[int]:
    return [q.questions[0].rtype for q in primary.queries]


async def test_initial_transfer_and_refresh() -> None:
    catalog, changes = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        sec = SecondaryZone(catalog, ORIGIN, [primary.address], **FAST)
        await sec.start()
        try:
            await sec.wait_ready(2)
            assert catalog.get(ORIGIN) == state.zone
            assert changes == [(None, state.zone)]
            # the refresh timer (0.2 s) finds a newer serial and transfers it
            state.zone = make_zone(11, "new A 198.51.100.1\n")
            await until(lambda: catalog.get(ORIGIN) == state.zone)
            assert changes[-1] == (make_zone(10), state.zone)
            assert RRType.IXFR in rtypes(primary)  # IXFR first, as we held a copy
        finally:
            await sec.stop()
    assert catalog.get(ORIGIN) is None


async def test_refresh_without_change_transfers_nothing() -> None:
    catalog, changes = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        sec = SecondaryZone(catalog, ORIGIN, [primary.address])
        assert await sec.refresh() is True
        assert rtypes(primary) == [RRType.SOA, RRType.AXFR]
        assert await sec.refresh() is True
        assert rtypes(primary) == [RRType.SOA, RRType.AXFR, RRType.SOA]
        state.zone = make_zone(9)  # an older serial on the primary is not taken
        assert await sec.refresh() is True
        assert catalog.get(ORIGIN) == make_zone(10)
        # RFC 1982: 10 + 2**31 - 1 is still "after" 10
        state.zone = make_zone(10 + 2**31 - 1)
        assert await sec.refresh() is True
        assert catalog.get(ORIGIN) == state.zone
    assert len(changes) == 2


async def test_use_ixfr_false_and_ixfr_fallback() -> None:
    catalog, _ = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        sec = SecondaryZone(catalog, ORIGIN, [primary.address], use_ixfr=False)
        assert await sec.refresh()
        state.zone = make_zone(11)
        assert await sec.refresh()
        assert RRType.IXFR not in rtypes(primary)
        assert catalog.get(ORIGIN) == state.zone
    state.ixfr = False
    async with FakePrimary(state) as primary:
        sec2 = SecondaryZone(new_catalog()[0], ORIGIN, [primary.address])
        assert await sec2.refresh()
        state.zone = make_zone(12)
        assert await sec2.refresh()
        assert rtypes(primary) == [RRType.SOA, RRType.AXFR, RRType.SOA, RRType.IXFR,
                                   RRType.AXFR]
        assert sec2.zone == state.zone


async def test_old_copy_served_until_new_one_is_complete() -> None:
    catalog, changes = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        sec = SecondaryZone(catalog, ORIGIN, [primary.address], transfer_timeout=0.3)
        assert await sec.refresh()
        state.zone = make_zone(11, "new A 198.51.100.1\n")
        state.hang_axfr = True
        state.ixfr = False
        assert await sec.refresh() is False
        assert catalog.get(ORIGIN) == make_zone(10)
        assert sec.last_error is not None
        state.hang_axfr = False
        assert await sec.refresh() is True
        assert catalog.get(ORIGIN) == state.zone
    assert [new.serial for _, new in changes if new] == [10, 11]


async def test_second_primary_used_when_first_fails() -> None:
    catalog, _ = new_catalog()
    dead_state = Primary(make_zone(10))
    dead_state.down = True
    state = Primary(make_zone(10))
    async with FakePrimary(dead_state) as dead, FakePrimary(state) as live:
        sec = SecondaryZone(catalog, ORIGIN, [dead.address, live.address], soa_timeout=0.2)
        assert await sec.refresh()
        assert catalog.get(ORIGIN) == state.zone


async def test_initial_failure_retried_with_backoff() -> None:
    catalog, _ = new_catalog()
    state = Primary(make_zone(10))
    state.down = True
    async with FakePrimary(state) as primary:
        sec = SecondaryZone(catalog, ORIGIN, [primary.address],
                            **{**FAST, "first_retry": 0.05, "max_first_retry": 0.2,
                               "soa_timeout": 0.1})
        await sec.start()
        try:
            await asyncio.sleep(0.8)
            assert catalog.get(ORIGIN) is None
            tries = len(primary.queries)
            # 0.1 s per failed check (3 sends) plus 0.05, 0.1, 0.2, 0.2 ... between checks
            assert 6 <= tries <= 24
            state.down = False
            await sec.wait_ready(2)
            assert catalog.get(ORIGIN) == state.zone
        finally:
            await sec.stop()


async def test_retry_then_expire_then_recover() -> None:
    catalog, changes = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        sec = SecondaryZone(catalog, ORIGIN, [primary.address],
                            **{**FAST, "expire": 0.7, "soa_timeout": 0.1})
        await sec.start()
        try:
            await sec.wait_ready(2)
            state.down = True
            loop = asyncio.get_running_loop()
            start = loop.time()
            await until(lambda: catalog.get(ORIGIN) is None, 2.0)
            assert 0.3 < loop.time() - start < 1.5
            assert changes[-1] == (state.zone, None)
            assert not sec.serving and not sec.ready.is_set()
            state.down = False
            await sec.wait_ready(2)
            assert catalog.get(ORIGIN) == state.zone
        finally:
            await sec.stop()


async def test_timers_come_from_the_soa() -> None:
    catalog, _ = new_catalog()
    zone = make_zone(10)
    sec = SecondaryZone(catalog, ORIGIN, [("127.0.0.1", 9)])
    assert (sec.refresh_interval, sec.retry_interval, sec.expire_interval) == \
        (3600.0, 600.0, 604800.0)  # defaults before any copy
    sec.zone = zone  # SOA: refresh 3600, retry 600, expire 86400
    assert (sec.refresh_interval, sec.retry_interval, sec.expire_interval) == \
        (3600.0, 600.0, 86400.0)
    sec.zone = Zone.from_records(ORIGIN, [
        RR.from_text("@ 300 IN SOA ns1 h 1 0 0 0 0", ORIGIN),
        RR.from_text("@ 300 IN NS ns1", ORIGIN)])
    assert sec.refresh_interval == sec.retry_interval == sec.expire_interval == 1.0
    with pytest.raises(ValueError):
        SecondaryZone(catalog, ORIGIN, [])


# --- NOTIFY -----------------------------------------------------------------------------------

def notify_message(origin: str, mid: int = 4321, rtype: int = RRType.SOA,
                   answers: Sequence[RR] = ()) -> Message:
    return Message(id=mid, flags=0x0400 | (Opcode.NOTIFY << 11),
                   questions=(Question(Name.from_text(origin), rtype),), answers=tuple(answers))


async def test_notify_triggers_refresh() -> None:
    catalog, _ = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        secs = Secondaries(catalog, refresh=3600.0, retry=3600.0, soa_timeout=0.3,
                           notify_gap=0.1)
        sec = secs.add(ORIGIN, [primary.address])
        await secs.start()
        try:
            await secs.wait_ready(2)
            state.zone = make_zone(11, "n A 198.51.100.7\n")
            msg = notify_message(ORIGIN, answers=[state.zone.soa])
            reply = await secs.handle_notify(msg, ("127.0.0.1", 40000))
            assert reply is not None
            assert reply.id == 4321 and reply.qr and reply.aa
            assert reply.opcode == Opcode.NOTIFY and reply.rcode == Rcode.NOERROR
            assert reply.questions == msg.questions
            Message.from_wire(reply.to_wire())  # it renders
            await until(lambda: catalog.get(ORIGIN) == state.zone, 2.0)
            assert sec.zone == state.zone
        finally:
            await secs.stop()
    assert catalog.get(ORIGIN) is None


async def test_notify_flood_is_throttled() -> None:
    catalog, _ = new_catalog()
    state = Primary(make_zone(10))
    async with FakePrimary(state) as primary:
        secs = Secondaries(catalog, refresh=3600.0, retry=3600.0, notify_gap=0.3)
        secs.add(ORIGIN, [primary.address])
        await secs.start()
        try:
            await secs.wait_ready(2)
            before = rtypes(primary).count(RRType.SOA)
            loop = asyncio.get_running_loop()
            start = loop.time()
            while loop.time() - start < 1.0:
                reply = await secs.handle_notify(notify_message(ORIGIN), primary.address)
                assert reply is not None and reply.rcode == Rcode.NOERROR
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.35)
            checks = rtypes(primary).count(RRType.SOA) - before
            assert 2 <= checks <= 5, checks  # about one per 0.3 s, not one per NOTIFY
        finally:
            await secs.stop()


async def test_notify_refusals() -> None:
    catalog, _ = new_catalog()
    secs = Secondaries(catalog)
    sec = secs.add(ORIGIN, [("127.0.0.1", 5300), ("::ffff:127.0.0.3", 53)])
    peer = ("127.0.0.1", 1234)

    async def rcode(msg: Message, frm: tuple[str, int] = peer) -> int:
        reply = await secs.handle_notify(msg, frm)
        assert reply is not None and reply.qr and reply.id == msg.id
        return reply.rcode

    assert await rcode(notify_message("other.test.")) == Rcode.NOTAUTH
    assert await rcode(notify_message(ORIGIN), ("127.0.0.2", 53)) == Rcode.REFUSED
    assert await rcode(notify_message(ORIGIN, rtype=RRType.A)) == Rcode.FORMERR
    no_question = Message(id=9, flags=Opcode.NOTIFY << 11)
    assert await rcode(no_question) == Rcode.FORMERR
    assert await rcode(Message(id=10, flags=Opcode.UPDATE << 11,
                               questions=notify_message(ORIGIN).questions)) == Rcode.NOTIMP
    response = notify_message(ORIGIN).with_flags(qr=True)
    assert await secs.handle_notify(response, peer) is None
    # an IPv4-mapped primary address and case-insensitive zone names match
    assert await rcode(notify_message("EXAMPLE.test."), ("127.0.0.3", 999)) == Rcode.NOERROR
    assert await rcode(notify_message(ORIGIN), ("::ffff:127.0.0.1", 999)) == Rcode.NOERROR
    assert sec._wake.is_set()
    with pytest.raises(ValueError):
        secs.add(ORIGIN, [("127.0.0.1", 1)])
    await secs.remove(ORIGIN)
    assert await rcode(notify_message(ORIGIN)) == Rcode.NOTAUTH
