"""A cache of DNS responses that respects their TTLs: the middle link of a resolver chain.

Responses are kept per question (name compared without case, type, class). A positive
answer lives for the smallest TTL of its answer records; a negative one (NXDOMAIN, or NODATA:
NOERROR with no answer) for min(SOA TTL, SOA MINIMUM) of the SOA in its authority section
(RFC 2308 §5), and is not cached at all without that SOA. What comes out has its TTLs
decreased by the time spent in the cache. Truncated responses, referrals and failures
(SERVFAIL, REFUSED, ...) are not cached. The entry count is bounded: expired entries go
first, then the least recently used.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

from .constants import Rcode, RRClass, RRType
from .message import RR, Message, Question
from .name import Name
from .rdata import SOA

__all__ = ["Cache"]

_QR, _AA, _RA = 0x8000, 0x0400, 0x0080


@dataclass(frozen=True, slots=True)
class _Entry:
    stored: float
    expires: float
    flags: int
    rcode: int
    answers: tuple[RR, ...]
    authority: tuple[RR, ...]
    additional: tuple[RR, ...]


def negative_ttl(response: Message) -> int | None:
    """The negative-caching TTL of a response (RFC 2308 §5), None if it has no SOA."""
    for rr in response.authority:
        if rr.rtype == RRType.SOA and isinstance(rr.rdata, SOA):
            return min(rr.ttl, rr.rdata.minimum)
    return None


class Cache:
    """Responses by question, each until its TTL runs out.

    ``clock`` gives seconds (monotonic by default; tests pass their own).
    ``max_ttl`` and ``max_negative_ttl`` cap how long anything is trusted (one day and three
    hours, RFC 2308 §5's suggestion).
    """

    def __init__(self, *, max_entries: int = 10_000, max_ttl: int = 86_400,
                 max_negative_ttl: int = 10_800,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.max_negative_ttl = max_negative_ttl
        self.clock = clock
        self._entries: OrderedDict[tuple[bytes, int, int], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()

    @staticmethod
    def _key(name: Name, rtype: int, rclass: int) -> tuple[bytes, int, int]:
        return (name.wire.lower(), rtype, rclass)

    def ttl_of(self, response: Message) -> int | None:
        """How long ``response`` may be cached, or None if it must not be."""
        if response.tc or len(response.questions) != 1:
            return None
        if response.rcode == Rcode.NXDOMAIN or (response.rcode == Rcode.NOERROR
                                                 and not response.answers):
            ttl = negative_ttl(response)
            if ttl is None:
                return None
            if response.answers:    # an NXDOMAIN at the end of a CNAME chain
                ttl = min(ttl, min(rr.ttl for rr in response.answers))
            return min(ttl, self.max_negative_ttl)
        if response.rcode != Rcode.NOERROR:
            return None
        return min(min(rr.ttl for rr in response.answers), self.max_ttl)

    def put(self, response: Message) -> bool:
        """Cache ``response`` under its question; whether it was kept."""
        ttl = self.ttl_of(response)
        if not ttl or ttl <= 0:
            return False
        q = response.questions[0]
        now = self.clock()
        key = self._key(q.name, q.rtype, q.rclass)
        self._entries[key] = _Entry(now, now + ttl, response.flags & ~_AA, response.rcode,
                                    response.answers, response.authority, response.additional)
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_entries:
            self._evict(now)
        return True

    def _evict(self, now: float) -> None:
        expired = [k for k, e in self._entries.items() if e.expires <= now]
        for k in expired:
            del self._entries[k]
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get(self, name: Name | str, rtype: int, rclass: int = RRClass.IN) -> Message | None:
        """The cached response (id 0) with TTLs decreased, or None if absent or expired."""
        if isinstance(name, str):
            name = Name.from_text(name if name.endswith(".") else name + ".")
        key = self._key(name, rtype, rclass)
        entry = self._entries.get(key)
        if entry is None:
            return None
        now = self.clock()
        if now >= entry.expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        elapsed = int(now - entry.stored)
        return Message(
            id=0, flags=entry.flags | _QR, rcode=entry.rcode,
            questions=(Question(name, rtype, rclass),),
            answers=_aged(entry.answers, elapsed), authority=_aged(entry.authority, elapsed),
            additional=_aged(entry.additional, elapsed),
        )


def _aged(records: tuple[RR, ...], elapsed: int) -> tuple[RR, ...]:
    if not elapsed:
        return records
    return tuple(replace(rr, ttl=max(0, rr.ttl - elapsed)) for rr in records)
