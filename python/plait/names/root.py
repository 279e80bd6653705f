"""An iterative resolver from root hints, as Twisted's ``names.root.Resolver``: ask a root
server, follow its referral down to the zone that holds the name, and answer.

Referrals are followed with their glue (only glue inside the zone that was asked, so a
server cannot plant addresses for names it does not serve); names of servers given without
glue are resolved from the top, with the same budget. CNAMEs that leave the answering zone
are followed by starting again from the top. Everything is bounded: referrals per name,
queries per resolution, CNAME chain length, and a time budget; a loop (a CNAME chain that
comes back, a server name whose resolution needs itself) stops with
:class:`~plait.names.errors.DNSResolutionError`.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .cache import Cache
from .constants import Rcode, RRClass, RRType
from .errors import DNSFormatError, DNSResolutionError
from .message import RR, Message, Question
from .name import ROOT, Name
from .rdata import AAAA, CNAME, NS, A
from .stub import StubResolver

__all__ = ["ROOT_HINTS", "RootResolver"]

_QR, _RA = 0x8000, 0x0080

#: The IANA root servers (named.root, IPv4 and IPv6). Tests always pass their own hints.
ROOT_HINTS: tuple[tuple[str, str], ...] = (
    ("a.root-servers.net.", "198.41.0.4"), ("a.root-servers.net.", "2001:503:ba3e::2:30"),
    ("b.root-servers.net.", "170.247.170.2"), ("b.root-servers.net.", "2801:1b8:10::b"),
    ("c.root-servers.net.", "192.33.4.12"), ("c.root-servers.net.", "2001:500:2::c"),
    ("d.root-servers.net.", "199.7.91.13"), ("d.root-servers.net.", "2001:500:2d::d"),
    ("e.root-servers.net.", "192.203.230.10"), ("e.root-servers.net.", "2001:500:a8::e"),
    ("f.root-servers.net.", "192.5.5.241"), ("f.root-servers.net.", "2001:500:2f::f"),
    ("g.root-servers.net.", "192.112.36.4"), ("g.root-servers.net.", "2001:500:12::d0d"),
    ("h.root-servers.net.", "198.97.190.53"), ("h.root-servers.net.", "2001:500:1::53"),
    ("i.root-servers.net.", "192.36.148.17"), ("i.root-servers.net.", "2001:7fe::53"),
    ("j.root-servers.net.", "192.58.128.30"), ("j.root-servers.net.", "2001:503:c27::2:30"),
    ("k.root-servers.net.", "193.0.14.129"), ("k.root-servers.net.", "2001:7fd::1"),
    ("l.root-servers.net.", "199.7.83.42"), ("l.root-servers.net.", "2001:500:9f::42"),
    ("m.root-servers.net.", "202.12.27.33"), ("m.root-servers.net.", "2001:dc3::35"),
)

MAX_CUTS = 4096     # zone cuts remembered (name -> server addresses)


class _OutOfQueries(DNSResolutionError):
    """The query budget ran out: ends the whole resolution, not just one server name."""


@dataclass
class _Budget:
    """What one resolution may still spend; shared with the glueless lookups it starts."""

    queries: int
    active: set[tuple[Name, int]] = field(default_factory=set)
    sent: int = 0

    def spend(self, limit: int) -> None:
        if self.queries <= 0:
            raise _OutOfQueries(f"gave up after {limit} queries")
        self.queries -= 1
        self.sent += 1


class RootResolver:
    """Resolve by iteration from ``hints`` (``(server name, address)`` pairs), every server
    on ``port``.

    Limits: ``max_referrals`` per name, ``max_queries`` sent for one call of :meth:`query`
    (glueless lookups included), ``max_cname`` CNAMEs in a chain, ``time_budget`` seconds
    for one call; ``timeout`` bounds each wait for one server. Answers go into ``cache`` if
    one is given, and zone cuts are remembered until their NS TTL runs out.
    """

    def __init__(self, hints: Sequence[tuple[str, str]] = ROOT_HINTS, *, port: int = 53,
                 timeout: float = 2.0, max_referrals: int = 16, max_queries: int = 64,
                 max_cname: int = 8, time_budget: float = 10.0, cache: Cache | None = None,
                 ipv6: bool = False, edns_payload: int | None = 1232,
                 clock: Callable[[], float] = time.monotonic) -> None:
        addresses = [a for _, a in hints if ipv6 or ":" not in a]
        if not addresses:
            raise ValueError("root hints give no usable address")
        self.hints = addresses
        self.port = port
        self.timeout = timeout
        self.max_referrals = max_referrals
        self.max_queries = max_queries
        self.max_cname = max_cname
        self.time_budget = time_budget
        self.cache = cache
        self.ipv6 = ipv6
        self.clock = clock
        self._stub = StubResolver([(addresses[0], port)], timeout=timeout, attempts=1,
                                  edns_payload=edns_payload)
        self._cuts: dict[Name, tuple[float, list[str]]] = {}
        self.queries_sent = 0     # over the resolver's life, for tests and statistics

    async def query(self, name: Name | str, rtype: int,
                    rclass: int = RRClass.IN) -> Message:
        """The response for one question: NOERROR (answers, with any CNAME chain first) or
        NXDOMAIN. Raises :class:`DNSResolutionError` when resolution fails."""
        if isinstance(name, str):
            name = Name.from_text(name if name.endswith(".") else name + ".")
        if self.cache is not None:
            cached = self.cache.get(name, rtype, rclass)
            if cached is not None:
                return cached
        budget = _Budget(self.max_queries)
        try:
            async with asyncio.timeout(self.time_budget):
                response = await self._resolve(name, rtype, rclass, budget)
        except TimeoutError:
            raise DNSResolutionError(
                f"{name}: gave up after the time budget of {self.time_budget} s") from None
        finally:
            self.queries_sent += budget.sent
        if self.cache is not None:
            self.cache.put(response)
        return response

    async def _resolve(self, name: Name, rtype: int, rclass: int, budget: _Budget) -> Message:
        key = (name, rtype)
        if key in budget.active:
            raise DNSResolutionError(f"{name} {rtype}: its resolution needs itself (loop)")
        budget.active.add(key)
        try:
            return await self._follow(name, rtype, rclass, budget)
        finally:
            budget.active.discard(key)

    async def _follow(self, name: Name, rtype: int, rclass: int, budget: _Budget) -> Message:
        chain: list[RR] = []
        seen = {name}
        qname = name
        cnames = 0
        while True:
            response = await self._iterate(qname, rtype, rclass, budget)
            records, target, done = _walk(response.answers, qname, rtype)
            cnames += sum(1 for rr in records if rr.rtype == RRType.CNAME)
            if cnames > self.max_cname:
                raise DNSResolutionError(f"{name}: CNAME chain longer than {self.max_cname}")
            chain += records
            if done or response.rcode == Rcode.NXDOMAIN or target == qname:
                return Message(flags=_QR | _RA, rcode=response.rcode,
                               questions=(Question(name, rtype, rclass),),
                               answers=tuple(chain), authority=response.authority,
                               additional=response.additional if target == name else ())
            if target in seen:
                raise DNSResolutionError(f"{name}: CNAME loop at {target}")
            seen.add(target)
            qname = target

    def _closest_cut(self, name: Name) -> tuple[Name, list[str]]:
        now = self.clock()
        probe = name
        while True:
            cut = self._cuts.get(probe)
            if cut is not None:
                if cut[0] > now:
                    return probe, cut[1]
                del self._cuts[probe]
            if probe.is_root():
                return ROOT, self.hints
            probe = probe.parent()

    def _remember(self, cut: Name, ttl: int, servers: list[str]) -> None:
        if ttl <= 0:
            return
        if len(self._cuts) >= MAX_CUTS:
            self._cuts.pop(next(iter(self._cuts)))
        self._cuts[cut] = (self.clock() + ttl, servers)

    async def _iterate(self, qname: Name, rtype: int, rclass: int,
                       budget: _Budget) -> Message:
        zone, servers = self._closest_cut(qname)
        remembered = servers is not self.hints
        for _ in range(self.max_referrals + 1):
            try:
                response = await self._ask(servers, zone, qname, rtype, rclass, budget)
            except _OutOfQueries:
                raise
            except DNSResolutionError:
                if not remembered:
                    raise
                # Remembered servers that no longer answer: forget them, start from the top.
                self._cuts.pop(zone, None)
                zone, servers = ROOT, self.hints
                remembered = False
                continue
            remembered = False
            if response.rcode == Rcode.NXDOMAIN or response.answers:
                return response
            ns = [rr for rr in response.authority if rr.rtype == RRType.NS]
            soa = any(rr.rtype == RRType.SOA for rr in response.authority)
            if soa or response.aa or not ns:
                return response            # NODATA
            cut = ns[0].name
            if cut == zone or not cut.is_subdomain(zone) or not qname.is_subdomain(cut):
                raise DNSResolutionError(
                    f"{qname}: bad referral from the servers of {zone} to {cut}")
            targets = [rr.rdata.target for rr in ns
                       if rr.name == cut and isinstance(rr.rdata, NS)]
            servers = self._glue(response, targets, zone)
            if not servers:
                servers = await self._glueless(targets, budget)
            if not servers:
                raise DNSResolutionError(f"{qname}: no address for any server of {cut}")
            self._remember(cut, min(rr.ttl for rr in ns), servers)
            zone = cut
        raise DNSResolutionError(f"{qname}: more than {self.max_referrals} referrals")

    def _glue(self, response: Message, targets: list[Name], zone: Name) -> list[str]:
        wanted = set(targets)
        out: list[str] = []
        for rr in response.additional:
            if rr.name not in wanted or not rr.name.is_subdomain(zone):
                continue
            usable = isinstance(rr.rdata, A) or (self.ipv6 and isinstance(rr.rdata, AAAA))
            if usable and rr.rdata.address not in out:  # type: ignore[attr-defined]
                out.append(rr.rdata.address)  # type: ignore[attr-defined]
        return out

    async def _glueless(self, targets: list[Name], budget: _Budget) -> list[str]:
        for target in targets:
            if (target, RRType.A) in budget.active:
                continue
            try:
                response = await self._resolve(target, RRType.A, RRClass.IN, budget)
            except _OutOfQueries:
                raise
            except DNSResolutionError:
                continue
            addresses = [rr.rdata.address for rr in response.answers
                         if isinstance(rr.rdata, A) and rr.name == _end(response, target)]
            if addresses:
                return addresses
        return []

    async def _ask(self, servers: list[str], zone: Name, qname: Name, rtype: int,
                   rclass: int, budget: _Budget) -> Message:
        failures: list[str] = []
        for address in servers:
            budget.spend(self.max_queries)
            query = self._stub.make_query(qname, rtype, rclass, rd=False)
            try:
                response = await self._stub.exchange(query, (address, self.port))
            except (TimeoutError, OSError, EOFError, DNSFormatError) as exc:
                failures.append(f"{address}: {type(exc).__name__}")
                continue
            if response.rcode in (Rcode.NOERROR, Rcode.NXDOMAIN):
                return response
            failures.append(f"{address}: rcode {response.rcode}")
        raise DNSResolutionError(
            f"{qname}: no usable answer from the servers of {zone} ({'; '.join(failures)})")


def _walk(answers: tuple[RR, ...], qname: Name, rtype: int) -> tuple[list[RR], Name, bool]:
    """Follow ``qname`` through the answer's CNAMEs: the records that belong to the chain,
    where it ends, and whether records of ``rtype`` were found there."""
    out: list[RR] = [rr for rr in answers if rr.rtype == RRType.DNAME]
    target = qname
    visited = {qname}
    for _ in range(len(answers) + 1):
        here = [rr for rr in answers if rr.name == target and rr.rtype != RRType.DNAME]
        wanted = [rr for rr in here if rr.rtype == rtype or rtype == RRType.ANY]
        if wanted:
            return out + wanted, target, True
        alias = next((rr for rr in here if isinstance(rr.rdata, CNAME)), None)
        if alias is None or not isinstance(alias.rdata, CNAME):
            return out, target, False
        out.append(alias)
        target = alias.rdata.target
        if target in visited:
            raise DNSResolutionError(f"{qname}: CNAME loop at {target}")
        visited.add(target)
    return out, target, False


def _end(response: Message, name: Name) -> Name:
    """Where ``name``'s CNAME chain ends in a response."""
    target = name
    for _ in range(len(response.answers) + 1):
        alias = next((rr for rr in response.answers
                      if rr.name == target and isinstance(rr.rdata, CNAME)), None)
        if alias is None:
            break
        assert isinstance(alias.rdata, CNAME)
        target = alias.rdata.target
    return target

