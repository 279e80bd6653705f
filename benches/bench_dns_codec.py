"""DNS wire codec: plait (native codec + ``plait.names.Message``) beside dnspython and Twisted Names.

The same wire bytes for everyone: a 10-record response (4 A, 2 AAAA, 2 MX, 1 TXT, 1 NS, with
compression and an OPT record) and a query with EDNS, both rendered by dnspython.

* ``dns-parse-response``: bytes -> message object (``Message.from_wire``,
  ``dns.message.from_wire``, ``twisted.names.dns.Message().fromStr``).
* ``dns-render-response``: the parsed message object -> bytes.
* ``dns-parse-query``: bytes of the query -> message object.

plait's decoder shares the names, address text and EDNS object that recur from message to
message (bounded tables, a value kept on its second sighting), so parsing the same response
again and again measures that warm case; with every name and address new in each message it
is about 1.3x slower (measured 2026-11-24: 2.3 vs 3.2 us a parse).

Each round is a batch of the same call (``BATCH``, fewer for dnspython, which is slow), a
Python loop around it included, and throughput counts calls: a round of one call is mostly
the timer's own cost (``time.process_time`` is a system call of about half a microsecond)
when the call takes a few microseconds.
"""
from __future__ import annotations

from typing import Any

import pytest
from _harness import record, size

BATCH = size(100, 10)
SLOW_BATCH = size(10, 2)  # dnspython: about 0.7 ms a parse


def _batch(fn: Any, arg: Any = None, n: int = BATCH) -> Any:
    """A function that calls ``fn`` (with ``arg`` if given) ``n`` times."""
    rounds = range(n)
    if arg is None:
        def run() -> None:
            for _ in rounds:
                fn()
    else:
        def run() -> None:
            for _ in rounds:
                fn(arg)
    return run


def _response_wire() -> bytes:
    import dns.flags
    import dns.message
    import dns.rrset

    query = dns.message.make_query("example.com.", "ANY", use_edns=0, payload=1232)
    resp = dns.message.make_response(query)
    resp.use_edns(0, 0, 1232)
    resp.flags |= dns.flags.AA
    add = resp.answer.append
    add(dns.rrset.from_text("example.com.", 300, "IN", "A",
                            "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"))
    add(dns.rrset.from_text("example.com.", 300, "IN", "AAAA", "2001:db8::1", "2001:db8::2"))
    add(dns.rrset.from_text("example.com.", 300, "IN", "MX",
                            "10 mail1.example.com.", "20 mail2.example.com."))
    add(dns.rrset.from_text("example.com.", 300, "IN", "TXT", '"v=spf1 mx -all"'))
    add(dns.rrset.from_text("example.com.", 300, "IN", "NS", "ns1.example.com."))
    wire: bytes = resp.to_wire()
    return wire


def _query_wire() -> bytes:
    import dns.message

    wire: bytes = dns.message.make_query("www.example.com.", "A", use_edns=0, payload=1232).to_wire()
    return wire


RESPONSE = _response_wire()
QUERY = _query_wire()


def _plait() -> Any:
    pytest.importorskip("plait._native", reason="plait._native is not built")
    from plait.names import Message

    return Message


def _dnspython() -> Any:
    import dns.message

    return dns.message


def _twisted() -> Any:
    from twisted.names import dns

    return dns


def _twisted_parse(tdns: Any, wire: bytes) -> Any:
    m = tdns.Message()
    m.fromStr(wire)
    return m


def _twisted_parser(tdns: Any) -> Any:
    def parse(wire: bytes) -> Any:
        m = tdns.Message()
        m.fromStr(wire)
        return m
    return parse


# ---------------------------------------------------------------- parse response


@pytest.mark.benchmark(group="dns-parse-response")
def test_parse_response_plait(benchmark: Any) -> None:
    message = _plait()
    assert len(message.from_wire(RESPONSE).answers) == 10
    record(benchmark, "plait", per_round=BATCH)
    benchmark(_batch(message.from_wire, RESPONSE))


@pytest.mark.benchmark(group="dns-parse-response")
def test_parse_response_dnspython(benchmark: Any) -> None:
    dm = _dnspython()
    assert sum(len(r) for r in dm.from_wire(RESPONSE).answer) == 10
    record(benchmark, "dnspython", per_round=SLOW_BATCH)
    benchmark(_batch(dm.from_wire, RESPONSE, SLOW_BATCH))


@pytest.mark.benchmark(group="dns-parse-response")
def test_parse_response_twisted(benchmark: Any) -> None:
    tdns = _twisted()
    assert len(_twisted_parse(tdns, RESPONSE).answers) == 10
    record(benchmark, "twisted", per_round=BATCH)
    benchmark(_batch(_twisted_parser(tdns), RESPONSE))


# ---------------------------------------------------------------- render response


@pytest.mark.benchmark(group="dns-render-response")
def test_render_response_plait(benchmark: Any) -> None:
    msg = _plait().from_wire(RESPONSE)
    assert len(msg.to_wire()) <= len(RESPONSE)
    record(benchmark, "plait", per_round=BATCH)
    benchmark(_batch(msg.to_wire))


@pytest.mark.benchmark(group="dns-render-response")
def test_render_response_dnspython(benchmark: Any) -> None:
    msg = _dnspython().from_wire(RESPONSE)
    record(benchmark, "dnspython", per_round=SLOW_BATCH)
    benchmark(_batch(msg.to_wire, None, SLOW_BATCH))


@pytest.mark.benchmark(group="dns-render-response")
def test_render_response_twisted(benchmark: Any) -> None:
    msg = _twisted_parse(_twisted(), RESPONSE)
    record(benchmark, "twisted", per_round=BATCH)
    benchmark(_batch(msg.toStr))


# ---------------------------------------------------------------- parse query


@pytest.mark.benchmark(group="dns-parse-query")
def test_parse_query_plait(benchmark: Any) -> None:
    message = _plait()
    assert len(message.from_wire(QUERY).questions) == 1
    record(benchmark, "plait", per_round=BATCH)
    benchmark(_batch(message.from_wire, QUERY))


@pytest.mark.benchmark(group="dns-parse-query")
def test_parse_query_dnspython(benchmark: Any) -> None:
    dm = _dnspython()
    record(benchmark, "dnspython", per_round=BATCH)
    benchmark(_batch(dm.from_wire, QUERY))


@pytest.mark.benchmark(group="dns-parse-query")
def test_parse_query_twisted(benchmark: Any) -> None:
    tdns = _twisted()
    record(benchmark, "twisted", per_round=BATCH)
    benchmark(_batch(_twisted_parser(tdns), QUERY))
