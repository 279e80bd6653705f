"""The response cache: TTLs, decrease on the way out, negative caching (RFC 2308), limits."""
from __future__ import annotations

from plait.names.cache import Cache
from plait.names.constants import Rcode, RRClass, RRType
from plait.names.message import RR, Message
from plait.names.name import Name
from plait.names.rdata import NS, SOA, A

NAME = Name.from_text("www.example.test.")
ZONE = Name.from_text("example.test.")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _soa(ttl: int, minimum: int) -> RR:
    return RR(ZONE, RRType.SOA, RRClass.IN, ttl,
              SOA(Name.from_text("ns.example.test."), Name.from_text("h.example.test."),
                  1, 3600, 600, 86400, minimum))


def _response(name: Name = NAME, rtype: int = RRType.A, rcode: int = Rcode.NOERROR,
              answers: tuple[RR, ...] = (), authority: tuple[RR, ...] = (),
              additional: tuple[RR, ...] = (), tc: bool = False) -> Message:
    q = Message.make_query(name, rtype)
    return Message(id=77, flags=0x8000 | 0x0400 | (0x0200 if tc else 0), rcode=rcode,
                   questions=q.questions, answers=answers, authority=authority,
                   additional=additional)


def test_positive_ttl_decreases_and_expires() -> None:
    clock = Clock()
    cache = Cache(clock=clock)
    a1 = RR(NAME, RRType.A, RRClass.IN, 300, A("192.0.2.1"))
    a2 = RR(NAME, RRType.A, RRClass.IN, 100, A("192.0.2.2"))
    extra = RR(Name.from_text("x.test."), RRType.A, RRClass.IN, 30, A("192.0.2.3"))
    assert cache.put(_response(answers=(a1, a2), additional=(extra,)))
    got = cache.get(NAME, RRType.A)
    assert got is not None and [r.ttl for r in got.answers] == [300, 100]
    assert got.id == 0 and got.qr and not got.aa
    clock.now += 40.7
    got = cache.get("WWW.Example.TEST", RRType.A)   # the name without case, text accepted
    assert got is not None
    assert [r.ttl for r in got.answers] == [260, 60]
    assert got.additional[0].ttl == 0                # never below zero
    assert got.questions[0].name == Name.from_text("WWW.Example.TEST.")
    clock.now += 59.3                                 # 100 s after: the smallest TTL is out
    assert cache.get(NAME, RRType.A) is None
    assert len(cache) == 0


def test_keyed_by_type_and_class() -> None:
    cache = Cache(clock=Clock())
    cache.put(_response(answers=(RR(NAME, RRType.A, RRClass.IN, 300, A("192.0.2.1")),)))
    assert cache.get(NAME, RRType.AAAA) is None
    assert cache.get(NAME, RRType.A, RRClass.CH) is None
    assert cache.get(NAME, RRType.A) is not None


def test_nxdomain_cached_for_soa_minimum_or_ttl() -> None:
    clock = Clock()
    cache = Cache(clock=clock)
    assert cache.put(_response(rcode=Rcode.NXDOMAIN, authority=(_soa(3600, 60),)))
    got = cache.get(NAME, RRType.A)
    assert got is not None and got.rcode == Rcode.NXDOMAIN
    assert got.authority[0].rtype == RRType.SOA
    clock.now += 59
    assert cache.get(NAME, RRType.A) is not None
    clock.now += 1
    assert cache.get(NAME, RRType.A) is None
    # The SOA's own TTL when it is the smaller
    cache.put(_response(rcode=Rcode.NXDOMAIN, authority=(_soa(20, 600),)))
    clock.now += 19
    got = cache.get(NAME, RRType.A)
    assert got is not None and got.authority[0].ttl == 1
    clock.now += 1
    assert cache.get(NAME, RRType.A) is None


def test_nodata_cached() -> None:
    clock = Clock()
    cache = Cache(clock=clock)
    assert cache.put(_response(rtype=RRType.AAAA, authority=(_soa(300, 120),)))
    got = cache.get(NAME, RRType.AAAA)
    assert got is not None and got.rcode == Rcode.NOERROR and not got.answers
    clock.now += 121
    assert cache.get(NAME, RRType.AAAA) is None


def test_not_cached() -> None:
    cache = Cache(clock=Clock())
    a = RR(NAME, RRType.A, RRClass.IN, 300, A("192.0.2.1"))
    assert not cache.put(_response(rcode=Rcode.NXDOMAIN))                  # no SOA
    assert not cache.put(_response())                                      # NODATA, no SOA
    referral = RR(ZONE, RRType.NS, RRClass.IN, 300, NS(Name.from_text("ns.test.")))
    assert not cache.put(_response(authority=(referral,)))                 # a referral
    assert not cache.put(_response(rcode=Rcode.SERVFAIL, answers=(a,)))
    assert not cache.put(_response(answers=(a,), tc=True))
    assert not cache.put(_response(answers=(RR(NAME, RRType.A, RRClass.IN, 0, A("1.2.3.4")),)))
    assert len(cache) == 0


def test_caps() -> None:
    clock = Clock()
    cache = Cache(clock=clock, max_ttl=100, max_negative_ttl=10)
    cache.put(_response(answers=(RR(NAME, RRType.A, RRClass.IN, 10**6, A("192.0.2.1")),)))
    cache.put(_response(rtype=RRType.MX, rcode=Rcode.NXDOMAIN, authority=(_soa(3600, 3600),)))
    clock.now += 10
    assert cache.get(NAME, RRType.MX) is None
    assert cache.get(NAME, RRType.A) is not None
    clock.now += 90
    assert cache.get(NAME, RRType.A) is None


def test_eviction_least_recently_used_and_expired_first() -> None:
    clock = Clock()
    cache = Cache(clock=clock, max_entries=3)

    def put(label: str, ttl: int) -> None:
        name = Name.from_text(f"{label}.test.")
        cache.put(_response(name=name, answers=(RR(name, RRType.A, RRClass.IN, ttl,
                                                     A("192.0.2.1")),)))

    put("a", 100)
    put("b", 100)
    put("c", 100)
    assert cache.get("a.test", RRType.A) is not None     # a is now the most recent
    put("d", 100)
    assert len(cache) == 3
    assert cache.get("b.test", RRType.A) is None          # the least recently used went
    assert cache.get("a.test", RRType.A) is not None
    put("short", 5)
    clock.now += 6                                        # "short" expired
    put("e", 100)
    assert len(cache) == 3
    # "c" went for "short"; then "short", expired, went before "d", the least recent
    assert cache.get("c.test", RRType.A) is None
    assert cache.get("short.test", RRType.A) is None
    assert all(cache.get(f"{x}.test", RRType.A) is not None for x in "dae")


def test_bad_max_entries() -> None:
    import pytest
    with pytest.raises(ValueError):
        Cache(max_entries=0)
