"""The sans-IO core: RFC 854 framing, sub-negotiations and bad input, in every chunk size."""
from __future__ import annotations

import random

import pytest

from conch.telnet.pair import Pair, drain, feed
from plait.conch.telnet import constants as c
from plait.conch.telnet.events import (
    CommandReceived,
    DataReceived,
    Event,
    LinemodeChanged,
    OptionEnabled,
    ProtocolViolation,
    TerminalType,
    TerminalTypeList,
    WindowSize,
)
from plait.conch.telnet.protocol import (
    MAX_SUBNEGOTIATION,
    MAX_TERMINAL_TYPE_LENGTH,
    TelnetConnection,
)

CHUNKS = [1, 2, 3, 5, 7, 64, 1 << 20]


def data_of(events: list[Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, DataReceived))


def not_data(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, DataReceived)]


def negotiated_pair(chunk: int, **client_kw: object) -> Pair:
    server = TelnetConnection(server=True, cycle_terminal_types=True, linemode=0)
    kw: dict = {"terminal_types": ("xterm-256color", "xterm", "vt100"), "window_size": (132, 43)}
    kw.update(client_kw)
    client = TelnetConnection(server=False, **kw)
    for option in (c.ECHO, c.SGA):
        server.enable_local(option)
    for option in (c.NAWS, c.TTYPE, c.LINEMODE):
        server.enable_remote(option)
    pair = Pair(client, server, chunk)
    pair.run()
    return pair


@pytest.mark.parametrize("chunk", CHUNKS)
def test_server_negotiation(chunk: int) -> None:
    pair = negotiated_pair(chunk)
    s, cl = pair.server, pair.client
    assert s.local_enabled(c.ECHO) and s.local_enabled(c.SGA)
    assert cl.remote_enabled(c.ECHO) and cl.remote_enabled(c.SGA)
    for option in (c.NAWS, c.TTYPE, c.LINEMODE):
        assert s.remote_enabled(option) and cl.local_enabled(option)
    ev = pair.server_events
    assert WindowSize(132, 43) in ev
    assert [e.name for e in ev if isinstance(e, TerminalType)] == [
        "xterm-256color", "xterm", "vt100", "vt100"]
    assert TerminalTypeList(("xterm-256color", "xterm", "vt100")) in ev
    assert s.terminal_type == "xterm-256color"
    assert LinemodeChanged(0) in ev and s.linemode.mode == 0 == cl.linemode.mode
    assert OptionEnabled(c.ECHO, False) in pair.client_events
    assert data_of(ev) == b"" and data_of(pair.client_events) == b""


def test_naws_updates_and_iac_in_sizes() -> None:
    pair = negotiated_pair(1)
    pair.client.set_window_size(255, 0xFFFF)
    out = pair.client.data_to_send()
    assert out == bytes((c.IAC, c.SB, c.NAWS, 0, 255, 255, 255, 255, 255, 255, c.IAC, c.SE))
    feed(pair.server, out, 1)
    assert drain(pair.server) == [WindowSize(255, 0xFFFF)]
    with pytest.raises(ValueError):
        pair.client.set_window_size(70000, 1)


def test_terminal_type_cycle_starts_over_after_the_repeat() -> None:
    client = TelnetConnection(server=False, terminal_types=("a", "b"))
    server = TelnetConnection(server=True, cycle_terminal_types=False)
    server.enable_remote(c.TTYPE)
    pair = Pair(client, server)
    pair.run()
    for _ in range(6):
        server.request_terminal_type()
        pair.run()
    names = [e.name for e in pair.server_events if isinstance(e, TerminalType)]
    assert names == ["a", "b", "b", "a", "b", "b", "a"]
    assert server.terminal_type == "a"


ROUND_TRIP = [
    b"hello\r\nworld\r",
    b"\xff\xff\xff\r\x00\r\r\n\n\xfe\xfd",
    b"\r",
    bytes(range(256)) * 3,
]


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("binary", [False, True])
def test_data_round_trips_both_ways(chunk: int, binary: bool) -> None:
    server = TelnetConnection(server=True)
    client = TelnetConnection(server=False)
    pair = Pair(client, server, chunk)
    if binary:
        server.enable_local(c.BINARY)
        server.enable_remote(c.BINARY)
        pair.run()
        assert client.local_enabled(c.BINARY) and client.remote_enabled(c.BINARY)
        pair.client_events.clear()
        pair.server_events.clear()
    rng = random.Random(chunk)
    payloads = [*ROUND_TRIP, bytes(rng.randrange(256) for _ in range(2000))]
    for payload in payloads:
        server.send_data(payload)
        client.send_data(payload[::-1])
        pair.run()
        assert data_of(pair.client_events) == payload
        assert data_of(pair.server_events) == payload[::-1]
        assert not_data(pair.client_events) == not_data(pair.server_events) == []
        pair.client_events.clear()
        pair.server_events.clear()


def test_nvt_line_endings() -> None:
    conn = TelnetConnection(server=False)
    conn.send_data(b"a\rb\r\nc\r")
    assert conn.data_to_send() == b"a\r\x00b\r\nc\r\x00"
    conn.send_data(b"\xff")
    assert conn.data_to_send() == b"\xff\xff"
    server = TelnetConnection(server=True)
    # CR NUL is CR, CR LF stays a newline, a bare CR before other bytes is still a CR
    feed(server, b"x\r\x00y\r\nz\rq\r", 1)
    assert data_of(drain(server)) == b"x\ry\r\nz\rq\r"    # a CR is not held back
    server.receive_data(b"\n\r")                           # ... and its LF follows it
    assert drain(server) == [DataReceived(b"\n\r")]
    server.receive_data(b"\x00\r\n")                       # CR NUL across chunks is one CR
    assert drain(server) == [DataReceived(b"\r\n")]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_commands_keep_their_place_in_the_data(chunk: int) -> None:
    server = TelnetConnection(server=True)
    wire = (b"ab" + bytes((c.IAC, c.AYT)) + b"cd" + bytes((c.IAC, c.IP, c.IAC, c.NOP))
            + b"\r" + bytes((c.IAC, c.BRK)) + b"e")
    feed(server, wire, chunk)
    events = drain(server)
    merged: list[object] = []
    for e in events:
        if isinstance(e, DataReceived) and merged and isinstance(merged[-1], bytes):
            merged[-1] += e.data
        else:
            merged.append(e.data if isinstance(e, DataReceived) else e)
    assert merged == [b"ab", CommandReceived(c.AYT), b"cd", CommandReceived(c.IP),
                      CommandReceived(c.NOP), b"\r", CommandReceived(c.BRK), b"e"]
    assert CommandReceived(c.AYT).name == "AYT"
    client = TelnetConnection(server=False)
    client.send_command(c.GA)
    assert client.data_to_send() == bytes((c.IAC, c.GA))
    with pytest.raises(ValueError):
        client.send_command(c.WILL)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_oversize_subnegotiation_is_dropped_and_parsing_goes_on(chunk: int) -> None:
    server = TelnetConnection(server=True)
    server.enable_remote(c.NAWS)
    server.receive_data(bytes((c.IAC, c.WILL, c.NAWS)))
    drain(server)
    wire = (bytes((c.IAC, c.SB, c.NAWS)) + b"\x01" * (MAX_SUBNEGOTIATION + 10)
            + bytes((c.IAC, c.SE)) + b"after"
            + bytes((c.IAC, c.SB, c.NAWS, 0, 80, 0, 24, c.IAC, c.SE)))
    feed(server, wire, chunk)
    events = drain(server)
    violations = [e for e in events if isinstance(e, ProtocolViolation)]
    assert len(violations) == 1 and not violations[0].fatal
    assert "longer than 1024" in violations[0].reason
    assert data_of(events) == b"after"
    assert events[-1] == WindowSize(80, 24)
    assert not any(isinstance(e, WindowSize) and e.width == 257 for e in events)


def test_limits_are_configurable() -> None:
    server = TelnetConnection(server=True, max_subnegotiation=3)
    server.enable_remote(c.NAWS)
    server.receive_data(bytes((c.IAC, c.WILL, c.NAWS, c.IAC, c.SB, c.NAWS, 0, 80, 0, 24,
                               c.IAC, c.SE)))
    assert not any(isinstance(e, WindowSize) for e in drain(server))


def test_bad_sequences_become_violations() -> None:
    server = TelnetConnection(server=True)
    server.enable_remote(c.NAWS)
    server.receive_data(bytes((c.IAC, c.WILL, c.NAWS)))
    drain(server)
    wire = (bytes((c.IAC, 7)) + b"a" + bytes((c.IAC, c.SE)) + b"b"
            + bytes((c.IAC, c.SB, c.NAWS, 0, 1, 0)) + bytes((c.IAC, c.WILL, c.TTYPE))
            + bytes((c.IAC, c.SB, c.NAWS, 0, 1, 0, 2, c.IAC, c.SE)))
    server.receive_data(wire)
    events = drain(server)
    reasons = [e.reason for e in events if isinstance(e, ProtocolViolation)]
    assert reasons == ["IAC followed by 7", "IAC SE outside a sub-negotiation",
                       "sub-negotiation of NAWS ended without SE", "NAWS needs exactly 4 bytes"]
    assert data_of(events) == b"ab"
    assert OptionEnabled(c.TTYPE, False) in events        # the command inside SB was handled
    assert events[-1] == WindowSize(1, 2)


def test_negotiation_flood_is_fatal_and_bounded() -> None:
    server = TelnetConnection(server=True, max_negotiations=100)
    server.receive_data(bytes((c.IAC, c.WILL, 200)) * 1000)
    events = drain(server)
    fatal = [e for e in events if isinstance(e, ProtocolViolation) and e.fatal]
    assert len(fatal) == 1
    assert len(server.data_to_send()) == 3 * 100          # one DONT per accepted command


@pytest.mark.parametrize("seed", range(20))
def test_garbage_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = [c.IAC, c.SB, c.SE, c.WILL, c.WONT, c.DO, c.DONT, c.NAWS, c.TTYPE, c.LINEMODE,
                c.LM_SLC, c.LM_MODE, 0, 1, 13, 10, 65]
    for server in (True, False):
        conn = TelnetConnection(server=server, window_size=(80, 24))
        for option in (c.NAWS, c.TTYPE, c.LINEMODE):
            conn.receive_data(bytes((c.IAC, c.WILL if server else c.DO, option)))
        blob = bytes(rng.choice(alphabet) if rng.random() < 0.8 else rng.randrange(256)
                     for _ in range(5000))
        feed(conn, blob, rng.randrange(1, 9))
        drain(conn)
        conn.data_to_send()


def test_terminal_type_limits() -> None:
    names = tuple(f"type{i}" for i in range(30))
    client = TelnetConnection(server=False, terminal_types=(*names, "x" * 100))
    server = TelnetConnection(server=True, cycle_terminal_types=True, max_terminal_types=16)
    server.enable_remote(c.TTYPE)
    pair = Pair(client, server)
    pair.run()
    lists = [e for e in pair.server_events if isinstance(e, TerminalTypeList)]
    assert lists == [TerminalTypeList(names[:16])]
    long = TelnetConnection(server=False, terminal_types=("x" * 100,))
    server = TelnetConnection(server=True)
    server.enable_remote(c.TTYPE)
    Pair(long, server).run()
    assert server.terminal_type == "x" * MAX_TERMINAL_TYPE_LENGTH
    with pytest.raises(ValueError):
        TelnetConnection(server=False, terminal_types=())
