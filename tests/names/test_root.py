"""The iterative resolver through a local hierarchy: a root on 127.0.0.53, the TLD test. on
127.0.0.54, example.test. and other.test. on 127.0.0.55, all on one port. Referrals with
glue, a glueless delegation, CNAMEs across zones, and every limit."""
from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from names.test_stub import FakeServer, Handler, Reply
from plait.names.cache import Cache
from plait.names.constants import Rcode, RRClass, RRType
from plait.names.errors import DNSResolutionError
from plait.names.message import RR, Message
from plait.names.name import Name
from plait.names.rdata import CNAME, NS, A
from plait.names.resolver import Resolver
from plait.names.root import ROOT_HINTS, RootResolver
from plait.names.zone import Zone
from plait.names.zonefile import parse_zone

ROOT_ADDR, TLD_ADDR, LEAF_ADDR = "127.0.0.53", "127.0.0.54", "127.0.0.55"
HINTS = [("a.root.test.", ROOT_ADDR)]

SOA = "SOA ns hostmaster 1 3600 600 86400 60"
ZONES = {
    ROOT_ADDR: {
        ".": f"""
$TTL 3600
.               IN {SOA.replace('ns hostmaster', 'a.root.test. hostmaster.root.test.')}
.               IN NS a.root.test.
test.           IN NS ns.test.
ns.test.        IN A  {TLD_ADDR}
""",
    },
    TLD_ADDR: {
        "test.": f"""
$TTL 3600
@               IN {SOA}
@               IN NS ns
ns              IN A  {TLD_ADDR}
a.root          IN A  {ROOT_ADDR}
example         IN NS ns.example
ns.example      IN A  {LEAF_ADDR}
; glueless: the server's name is in another zone, and this zone gives no address for it
other           IN NS ns2.example.test.
; a delegation whose only server name lives below itself and has no glue: a loop
loop            IN NS ns.loop.test.
; a delegation to a server that answers nothing useful
lame            IN NS ns.example.test.
""",
    },
    LEAF_ADDR: {
        "example.test.": """
$TTL 300
@               IN SOA ns hostmaster 1 3600 600 86400 60
@               IN NS ns
ns              IN A  127.0.0.55
ns2             IN A  127.0.0.55
www             IN A  192.0.2.1
www             IN AAAA 2001:db8::1
alias           IN CNAME www.other.test.
ping            IN CNAME pong.other.test.
c0              IN CNAME c1.other.test.
c2              IN CNAME c3.other.test.
c4              IN CNAME www
""",
        "other.test.": """
$TTL 300
@               IN SOA ns2.example.test. hostmaster 1 3600 600 86400 60
@               IN NS ns2.example.test.
www             IN A  192.0.2.2
back            IN CNAME www.example.test.
pong            IN CNAME ping.example.test.
c1              IN CNAME c2.example.test.
c3              IN CNAME c4.example.test.
""",
    },
}


def _zones(address: str) -> list[Zone]:
    return [Zone.from_records(origin, parse_zone(text, origin))
            for origin, text in ZONES[address].items()]


def mini_authority(zones: list[Zone]) -> Handler:
    """Just enough of an authoritative server for these zones (referrals with glue, CNAMEs
    inside a zone, NXDOMAIN/NODATA with the SOA); the real one is tested below."""

    def handle(query: Message, tcp: bool) -> list[Reply]:
        q = query.questions[0]
        base = Message(id=query.id, flags=0x8000, questions=query.questions)
        homes = [z for z in zones if q.name.is_subdomain(z.origin)]
        if not homes:
            return [Message(id=query.id, flags=0x8000, rcode=Rcode.REFUSED,
                            questions=query.questions)]
        zone = max(homes, key=lambda z: len(z.origin.labels))
        records = zone.records
        cuts = [rr for rr in records if rr.rtype == RRType.NS and rr.name != zone.origin
                and q.name.is_subdomain(rr.name)]
        if cuts:
            cut = min(cuts, key=lambda rr: len(rr.name.labels)).name
            ns = tuple(rr for rr in cuts if rr.name == cut)
            targets = {rr.rdata.target for rr in ns}  # type: ignore[attr-defined]
            glue = tuple(rr for rr in records if rr.rtype == RRType.A and rr.name in targets)
            return [Message(id=query.id, flags=0x8000, questions=query.questions,
                            authority=ns, additional=glue)]
        chain: list[RR] = []
        name = q.name
        for _ in range(8):
            here = [rr for rr in records if rr.name == name]
            match = [rr for rr in here if rr.rtype == q.rtype]
            if match:
                return [Message(id=query.id, flags=0x8400, questions=query.questions,
                                answers=(*chain, *match))]
            alias = [rr for rr in here if rr.rtype == RRType.CNAME]
            if alias:
                chain.append(alias[0])
                name = alias[0].rdata.target  # type: ignore[attr-defined]
                if not name.is_subdomain(zone.origin):
                    break
                continue
            exists = any(rr.name.is_subdomain(name) for rr in records)
            return [Message(id=query.id, flags=0x8400,
                            rcode=Rcode.NOERROR if exists else Rcode.NXDOMAIN,
                            questions=query.questions, answers=tuple(chain),
                            authority=(records[0],))]
        return [Message(id=query.id, flags=0x8400, questions=base.questions,
                        answers=tuple(chain))]

    return handle


Starter = Callable[[str, int], Awaitable[Any]]


@contextlib.asynccontextmanager
async def hierarchy(kind: str) -> AsyncIterator[int]:
    """The three servers on one random port; yields the port."""
    for _ in range(10):
        port = random.randint(20000, 60000)
        started: list[Any] = []
        try:
            for address in (ROOT_ADDR, TLD_ADDR, LEAF_ADDR):
                started.append(await _start(kind, address, port))
        except OSError:
            for server in started:
                await _stop(server)
            continue
        try:
            yield port
        finally:
            for server in started:
                await _stop(server)
        return
    raise RuntimeError("no port free on all three addresses")


async def _start(kind: str, address: str, port: int) -> Any:
    if kind == "mini":
        return await FakeServer(mini_authority(_zones(address)), host=address,
                                port=port).start()
    from plait.names.catalog import ZoneCatalog
    from plait.names.server import serve
    catalog = ZoneCatalog()
    for zone in _zones(address):
        catalog.put(zone)
    return await serve(catalog, address, port)


async def _stop(server: Any) -> None:
    await server.stop() if isinstance(server, FakeServer) else await server.close()


def _resolver(port: int, **kw: Any) -> RootResolver:
    kw.setdefault("timeout", 0.5)
    return RootResolver(HINTS, port=port, **kw)


def _addresses(response: Message, rtype: int = RRType.A) -> list[str]:
    return [rr.rdata.address for rr in response.answers  # type: ignore[attr-defined]
            if rr.rtype == rtype]


async def _resolve_everything(kind: str) -> None:
    async with hierarchy(kind) as port:
        r = _resolver(port)
        # referrals with glue: root -> test. -> example.test.
        response = await r.query("www.example.test", RRType.A)
        assert response.rcode == Rcode.NOERROR and _addresses(response) == ["192.0.2.1"]
        assert response.questions[0].name == Name.from_text("www.example.test.")
        six = await r.query(Name.from_text("www.example.test."), RRType.AAAA)
        assert [str(rr.rdata) for rr in six.answers] == ["2001:db8::1"]
        # a glueless delegation: other.test.'s server name is resolved from the top
        response = await r.query("www.other.test", RRType.A)
        assert _addresses(response) == ["192.0.2.2"]
        # a CNAME into another zone: resolution starts again from the top
        response = await r.query("alias.example.test", RRType.A)
        assert [rr.rtype for rr in response.answers] == [RRType.CNAME, RRType.A]
        assert response.answers[0].rdata == CNAME(Name.from_text("www.other.test."))
        assert _addresses(response) == ["192.0.2.2"]
        # ... and back
        response = await r.query("back.other.test", RRType.A)
        assert _addresses(response) == ["192.0.2.1"]
        # a chain across zones four times
        response = await r.query("c0.example.test", RRType.A)
        assert [rr.rtype for rr in response.answers] == [RRType.CNAME] * 5 + [RRType.A]
        # NXDOMAIN and NODATA, with the SOA of the zone that said so
        nx = await r.query("nothing.example.test", RRType.A)
        assert nx.rcode == Rcode.NXDOMAIN
        assert nx.authority[0].rtype == RRType.SOA
        assert nx.authority[0].name == Name.from_text("example.test.")
        nodata = await r.query("www.other.test", RRType.MX)
        assert nodata.rcode == Rcode.NOERROR and not nodata.answers
        nx_tld = await r.query("nothing.test", RRType.A)
        assert nx_tld.rcode == Rcode.NXDOMAIN
        # a CNAME loop across zones is found
        with pytest.raises(DNSResolutionError, match="loop"):
            await r.query("ping.example.test", RRType.A)
        # a delegation that needs itself to be resolved
        with pytest.raises(DNSResolutionError):
            await r.query("www.loop.test", RRType.A)


@pytest.mark.parametrize("kind", ["mini", "plait"])
def test_resolves_through_the_hierarchy(kind: str) -> None:
    """"mini": the in-test servers above; "plait": plait.names.server with the native
    authority, the real thing."""
    if kind == "plait" and not native_authority():
        pytest.skip("plait._native has no DnsCatalog: the native authority is not built")
    asyncio.run(_resolve_everything(kind))


def native_authority() -> bool:
    """Whether plait.names.authority imports (its native half built into plait._native)."""
    try:
        import plait.names.authority  # noqa: F401
    except ImportError:
        return False
    return True


async def test_zone_cuts_remembered() -> None:
    async with hierarchy("mini") as port:
        r = _resolver(port)
        await r.query("www.example.test", RRType.A)
        first = r.queries_sent
        assert first == 3                      # root, test., example.test.
        await r.query("www.example.test", RRType.AAAA)
        assert r.queries_sent == first + 1     # straight to example.test.'s server


async def test_dead_remembered_servers_forgotten() -> None:
    async with hierarchy("mini") as port:
        r = _resolver(port)
        await r.query("www.example.test", RRType.A)
        example = Name.from_text("example.test.")
        assert r._cuts[example][1] == [LEAF_ADDR]
        r._cuts[example] = (time.monotonic() + 600, ["127.0.0.66"])   # nothing there
        six = await r.query("www.example.test", RRType.AAAA)
        assert [str(rr.rdata) for rr in six.answers] == ["2001:db8::1"]
        assert r._cuts[example][1] == [LEAF_ADDR]


async def test_answers_cached() -> None:
    async with hierarchy("mini") as port:
        r = _resolver(port, cache=Cache())
        await r.query("www.example.test", RRType.A)
        sent = r.queries_sent
        again = await r.query("WWW.example.test", RRType.A)
        assert _addresses(again) == ["192.0.2.1"] and r.queries_sent == sent


async def test_limits() -> None:
    async with hierarchy("mini") as port:
        with pytest.raises(DNSResolutionError, match="referrals"):
            await _resolver(port, max_referrals=1).query("www.example.test", RRType.A)
        with pytest.raises(DNSResolutionError, match="2 queries"):
            await _resolver(port, max_queries=2).query("www.example.test", RRType.A)
        # the glueless lookup shares the budget: root and test. for www.other.test, then
        # test. (its cut now known) and example.test. for ns2.example.test, then other.test.
        with pytest.raises(DNSResolutionError, match="4 queries"):
            await _resolver(port, max_queries=4).query("www.other.test", RRType.A)
        assert _addresses(await _resolver(port, max_queries=5).query(
            "www.other.test", RRType.A)) == ["192.0.2.2"]
        with pytest.raises(DNSResolutionError, match="CNAME chain"):
            await _resolver(port, max_cname=0).query("alias.example.test", RRType.A)
        with pytest.raises(DNSResolutionError, match="CNAME chain"):
            await _resolver(port, max_cname=4).query("c0.example.test", RRType.A)
        assert len((await _resolver(port, max_cname=5).query(
            "c0.example.test", RRType.A)).answers) == 6


async def test_time_budget() -> None:
    async with FakeServer(lambda q, tcp: [], host=ROOT_ADDR) as silent:
        r = RootResolver(HINTS, port=silent.port, timeout=20.0, time_budget=0.3)
        start = time.monotonic()
        with pytest.raises(DNSResolutionError, match="time budget"):
            await r.query("www.example.test", RRType.A)
        assert time.monotonic() - start < 5.0     # the budget, not the 20 s timeout


async def test_unreachable_servers() -> None:
    async with FakeServer(lambda q, tcp: [], host=ROOT_ADDR) as silent:
        r = RootResolver(HINTS, port=silent.port, timeout=0.2)
        with pytest.raises(DNSResolutionError, match="no usable answer"):
            await r.query("www.example.test", RRType.A)


async def test_bad_referral_and_foreign_glue_refused() -> None:
    def sideways(query: Message, tcp: bool) -> list[Reply]:
        # a "root" that refers www.example.test. to elsewhere.test. (not above the name)
        ns = RR(Name.from_text("elsewhere.test."), RRType.NS, RRClass.IN, 60,
                NS(Name.from_text("ns.elsewhere.test.")))
        return [Message(id=query.id, flags=0x8000, questions=query.questions,
                        authority=(ns,))]

    async with FakeServer(sideways, host=ROOT_ADDR) as server:
        with pytest.raises(DNSResolutionError, match="bad referral"):
            await RootResolver(HINTS, port=server.port, timeout=0.5).query(
                "www.example.test", RRType.A)

    def poisoning(query: Message, tcp: bool) -> list[Reply]:
        # the server of test. refers example.test. to a server named outside test., with
        # an address for that name: glue test. has no authority to give
        ns = RR(Name.from_text("example.test."), RRType.NS, RRClass.IN, 60,
                NS(Name.from_text("ns.elsewhere.org.")))
        glue = RR(Name.from_text("ns.elsewhere.org."), RRType.A, RRClass.IN, 60,
                  A("127.0.0.66"))
        return [Message(id=query.id, flags=0x8000, questions=query.questions,
                        authority=(ns,), additional=(glue,))]

    async with FakeServer(poisoning, host=ROOT_ADDR) as server, \
            FakeServer(mini_authority(_zones(LEAF_ADDR)), host="127.0.0.66",
                       port=server.port) as planted:
        r = RootResolver(HINTS, port=server.port, timeout=0.3, max_queries=8)
        r._cuts[Name.from_text("test.")] = (time.monotonic() + 60, [ROOT_ADDR])
        with pytest.raises(DNSResolutionError, match="no address"):
            await r.query("www.example.test", RRType.A)
        # the planted address was never used; the server name was looked up instead
        assert not planted.udp_queries and not planted.tcp_queries
        asked = {str(q.questions[0].name) for q, _ in server.udp_queries}
        assert "ns.elsewhere.org." in asked


async def test_as_the_network_of_a_resolver() -> None:
    async with hierarchy("mini") as port:
        resolver = Resolver(network=_resolver(port), cache=Cache())
        got = await resolver.lookup_address("alias.example.test")
        assert [rr.rtype for rr in got.answers] == [RRType.CNAME, RRType.A]
        response = await resolver.resolve_message(
            Message.make_query("www.other.test", RRType.A, id=31))
        assert response.id == 31 and response.ra and _addresses(response) == ["192.0.2.2"]
        failed = await resolver.resolve_message(
            Message.make_query("www.loop.test", RRType.A, id=32))
        assert failed.rcode == Rcode.SERVFAIL


def test_hints() -> None:
    assert len({name for name, _ in ROOT_HINTS}) == 13
    assert RootResolver().hints == [a for _, a in ROOT_HINTS if ":" not in a]
    with pytest.raises(ValueError):
        RootResolver([("a.test.", "::1")])


def test_through_nsd_as_the_leaf_servers() -> None:
    """Root and test. served by plait on 127.0.0.53/.54, example.test. and other.test. by
    NSD on 127.0.0.1, all on NSD's port."""
    if not native_authority():
        pytest.skip("plait._native has no DnsCatalog: the native authority is not built")
    from names.peers import NSD, primary
    from plait.names.catalog import ZoneCatalog
    from plait.names.server import serve

    leaf = "127.0.0.1"

    def text(address: str, origin: str) -> str:
        return ZONES[address][origin].replace(LEAF_ADDR, leaf)

    async def run(port: int) -> None:
        servers = []
        try:
            for address in (ROOT_ADDR, TLD_ADDR):
                catalog = ZoneCatalog()
                for origin in ZONES[address]:
                    catalog.put(Zone.from_records(origin,
                                                  parse_zone(text(address, origin), origin)))
                servers.append(await serve(catalog, address, port))
            r = _resolver(port, timeout=2.0)
            assert _addresses(await r.query("www.example.test", RRType.A)) == ["192.0.2.1"]
            assert _addresses(await r.query("www.other.test", RRType.A)) == ["192.0.2.2"]
            chain = await r.query("c0.example.test", RRType.A)
            assert [rr.rtype for rr in chain.answers] == [RRType.CNAME] * 5 + [RRType.A]
            nx = await r.query("nothing.other.test", RRType.A)
            assert nx.rcode == Rcode.NXDOMAIN
            assert nx.authority[0].name == Name.from_text("other.test.")
            with pytest.raises(DNSResolutionError, match="loop"):
                await r.query("ping.example.test", RRType.A)
        finally:
            for server in servers:
                await server.close()

    zones = [primary(origin, f"$ORIGIN {origin}\n" + text(LEAF_ADDR, origin))
             for origin in ZONES[LEAF_ADDR]]
    with NSD(zones) as nsd:
        assert nsd.address[0] == leaf
        asyncio.run(run(nsd.address[1]))
