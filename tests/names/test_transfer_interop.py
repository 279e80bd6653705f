"""Zone transfers with real peers (tests/names/peers.py launchers, Debian packages):

- NSD, named or knotd is the primary and plait the secondary: plait's axfr() fetches what
  dnspython's ``dns.query.xfr`` fetches; ixfr() follows NSD (full-zone answers) and named
  (incremental answers); a SecondaryZone follows the primary's changes by its refresh timer
  and by the primary's NOTIFY, received by plait's own server (``serve(notify_handler=)``).
- named and knotd are secondaries of plait's server: they transfer the zone from it, serve
  the same records, and fetch a new serial when plait's Notifier tells them.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from names.peers import (
    NSD,
    Daemon,
    Knot,
    Named,
    PlaitServer,
    free_port,
    primary,
    query,
    secondary,
)
from plait.names.catalog import ZoneCatalog
from plait.names.constants import type_to_text
from plait.names.message import RR
from plait.names.notify import Notifier
from plait.names.secondary import Secondaries, SecondaryZone
from plait.names.server import serve
from plait.names.xfr_client import axfr, ixfr
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone

pytestmark = pytest.mark.interop

ORIGIN = "xfr.test."
HOST = "127.0.0.1"

# Enough records that a transfer spans several TCP messages, and one of most kinds.
ZONE = """$ORIGIN xfr.test.
$TTL 300
@        IN SOA ns1 hostmaster {serial} 3600 600 86400 300
@        IN NS  ns1
@        IN NS  ns2.elsewhere.example.
@        IN MX  10 mail
@        IN TXT "v=spf1 -all" "second string"
ns1      IN A   127.0.0.1
mail     IN A   192.0.2.25
mail     IN AAAA 2001:db8::25
www      IN CNAME web
web  60  IN A   192.0.2.{serial}
_sip._tcp IN SRV 10 5 5060 web
@        IN CAA 0 issue "ca.example"
*.wild   IN A   192.0.2.99
sub      IN NS  ns.sub
ns.sub   IN A   192.0.2.53
"""
# NSD reads no $GENERATE: the bulk is written out here.
ZONE += "".join(f"host{i} IN A 10.0.{i // 250}.{i % 250 + 1}\n" for i in range(1, 3001))
ZONE += "".join(f'txt{i} IN TXT "record number {i} of a long list of text records"\n'
                for i in range(1, 501))


def zone_text(serial: int) -> str:
    return ZONE.format(serial=serial)


def plait_zone(serial: int) -> Zone:
    return Zone.from_records(ORIGIN, parse_zone(zone_text(serial), ORIGIN))


Key = tuple[str, int, int, Any]


def keys_of_plait(records: Iterable[RR]) -> set[Key]:
    """plait records as dnspython sees them (their presentation text read by dnspython)."""
    out = set()
    for rr in records:
        rdtype = dns.rdatatype.from_text(type_to_text(rr.rtype))
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, rr.rdata.to_text())
        out.add((str(rr.name).lower(), rr.ttl, int(rdtype), rdata))
    return out


def dnspython_axfr(address: tuple[str, int], origin: str) -> tuple[set[Key], int]:
    """Every record of an AXFR by dnspython (closing SOA dropped), and the message count."""
    out: set[Key] = set()
    messages = 0
    for msg in dns.query.xfr(address[0], origin, port=address[1], timeout=10, lifetime=30,
                             relativize=False):
        messages += 1
        for rrset in msg.answer:
            for rdata in rrset:
                out.add((rrset.name.to_text().lower(), rrset.ttl, int(rrset.rdtype), rdata))
    return out, messages


async def until(predicate: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        await asyncio.sleep(0.05)


# --- plait as NSD's secondary -----------------------------------------------------------------

PRIMARIES = [NSD, Named, Knot]


@pytest.mark.parametrize("cls", PRIMARIES, ids=lambda c: c.name)
def test_axfr_equals_dnspython(cls: type[Daemon]) -> None:
    with cls([primary(ORIGIN, zone_text(1))]) as peer:
        zone = asyncio.run(axfr(peer.address, ORIGIN, timeout=20))
        theirs, messages = dnspython_axfr(peer.address, ORIGIN)
    assert messages > 1, "the transfer should span several messages"
    assert zone.serial == 1
    assert len(zone.records) == len(plait_zone(1).records) > 3500
    assert keys_of_plait(zone.records) == theirs
    assert set(zone.records) == set(plait_zone(1).records)


def test_ixfr_from_nsd_after_a_change() -> None:
    with NSD([primary(ORIGIN, zone_text(1))]) as nsd:
        v1 = asyncio.run(axfr(nsd.address, ORIGIN, timeout=20))
        nsd.set_zone(ORIGIN, zone_text(2))
        nsd.wait_serial(ORIGIN, 2, timeout=20)

        async def both() -> tuple[Zone, Zone]:
            return (await ixfr(nsd.address, v1, timeout=20),
                    await axfr(nsd.address, ORIGIN, timeout=20))
        incremental, full = asyncio.run(both())
        up_to_date = asyncio.run(ixfr(nsd.address, full, timeout=20))
    assert incremental.serial == full.serial == 2
    assert set(incremental.records) == set(full.records) == set(plait_zone(2).records)
    assert up_to_date is full


def test_secondary_zone_refreshes_from_nsd_by_timer() -> None:
    with NSD([primary(ORIGIN, zone_text(1))]) as nsd:
        async def run() -> None:
            catalog = ZoneCatalog()
            sec = SecondaryZone(catalog, ORIGIN, [nsd.address], refresh=0.5, retry=0.5)
            await sec.start()
            try:
                await sec.wait_ready(20)
                assert catalog.get(ORIGIN) == sec.zone and sec.zone is not None
                assert set(sec.zone.records) == set(plait_zone(1).records)
                nsd.set_zone(ORIGIN, zone_text(2))
                await until(lambda: sec.zone is not None and sec.zone.serial == 2, 20,
                            "serial 2 by refresh")
                assert set(sec.zone.records) == set(plait_zone(2).records)
                assert catalog.get(ORIGIN) == sec.zone
            finally:
                await sec.stop()
        asyncio.run(run())


@pytest.mark.parametrize("cls", PRIMARIES, ids=lambda c: c.name)
def test_secondary_follows_notify(cls: type[Daemon]) -> None:
    """The primary (NSD, named, knotd) NOTIFYs plait's server; Secondaries.handle_notify
    answers and refreshes; plait's server then answers queries from the new copy."""
    async def run() -> None:
        catalog = ZoneCatalog()
        secs = Secondaries(catalog, refresh=3600.0, retry=3600.0)
        server = await serve(catalog, HOST, 0, notify_handler=secs.handle_notify)
        ours = (HOST, server.port)
        peer = cls([primary(ORIGIN, zone_text(1), notify=[ours])])
        await asyncio.to_thread(peer.start)
        try:
            secs.add(ORIGIN, [peer.address])
            await secs.start()
            await secs.wait_ready(20)
            r = await asyncio.to_thread(query, ours, f"web.{ORIGIN}", "A")
            assert [str(rd) for rrset in r.answer for rd in rrset] == ["192.0.2.1"]
            peer.set_zone(ORIGIN, zone_text(2))
            # the refresh timer is an hour: only NOTIFY brings serial 2 this fast
            zone = secs.get(ORIGIN)
            assert zone is not None
            await until(lambda: zone.zone is not None and zone.zone.serial == 2, 20,
                        f"serial 2 after {cls.name}'s NOTIFY")
            r = await asyncio.to_thread(query, ours, f"web.{ORIGIN}", "A")
            assert [str(rd) for rrset in r.answer for rd in rrset] == ["192.0.2.2"]
        finally:
            await secs.stop()
            await server.close()
            await asyncio.to_thread(peer.stop)
    asyncio.run(run())


# --- named and knotd as plait's secondaries ---------------------------------------------------

def peer_records(daemon: Daemon) -> set[Key]:
    records, _ = dnspython_axfr(daemon.address, ORIGIN)
    return records


@pytest.mark.parametrize("cls", [Named, Knot], ids=lambda c: c.name)
def test_peer_secondary_of_plait(cls: type[Daemon]) -> None:
    with PlaitServer([(ORIGIN, zone_text(1))]) as plait:
        port = free_port()
        with cls([secondary(ORIGIN, [plait.address])], port=port) as peer:
            assert peer.wait_serial(ORIGIN, 1, timeout=30) == 1
            # the peer holds and serves exactly plait's zone
            assert peer_records(peer) == keys_of_plait(plait_zone(1).records)
            r = query(peer.address, f"web.{ORIGIN}", "A")
            assert [str(rd) for rrset in r.answer for rd in rrset] == ["192.0.2.1"]
            assert r.flags & dns.flags.AA

            async def start_notifier() -> Notifier:
                return Notifier(plait.catalog, {ORIGIN: [peer.address]},  # type: ignore[arg-type]
                                interval=1.0)
            notifier = plait.call(start_notifier())

            async def change() -> None:
                plait.catalog.put(plait_zone(2))  # type: ignore[attr-defined]
            start = time.monotonic()
            plait.call(change())
            # the peer's refresh timer is an hour: only plait's NOTIFY brings serial 2
            assert peer.wait_serial(ORIGIN, 2, timeout=20) == 2
            assert time.monotonic() - start < 20
            assert peer_records(peer) == keys_of_plait(plait_zone(2).records)
            results = plait.call(_results(notifier))
            assert list(results.values()) == [0], results
            plait.call(notifier.close())


async def _results(notifier: Notifier) -> dict[Any, int | None]:
    await notifier.wait()
    return dict(notifier.results)



class NamedWithIxfr(Named):
    """named keeping the differences of each reload (``ixfr-from-differences``), so that
    it answers IXFR in the incremental form."""

    def write_config(self) -> list[str]:
        argv = super().write_config()
        conf = self.dir / "named.conf"
        text = conf.read_text().replace("  recursion no;",
                                        "  recursion no;\n  ixfr-from-differences yes;", 1)
        conf.write_text(text)
        return argv


def test_ixfr_incremental_from_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from plait.names import xfr_client

    with NamedWithIxfr([primary(ORIGIN, zone_text(1))]) as named:
        v1 = asyncio.run(axfr(named.address, ORIGIN, timeout=20))
        named.set_zone(ORIGIN, zone_text(2) + "added IN A 192.0.2.222\n")
        named.wait_serial(ORIGIN, 2, timeout=20)
        named.set_zone(ORIGIN, zone_text(3))
        named.wait_serial(ORIGIN, 3, timeout=20)
        # named answers in the incremental form (dnspython sees two difference sequences)
        q = dns.message.make_query(ORIGIN, "IXFR")
        q.authority = [dns.rrset.from_text(ORIGIN, 300, "IN", "SOA",
                                           f"ns1.{ORIGIN} hostmaster.{ORIGIN} 1 3600 600 "
                                           "86400 300")]
        r = dns.query.tcp(q, named.address[0], port=named.address[1], timeout=10,
                          one_rr_per_rrset=True)
        soas = [rrset[0].serial for rrset in r.answer if rrset.rdtype == dns.rdatatype.SOA]
        assert soas[:3] == [3, 1, 2], soas

        async def no_axfr(*args: Any, **kw: Any) -> Zone:
            raise AssertionError("ixfr() fell back to AXFR")
        monkeypatch.setattr(xfr_client, "axfr", no_axfr)
        got = asyncio.run(ixfr(named.address, v1, timeout=20))
    assert got.serial == 3
    assert set(got.records) == set(plait_zone(3).records)
