"""VT102 parsing: plait (native TerminalParser + TerminalBuffer) beside pyte and Twisted insults.

The same deterministic byte streams for everyone, fed in 4 KiB reads as from a socket:

* ``vt102-plain``: 4 MiB of plain text lines (``\\r\\n`` ended, the screen scrolls).
* ``vt102-escapes``: 4 MiB of what a full-screen program draws: cursor positioning, SGR with
  16/256/truecolour, erases, line-drawing charset switches, scroll regions, insert/delete.
* ``vt102-keys``: the input side, 1 MiB of typed keys (text, arrows, function keys with
  modifiers, Alt) through plait's ``KeyParser`` and Twisted's ``ServerProtocol``.

plait: ``ClientProtocol(TerminalBuffer(80, 24))``; pyte: ``ByteStream(Screen(80, 24))``;
Twisted: ``insults.ClientProtocol(helper.TerminalBuffer)`` (with a no-op ``setScrollRegion``,
which its buffer lacks). pyte and Twisted parse a 256 KiB
prefix of the same stream per round (they are two to three orders of magnitude slower);
throughput is bytes per second of process CPU time either way.
"""
from __future__ import annotations

import contextlib
import io
import random
from typing import Any

import pytest
from _harness import record, size

CHUNK = 4096
BIG = size(4 << 20, 256 << 10)
SMALL = size(256 << 10, 32 << 10)
KEYS_SIZE = size(1 << 20, 64 << 10)


def plain_stream(nbytes: int) -> bytes:
    rng = random.Random(1)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(1, 10)))
             for _ in range(500)]
    out = bytearray()
    while len(out) < nbytes:
        line = bytearray()
        while len(line) < rng.randrange(20, 79):
            line += rng.choice(words) + b" "
        out += bytes(line[:79]) + b"\r\n"
    return bytes(out[:nbytes])


def escape_stream(nbytes: int) -> bytes:
    rng = random.Random(2)
    out = bytearray()
    while len(out) < nbytes:
        kind = rng.randrange(10)
        out += b"\x1b[%d;%dH" % (rng.randrange(1, 25), rng.randrange(1, 81))
        if kind < 4:
            out += b"\x1b[%d;%dm" % (rng.randrange(30, 38), rng.randrange(40, 48))
        elif kind < 6:
            out += b"\x1b[38;5;%d;48;5;%dm" % (rng.randrange(256), rng.randrange(256))
        elif kind < 7:
            out += b"\x1b[1;38;2;%d;%d;%dm" % (rng.randrange(256), rng.randrange(256),
                                               rng.randrange(256))
        elif kind < 8:
            out += b"\x1b(0lqqqqqqk\x1b(B"
        elif kind < 9:
            out += rng.choice([b"\x1b[K", b"\x1b[1K", b"\x1b[2L", b"\x1b[3M", b"\x1b[4@",
                               b"\x1b[2P", b"\x1b[5X", b"\x1b[5;20r\x1b[20H\n\n\x1b[r"])
        else:
            out += b"\x1b[0m"
        out += b"status %d ok" % rng.randrange(1000)
    return bytes(out[:nbytes])


def keys_stream(nbytes: int) -> bytes:
    rng = random.Random(3)
    keys = [b"a", b"b", b"hello ", b"\r", b"\x7f", b"\t", b"\x1b[A", b"\x1b[B", b"\x1b[C",
            b"\x1b[D", b"\x1b[1;5C", b"\x1bOP", b"\x1b[15~", b"\x1b[3~", b"\x1b[H", b"\x1bx",
            "\u00e9".encode()]
    out = bytearray()
    while len(out) < nbytes:
        out += rng.choice(keys)
    return bytes(out[:nbytes])


PLAIN = plain_stream(BIG)
ESCAPES = escape_stream(BIG)
KEYS = keys_stream(KEYS_SIZE)


def _chunks(data: bytes) -> list[bytes]:
    return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]


def _plait(data: bytes) -> Any:
    pytest.importorskip("plait.conch.insults._vt102", reason="the Cython core is not built")
    from plait.conch.insults._vt102 import TerminalBuffer
    from plait.conch.insults.protocol import ClientProtocol

    chunks = _chunks(data)

    def run() -> Any:
        buf = TerminalBuffer(80, 24)
        proto = ClientProtocol(buf)
        feed = proto.data_received
        for chunk in chunks:
            feed(chunk)
        return buf
    return run


def _pyte(data: bytes) -> Any:
    pyte = pytest.importorskip("pyte")
    chunks = _chunks(data)

    def run() -> Any:
        screen = pyte.Screen(80, 24)
        stream = pyte.ByteStream(screen)
        for chunk in chunks:
            stream.feed(chunk)
        return screen
    return run


def _twisted(data: bytes) -> Any:
    pytest.importorskip("twisted")
    from twisted.conch.insults import helper, insults
    from twisted.internet.testing import StringTransport

    class Buffer(helper.TerminalBuffer):  # type: ignore[misc]
        """Twisted's buffer has no scroll regions; the stream sets them, so accept the call."""

        def setScrollRegion(self, first: Any = None, last: Any = None) -> None:
            pass

    chunks = _chunks(data)

    def run() -> Any:
        proto = insults.ClientProtocol(Buffer)
        proto.makeConnection(StringTransport())
        with contextlib.redirect_stdout(io.StringIO()):  # it prints what it cannot handle
            for chunk in chunks:
                proto.dataReceived(chunk)
        return proto.terminal
    return run


@pytest.mark.benchmark(group="vt102-plain")
def test_plain_plait(benchmark: Any) -> None:
    run = _plait(PLAIN)
    assert str(run()).strip()
    record(benchmark, "plait", nbytes_per_round=len(PLAIN))
    benchmark(run)


@pytest.mark.benchmark(group="vt102-plain")
def test_plain_pyte(benchmark: Any) -> None:
    run = _pyte(PLAIN[:SMALL])
    assert "".join(run().display).strip()
    record(benchmark, "pyte", nbytes_per_round=SMALL)
    benchmark(run)


@pytest.mark.benchmark(group="vt102-plain")
def test_plain_twisted(benchmark: Any) -> None:
    run = _twisted(PLAIN[:SMALL])
    assert str(run()).strip()
    record(benchmark, "twisted", nbytes_per_round=SMALL)
    benchmark(run)


@pytest.mark.benchmark(group="vt102-escapes")
def test_escapes_plait(benchmark: Any) -> None:
    run = _plait(ESCAPES)
    assert "status" in str(run())
    record(benchmark, "plait", nbytes_per_round=len(ESCAPES))
    benchmark(run)


@pytest.mark.benchmark(group="vt102-escapes")
def test_escapes_pyte(benchmark: Any) -> None:
    run = _pyte(ESCAPES[:SMALL])
    assert "status" in "".join(run().display)
    record(benchmark, "pyte", nbytes_per_round=SMALL)
    benchmark(run)


@pytest.mark.benchmark(group="vt102-escapes")
def test_escapes_twisted(benchmark: Any) -> None:
    run = _twisted(ESCAPES[:SMALL])
    assert str(run()).strip()  # its final screen differs: it lacks ICH, ECH, scroll regions
    record(benchmark, "twisted", nbytes_per_round=SMALL)
    benchmark(run)


class _Counter:
    def __init__(self) -> None:
        self.keys = 0

    def keystroke_received(self, key: Any, modifier: Any) -> None:
        self.keys += 1

    def paste_received(self, text: str) -> None:
        self.keys += 1


@pytest.mark.benchmark(group="vt102-keys")
def test_keys_plait(benchmark: Any) -> None:
    pytest.importorskip("plait.conch.insults._vt102", reason="the Cython core is not built")
    from plait.conch.insults._vt102 import KeyParser

    chunks = _chunks(KEYS)

    def run() -> int:
        counter = _Counter()
        parser = KeyParser(counter)
        for chunk in chunks:
            parser.feed(chunk)
        return counter.keys
    assert run() > len(KEYS) // 8
    record(benchmark, "plait", nbytes_per_round=len(KEYS))
    benchmark(run)


@pytest.mark.benchmark(group="vt102-keys")
def test_keys_twisted(benchmark: Any) -> None:
    pytest.importorskip("twisted")
    from twisted.conch.insults import insults
    from twisted.internet.testing import StringTransport

    class Counter(insults.TerminalProtocol):  # type: ignore[misc]
        keys = 0

        def keystrokeReceived(self, keyID: Any, modifier: Any) -> None:
            Counter.keys += 1

    data = KEYS[:SMALL]
    chunks = _chunks(data)

    def run() -> int:
        Counter.keys = 0
        proto = insults.ServerProtocol(Counter)
        proto.makeConnection(StringTransport())
        for chunk in chunks:
            proto.dataReceived(chunk)
        return Counter.keys
    assert run() > len(data) // 8
    record(benchmark, "twisted", nbytes_per_round=len(data))
    benchmark(run)
