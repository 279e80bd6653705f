"""The Resolver: lookup_* methods, the chain hosts -> cache -> network, the search list,
resolve_message for a recursive server, lookup_zone by AXFR."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from names.test_stub import FakeServer, Reply, answer
from plait.names.cache import Cache
from plait.names.constants import Opcode, Rcode, RRClass, RRType
from plait.names.errors import DNSNameError
from plait.names.hosts import Hosts
from plait.names.message import RR, Edns, Message
from plait.names.name import Name
from plait.names.rdata import AAAA, MX, NS, PTR, SOA, SRV, TXT, A
from plait.names.resolver import Resolver, Result
from plait.names.stub import StubResolver

ZONE = Name.from_text("example.test.")
SOA_RR = RR(ZONE, RRType.SOA, RRClass.IN, 300,
            SOA(Name.from_text("ns.example.test."), Name.from_text("host.example.test."),
                7, 3600, 600, 86400, 30))


def _n(text: str) -> Name:
    return Name.from_text(text)


DATA: dict[tuple[Name, int], list[RR]] = {}


def _add(name: str, rdata: object, ttl: int = 300) -> None:
    n = _n(name)
    DATA.setdefault((n, rdata.type_code()), []).append(  # type: ignore[attr-defined]
        RR(n, rdata.type_code(), RRClass.IN, ttl, rdata))  # type: ignore[attr-defined, arg-type]


_add("www.example.test.", A("192.0.2.1"), ttl=100)
_add("www.example.test.", AAAA("2001:db8::1"))
_add("example.test.", NS(_n("ns.example.test.")))
_add("example.test.", MX(10, _n("mail.example.test.")))
_add("example.test.", TXT((b"v=spf1 -all",)))
_add("_sip._udp.example.test.", SRV(1, 2, 5060, _n("sip.example.test.")))
_add("1.2.0.192.in-addr.arpa.", PTR(_n("www.example.test.")))
_add("host.corp.test.", A("192.0.2.50"))
_add("host.test.", A("192.0.2.60"))


def zone_server(query: Message, tcp: bool) -> list[Reply]:
    q = query.questions[0]
    if q.rtype == RRType.AXFR:
        if not tcp:
            return [answer(query, rcode=Rcode.REFUSED)]
        records = [SOA_RR, *(rr for rrs in DATA.values() for rr in rrs
                             if rr.name.is_subdomain(ZONE))]
        return [answer(query, *records[:3], edns=False),
                answer(query, *records[3:], SOA_RR, edns=False)]
    if q.rtype == RRType.ANY:
        found = [rr for (name, _), rrs in DATA.items() if name == q.name for rr in rrs]
    else:
        found = DATA.get((q.name, q.rtype), [])
    if found:
        return [answer(query, *found)]
    exists = any(name == q.name for name, _ in DATA)
    response = answer(query, rcode=Rcode.NOERROR if exists else Rcode.NXDOMAIN)
    return [Message(response.id, response.flags, response.rcode, response.questions,
                    authority=(SOA_RR,), edns=response.edns)]


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


async def test_lookups() -> None:
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address])
        answers, authority, additional = await r.lookup_address("www.example.test")
        assert [rr.rdata for rr in answers] == [A("192.0.2.1")]
        assert authority == () and additional == ()
        res = await r.lookup_ipv6_address("www.example.test.")
        assert isinstance(res, Result) and len(res) == 3
        assert res[0][0].rdata == AAAA("2001:db8::1")
        assert (await r.lookup_mail_exchange("example.test")).answers[0].rdata == MX(
            10, _n("mail.example.test."))
        assert (await r.lookup_text("example.test")).answers[0].rdata == TXT((b"v=spf1 -all",))
        assert (await r.lookup_service("_sip._udp.example.test")).answers[0].rdata.port == 5060  # type: ignore[attr-defined]
        ptr = await r.lookup_pointer("192.0.2.1")
        assert ptr.answers[0].rdata == PTR(_n("www.example.test."))
        assert (await r.lookup_pointer("1.2.0.192.in-addr.arpa")).answers == ptr.answers
        everything = await r.lookup_all_records(_n("www.example.test."))
        assert {rr.rtype for rr in everything.answers} == {RRType.A, RRType.AAAA}
        generic = await r.query("example.test", RRType.MX)
        assert generic.answers[0].rtype == RRType.MX
        nodata = await r.lookup_address("example.test")
        assert nodata.answers == () and nodata.authority == (SOA_RR,)


async def test_nxdomain_raises_name_error() -> None:
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address])
        with pytest.raises(DNSNameError) as info:
            await r.lookup_address("nope.example.test")
        assert info.value.rcode == Rcode.NXDOMAIN
        response = info.value.response
        assert isinstance(response, Message) and response.authority == (SOA_RR,)


async def test_chain_hosts_then_cache_then_network(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("192.0.2.99 www.example.test\n")
    clock = Clock()
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address], hosts=Hosts(hosts_file), cache=Cache(clock=clock))
        got = await r.lookup_address("www.example.test")
        assert [rr.rdata for rr in got.answers] == [A("192.0.2.99")]      # the hosts file
        assert not server.udp_queries
        six = await r.lookup_ipv6_address("www.example.test")             # not in hosts
        assert six.answers[0].rdata == AAAA("2001:db8::1")
        assert len(server.udp_queries) == 1
        clock.now += 10
        again = await r.lookup_ipv6_address("WWW.example.test")           # from the cache
        assert len(server.udp_queries) == 1
        assert again.answers[0].ttl == 290
        # negative answers are cached too: for min(SOA TTL, MINIMUM) = 30 s
        for _ in range(2):
            with pytest.raises(DNSNameError):
                await r.lookup_text("gone.example.test")
        assert len(server.udp_queries) == 2
        clock.now += 31
        with pytest.raises(DNSNameError):
            await r.lookup_text("gone.example.test")
        assert len(server.udp_queries) == 3
        # the hosts file edited: seen at once
        hosts_file.write_text("192.0.2.98 www.example.test\n")
        import os
        st = hosts_file.stat()
        os.utime(hosts_file, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        got = await r.lookup_address("www.example.test")
        assert got.answers[0].rdata == A("192.0.2.98")


def test_search_candidates() -> None:
    r = Resolver([("127.0.0.1", 53)], search=["corp.test", "test."], ndots=1)
    texts = lambda name: [str(n) for n in r.candidates(name)]
    assert texts("host") == ["host.corp.test.", "host.test.", "host."]
    assert texts("host.sub") == ["host.sub.", "host.sub.corp.test.", "host.sub.test."]
    assert texts("host.") == ["host."]
    assert texts(_n("host.")) == ["host."]
    r.ndots = 2
    assert texts("host.sub") == ["host.sub.corp.test.", "host.sub.test.", "host.sub."]


async def test_search_goes_on_after_nxdomain() -> None:
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address], search=["nowhere.test", "corp.test", "test"])
        got = await r.lookup_address("host")
        assert got.answers[0].rdata == A("192.0.2.50")
        asked = [str(q.questions[0].name) for q, _ in server.udp_queries]
        assert asked == ["host.nowhere.test.", "host.corp.test."]
        with pytest.raises(DNSNameError):
            await r.lookup_address("missing")
        assert len(server.udp_queries) == 2 + 4


async def test_resolve_message() -> None:
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address])
        query = Message.make_query("www.example.test", RRType.A, id=4242,
                                   edns=Edns(udp_size=4096))
        response = await r.resolve_message(query)
        assert response.id == 4242 and response.qr and response.ra and response.rd
        assert not response.aa
        assert response.rcode == Rcode.NOERROR and response.answers[0].rdata == A("192.0.2.1")
        assert response.questions == query.questions and response.edns is not None
        nx = await r.resolve_message(Message.make_query("nope.example.test", RRType.A, id=9,
                                                        rd=False))
        assert nx.rcode == Rcode.NXDOMAIN and nx.authority == (SOA_RR,) and not nx.rd
        assert nx.id == 9 and nx.edns is None
        bad = await r.resolve_message(Message(id=3))
        assert bad.rcode == Rcode.FORMERR and bad.id == 3
        notify = Message(id=5, flags=Opcode.NOTIFY << 11,
                         questions=query.questions)
        nope = await r.resolve_message(notify)
        assert nope.rcode == Rcode.NOTIMP and nope.opcode == Opcode.NOTIFY
        xfr = await r.resolve_message(Message.make_query("example.test", RRType.AXFR, id=6))
        assert xfr.rcode == Rcode.REFUSED


async def test_resolve_message_servfail_on_timeout() -> None:
    async with FakeServer(lambda q, tcp: []) as server:
        r = Resolver([server.address], timeout=0.2, attempts=1)
        response = await r.resolve_message(Message.make_query("a.test", RRType.A, id=77))
        assert response.rcode == Rcode.SERVFAIL and response.id == 77 and response.ra


async def test_lookup_zone_by_axfr() -> None:
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address])
        zone = await r.lookup_zone("example.test")
        assert zone.answers[0] == SOA_RR and zone.answers[-1] == SOA_RR
        names = {rr.name for rr in zone.answers}
        assert _n("www.example.test.") in names and _n("_sip._udp.example.test.") in names
        assert len(zone.answers) == 2 + sum(
            len(v) for k, v in DATA.items() if k[0].is_subdomain(ZONE))


def test_from_system(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.9\nnameserver ::1\nsearch corp.test\n"
                    "options ndots:2 timeout:1 attempts:3 rotate\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    r = Resolver.from_system(resolv_conf=conf, hosts=hosts)
    assert r.servers == [("127.0.0.9", 53), ("::1", 53)]
    assert r.search == [_n("corp.test.")] and r.ndots == 2
    assert r.cache is not None and r.hosts is not None
    stub = r.network
    assert stub.timeout == 1.0 and stub.attempts == 3 and stub.rotate  # type: ignore[attr-defined]
    bare = Resolver.from_system(resolv_conf=tmp_path / "absent", hosts=None, cache=False)
    assert bare.servers == [("127.0.0.1", 53)] and bare.cache is None and bare.hosts is None


async def test_from_system_answers_from_hosts(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost\n")
    r = Resolver.from_system(resolv_conf=tmp_path / "absent", hosts=hosts)
    assert (await r.lookup_address("localhost")).answers[0].rdata == A("127.0.0.1")
    assert (await r.lookup_ipv6_address("localhost")).answers[0].rdata == AAAA("::1")
    assert (await r.lookup_pointer("127.0.0.1")).answers[0].rdata == PTR(_n("localhost."))


def test_needs_a_network() -> None:
    with pytest.raises(ValueError):
        Resolver()


async def test_custom_network() -> None:
    class Fixed:
        def __init__(self) -> None:
            self.asked: list[tuple[Name, int]] = []

        async def query(self, name: Name | str, rtype: int,
                        rclass: int = RRClass.IN) -> Message:
            assert isinstance(name, Name)
            self.asked.append((name, rtype))
            q = Message.make_query(name, rtype, rclass, id=1)
            return answer(q, RR(name, RRType.NS, RRClass.IN, 60, NS(_n("ns.test."))))

    fixed = Fixed()
    r = Resolver(network=fixed)
    got = await r.lookup_nameservers("zone.test")
    assert got.answers[0].rdata == NS(_n("ns.test.")) and fixed.asked == [
        (_n("zone.test."), RRType.NS)]
    with pytest.raises(ValueError):
        await r.lookup_zone("zone.test")    # no server to transfer from


async def test_recursive_server_through_the_hierarchy() -> None:
    """plait's server with ``resolver=`` (``serve --recursive``), resolving iteratively
    through the local hierarchy, asked by the stub resolver and by dig."""
    from names.test_root import HINTS, hierarchy, native_authority
    if not native_authority():
        pytest.skip("plait._native has no DnsCatalog: the native authority is not built")
    from names.peers import dig
    from plait.names.catalog import ZoneCatalog
    from plait.names.root import RootResolver
    from plait.names.server import serve

    async with hierarchy("plait") as port:
        resolver = Resolver(network=RootResolver(HINTS, port=port, timeout=1.0),
                            cache=Cache())
        server = await serve(ZoneCatalog(recursion=True), "127.0.0.1", 0, resolver=resolver)
        try:
            stub = StubResolver([("127.0.0.1", server.port)], timeout=3.0)
            response = await stub.query("alias.example.test", RRType.A)
            assert response.ra and not response.aa
            assert [rr.rtype for rr in response.answers] == [RRType.CNAME, RRType.A]
            assert response.answers[-1].rdata == A("192.0.2.2")
            nx = await stub.query("nothing.other.test", RRType.A)
            assert nx.rcode == Rcode.NXDOMAIN
            failed = await stub.query("www.loop.test", RRType.A, raise_for_rcode=False)
            assert failed.rcode == Rcode.SERVFAIL
            out = await asyncio.to_thread(dig, "+short", "www.other.test", "A",
                                          server=("127.0.0.1", server.port))
            assert out.split() == ["192.0.2.2"]
        finally:
            await server.close()


async def test_concurrent_identical_questions_share_one_query() -> None:
    async with FakeServer(zone_server) as server:
        r = Resolver([server.address])
        results = await asyncio.gather(*(r.lookup_address("www.example.test")
                                         for _ in range(5)),
                                       r.lookup_ipv6_address("www.example.test"))
        assert all(res.answers for res in results)
        assert len(server.udp_queries) == 2       # one A, one AAAA
        assert not r._inflight
        with pytest.raises(DNSNameError):
            await asyncio.gather(r.lookup_address("x.example.test"),
                                 r.lookup_address("x.example.test"))
        assert len(server.udp_queries) == 3
