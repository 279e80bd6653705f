"""plait.names.xfr_server: AXFR/IXFR out, checked with dnspython as the client."""
from __future__ import annotations

import asyncio

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.xfr
import dns.zone
import pytest

from plait.names.catalog import ZoneCatalog
from plait.names.message import Message
from plait.names.server import serve
from plait.names.xfr_server import MAX_MESSAGE, XfrServer
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone


def big_zone(hosts: int) -> Zone:
    lines = ["$TTL 300", "@ SOA ns1 hostmaster 99 3600 600 86400 300", "@ NS ns1",
             "ns1 A 127.0.0.1", '@ TXT "hello world"', "mail MX 10 ns1"]
    lines += [f"host{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(hosts)]
    return Zone.from_records("example.test", parse_zone("\n".join(lines), "example.test"))


def catalog_with(z: Zone) -> ZoneCatalog:
    cat = ZoneCatalog()
    cat.put(z)
    return cat


def expected_records(z: Zone) -> set[str]:
    return {str(rr).lower() for rr in z.records}


def dnspython_records(dz: dns.zone.Zone) -> set[str]:
    out = set()
    for name, node in dz.nodes.items():
        owner = name.derelativize(dz.origin)
        for rdataset in node.rdatasets:
            for rd in rdataset:
                out.add(f"{owner} {rdataset.ttl} IN {dns.rdatatype.to_text(rdataset.rdtype)} "
                        f"{rd.to_text(origin=dz.origin, relativize=False)}".lower())
    return out


@pytest.mark.parametrize("hosts", [3, 5000])
async def test_axfr_with_dnspython(hosts: int) -> None:
    z = big_zone(hosts)
    srv = await serve(catalog_with(z), "127.0.0.1", 0)
    try:
        def fetch() -> dns.zone.Zone:
            return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", "example.test", port=srv.port,
                                                   timeout=10, relativize=False),
                                     relativize=False)
        dz = await asyncio.to_thread(fetch)
        assert dnspython_records(dz) == expected_records(z)
    finally:
        await srv.close()


def test_messages_stay_under_64k_and_frame_the_zone_with_soa() -> None:
    z = big_zone(20000)
    query = Message.make_query("example.test", 252, id=77)
    wires = list(XfrServer(ZoneCatalog(authority=object())).transfer(query, z))
    assert len(wires) > 1
    assert all(len(w) <= MAX_MESSAGE for w in wires)
    messages = [Message.from_wire(w) for w in wires]
    assert all(m.id == 77 and m.aa and m.qr for m in messages)
    assert messages[0].questions and not messages[1].questions
    answers = [rr for m in messages for rr in m.answers]
    assert answers[0] == z.soa and answers[-1] == z.soa
    assert answers[:-1] == list(z.records)


async def test_refused_outside_allow_list_and_over_udp() -> None:
    srv = await serve(catalog_with(big_zone(3)), "127.0.0.1", 0, transfer_allow=("10.0.0.0/8",))
    try:
        def attempt() -> None:
            list(dns.query.xfr("127.0.0.1", "example.test", port=srv.port, timeout=5))
        with pytest.raises(dns.xfr.TransferError) as info:
            await asyncio.to_thread(attempt)
        assert info.value.rcode == dns.rcode.REFUSED
    finally:
        await srv.close()
    srv = await serve(catalog_with(big_zone(3)), "127.0.0.1", 0)
    try:
        q = dns.message.make_query("example.test", "AXFR")
        r = await asyncio.to_thread(dns.query.udp, q, "127.0.0.1", timeout=5, port=srv.port)
        assert r.rcode() == dns.rcode.REFUSED
        q = dns.message.make_query("nothere.test", "AXFR")
        r = await asyncio.to_thread(dns.query.tcp, q, "127.0.0.1", timeout=5, port=srv.port)
        assert r.rcode() == dns.rcode.NOTAUTH
    finally:
        await srv.close()


async def test_ixfr_udp_gives_soa_and_tcp_gives_whole_zone() -> None:
    z = big_zone(50)
    srv = await serve(catalog_with(z), "127.0.0.1", 0)
    try:
        q = dns.message.make_query("example.test", "IXFR")
        q.authority.append(dns.rrset.from_text("example.test.", 0, "IN", "SOA",
                                               "ns1.example.test. h.example.test. 90 1 1 1 1"))
        r = await asyncio.to_thread(dns.query.udp, q, "127.0.0.1", timeout=5, port=srv.port)
        assert r.rcode() == dns.rcode.NOERROR
        assert len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.SOA
        assert r.answer[0][0].serial == 99

        def ixfr() -> dns.zone.Zone:
            return dns.zone.from_xfr(dns.query.xfr(
                "127.0.0.1", "example.test", rdtype=dns.rdatatype.IXFR, serial=90,
                port=srv.port, timeout=10, relativize=False), relativize=False)
        dz = await asyncio.to_thread(ixfr)
        assert dnspython_records(dz) == expected_records(z)
    finally:
        await srv.close()


def test_allowed_addresses() -> None:
    x = XfrServer(ZoneCatalog(authority=object()), ("127.0.0.0/8", "2001:db8::/32"))
    assert x.allowed("127.0.0.5") and x.allowed("::ffff:127.0.0.1")
    assert x.allowed("2001:db8::1") and not x.allowed("2001:db9::1")
    assert not x.allowed("10.0.0.1") and not x.allowed("garbage")
    with pytest.raises(ValueError, match="not-a-net"):
        XfrServer(ZoneCatalog(authority=object()), ("not-a-net",))
