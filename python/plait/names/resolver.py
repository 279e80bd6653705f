"""The resolver users call: Twisted's ``lookup_*`` methods over a chain hosts -> cache ->
network, with resolv.conf's search list, and ``resolve_message`` for a recursive server.

The network link is anything with ``async query(name, rtype, rclass) -> Message`` that
returns NOERROR or NXDOMAIN responses and raises a :class:`DNSError` otherwise: a
:class:`~plait.names.stub.StubResolver` (forwarding to resolv.conf's servers, the default)
or a :class:`~plait.names.root.RootResolver` (iterating from the root hints).
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from .cache import Cache
from .constants import Opcode, Rcode, RRClass, RRType
from .errors import DNSError, DNSNameError
from .hosts import Hosts, reverse_name
from .message import RR, Edns, Message
from .name import Name
from .resolv_conf import DEFAULT_PATH as RESOLV_CONF
from .resolv_conf import load_resolv_conf
from .stub import StubResolver

__all__ = ["Network", "Resolver", "Result"]

_QR, _AA, _RD, _RA, _CD = 0x8000, 0x0400, 0x0100, 0x0080, 0x0010


class Network(Protocol):
    """The last link of the chain: asks the DNS itself."""

    async def query(self, name: Name | str, rtype: int,
                    rclass: int = RRClass.IN) -> Message: ...


@dataclass(frozen=True, slots=True)
class Result:
    """The three record sections of an answer; unpacks as Twisted's
    ``(answers, authority, additional)`` tuple."""

    answers: tuple[RR, ...]
    authority: tuple[RR, ...] = ()
    additional: tuple[RR, ...] = ()

    def __iter__(self) -> Iterator[tuple[RR, ...]]:
        return iter((self.answers, self.authority, self.additional))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> tuple[RR, ...]:
        return (self.answers, self.authority, self.additional)[index]

    @classmethod
    def of(cls, message: Message) -> Result:
        """The sections of a response."""
        return cls(message.answers, message.authority, message.additional)


def _absolute(text: str) -> Name:
    return Name.from_text(text if text.endswith(".") else text + ".")


class Resolver:
    """Resolve through ``hosts`` (a :class:`Hosts` or None), then ``cache`` (a
    :class:`Cache` or None), then the network: ``network`` if given, else a
    :class:`StubResolver` over ``servers``.

    Names given as text without a final dot go through the ``search`` list as resolv.conf
    says: with at least ``ndots`` dots the name is tried as it is first, else last; the next
    candidate is tried only after an NXDOMAIN. A :class:`Name` is always taken as absolute.
    """

    def __init__(self, servers: Sequence[tuple[str, int]] = (), *,
                 network: Network | None = None, hosts: Hosts | None = None,
                 cache: Cache | None = None, search: Sequence[Name | str] = (),
                 ndots: int = 1, timeout: float = 2.0, attempts: int = 2,
                 rotate: bool = False, edns_payload: int | None = 1232) -> None:
        if network is None:
            if not servers:
                raise ValueError("a Resolver needs servers or a network resolver")
            network = StubResolver(servers, timeout=timeout, attempts=attempts,
                                   edns_payload=edns_payload, rotate=rotate)
        self.servers = list(servers)
        self.network = network
        self.hosts = hosts
        self.cache = cache
        self.search = [s if isinstance(s, Name) else _absolute(s) for s in search]
        self.ndots = ndots
        self._inflight: dict[tuple[bytes, int, int], asyncio.Future[Message]] = {}

    @classmethod
    def from_system(cls, resolv_conf: str | os.PathLike[str] = RESOLV_CONF,
                    hosts: str | os.PathLike[str] | None = "/etc/hosts", *,
                    cache: Cache | bool = True) -> Resolver:
        """A resolver as the C library would build one: resolv.conf's servers, search list
        and options, the hosts file (None: no hosts file) and a cache (False: none)."""
        conf = load_resolv_conf(resolv_conf)
        return cls(conf.nameservers, hosts=None if hosts is None else Hosts(hosts),
                   cache=(Cache() if cache is True else cache or None), search=conf.search,
                   ndots=conf.ndots, timeout=conf.timeout, attempts=conf.attempts,
                   rotate=conf.rotate)

    # -- the chain --------------------------------------------------------------------------

    def candidates(self, name: Name | str) -> list[Name]:
        """The absolute names tried for ``name``, in order."""
        if isinstance(name, Name):
            return [name]
        if name.endswith("."):
            return [_absolute(name)]
        as_is = _absolute(name)
        searched = []
        for domain in self.search:
            try:
                searched.append(Name.from_text(name, domain))
            except ValueError:
                continue
        if name.count(".") >= self.ndots:
            return [as_is, *searched]
        return [*searched, as_is]

    def _from_hosts(self, name: Name, rtype: int, rclass: int) -> Message | None:
        if self.hosts is None:
            return None
        records = self.hosts.lookup(name, rtype, rclass)
        if records is None:
            return None
        query = Message.make_query(name, rtype, rclass)
        return Message(flags=_QR | _RD | _RA, questions=query.questions, answers=records)

    async def _one(self, name: Name, rtype: int, rclass: int) -> Message:
        if self.cache is not None:
            cached = self.cache.get(name, rtype, rclass)
            if cached is not None:
                return cached
        # Identical questions asked at once share one network query.
        key = (name.wire.lower(), rtype, rclass)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(name, rtype, rclass))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _fetch(self, name: Name, rtype: int, rclass: int) -> Message:
        response = await self.network.query(name, rtype, rclass)
        if self.cache is not None:
            self.cache.put(response)
        return response

    async def resolve(self, name: Name | str, rtype: int,
                      rclass: int = RRClass.IN) -> Message:
        """The response for a question, through the chain and the search list; an NXDOMAIN
        response is returned, not raised. Raises :class:`DNSError` when resolution fails."""
        names = self.candidates(name)
        for candidate in names:
            found = self._from_hosts(candidate, rtype, rclass)
            if found is not None:
                return found
        response: Message | None = None
        for candidate in names:
            response = await self._one(candidate, rtype, rclass)
            if response.rcode != Rcode.NXDOMAIN:
                return response
        assert response is not None
        return response

    async def query(self, name: Name | str, rtype: int, rclass: int = RRClass.IN) -> Result:
        """The records for any question. Raises :class:`DNSNameError` on NXDOMAIN (its
        ``response`` attribute holds the response), other :class:`DNSError` on failure."""
        response = await self.resolve(name, rtype, rclass)
        if response.rcode == Rcode.NXDOMAIN:
            err = DNSNameError(f"{response.questions[0].name}: no such name")
            err.response = response
            raise err
        return Result.of(response)

    # -- Twisted's lookup_* ----------------------------------------------------------------

    async def lookup_address(self, name: Name | str) -> Result:
        """A records."""
        return await self.query(name, RRType.A)

    async def lookup_ipv6_address(self, name: Name | str) -> Result:
        """AAAA records."""
        return await self.query(name, RRType.AAAA)

    async def lookup_mail_exchange(self, name: Name | str) -> Result:
        """MX records."""
        return await self.query(name, RRType.MX)

    async def lookup_text(self, name: Name | str) -> Result:
        """TXT records."""
        return await self.query(name, RRType.TXT)

    async def lookup_service(self, name: Name | str) -> Result:
        """SRV records (``_service._proto.domain``)."""
        return await self.query(name, RRType.SRV)

    async def lookup_nameservers(self, name: Name | str) -> Result:
        """NS records."""
        return await self.query(name, RRType.NS)

    async def lookup_canonical_name(self, name: Name | str) -> Result:
        """CNAME records."""
        return await self.query(name, RRType.CNAME)

    async def lookup_authority(self, name: Name | str) -> Result:
        """The SOA record."""
        return await self.query(name, RRType.SOA)

    async def lookup_pointer(self, name: Name | str) -> Result:
        """PTR records; ``name`` may be an IPv4 or IPv6 address, whose in-addr.arpa or
        ip6.arpa name is then asked."""
        if isinstance(name, str):
            try:
                ipaddress.ip_address(name.partition("%")[0])
            except ValueError:
                pass
            else:
                name = reverse_name(name)
        return await self.query(name, RRType.PTR)

    async def lookup_all_records(self, name: Name | str) -> Result:
        """ANY (servers may answer with one RRset only, RFC 8482)."""
        return await self.query(name, RRType.ANY)

    async def lookup_zone(self, name: Name | str, *, server: tuple[str, int] | None = None,
                          timeout: float = 30.0) -> Result:
        """The whole zone by AXFR from ``server`` (default: the first configured server),
        as the transfer carries it: the SOA first and last."""
        from .xfr_client import axfr
        if server is None:
            if not self.servers:
                raise ValueError("lookup_zone needs a server: this resolver has none")
            server = self.servers[0]
        origin = name if isinstance(name, Name) else _absolute(name)
        zone = await axfr(server, origin, timeout=timeout)
        return Result((*zone.records, zone.soa))

    # -- for a recursive server ------------------------------------------------------------

    async def resolve_message(self, query: Message) -> Message:
        """The response a recursive server sends for ``query``: its ID, question, RD and CD
        copied, RA set, the rcode and sections of the resolution (SERVFAIL when it failed;
        FORMERR without exactly one question; NOTIMP for an opcode other than QUERY)."""
        flags = _QR | _RA | (query.flags & (_RD | _CD)) | (query.opcode << 11)
        edns = Edns() if query.edns is not None else None
        base = Message(id=query.id, flags=flags, questions=query.questions, edns=edns)
        if query.opcode != Opcode.QUERY:
            return _with(base, Rcode.NOTIMP)
        if len(query.questions) != 1:
            return _with(base, Rcode.FORMERR)
        q = query.questions[0]
        if q.rtype in (RRType.AXFR, RRType.IXFR, RRType.OPT):
            return _with(base, Rcode.REFUSED if q.rtype != RRType.OPT else Rcode.FORMERR)
        try:
            response = await self.resolve(q.name, q.rtype, q.rclass)
        except DNSError:
            return _with(base, Rcode.SERVFAIL)
        except (OSError, ValueError):
            return _with(base, Rcode.SERVFAIL)
        return Message(id=query.id, flags=flags, rcode=response.rcode,
                       questions=query.questions, answers=response.answers,
                       authority=response.authority, additional=response.additional,
                       edns=edns)


def _with(message: Message, rcode: int) -> Message:
    return Message(message.id, message.flags, rcode, message.questions, edns=message.edns)
