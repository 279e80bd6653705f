"""Relayed (virtual) connections: flow control end to end through the identity server."""
from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from plait.vertex.q2q import connect, listen, virtual
from plait.vertex.q2q.virtual import ChannelMux
from vertex.q2q.q2q_lab import identity_lab

CHUNK = 64 * 1024
#: Most bytes the backlog test writes before the server must have choked the writer.
MAX_BACKLOG = 256 * 1024 * 1024


class Sink(asyncio.Protocol):
    """Bob's side: records what arrives; may start with reading paused."""

    instances: list[Sink] = []

    def __init__(self, paused: bool) -> None:
        self.paused = paused
        self.data = bytearray()
        self.arrived = asyncio.Event()
        Sink.instances.append(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.paused:
            transport.pause_reading()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.arrived.set()


class Writer(asyncio.Protocol):
    """Alice's side: records pause_writing / resume_writing."""

    def __init__(self) -> None:
        self.paused = asyncio.Event()
        self.resumed = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def pause_writing(self) -> None:
        self.resumed.clear()
        self.paused.set()

    def resume_writing(self) -> None:
        self.paused.clear()
        self.resumed.set()


async def test_a_paused_reader_chokes_the_writer(tmp_path: Path) -> None:
    Sink.instances = []
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        async with await listen(bob, {"sink": lambda: Sink(paused=True)}, certs=bob_certs,
                                server=lab.server):
            transport, proto = await connect(alice, bob, "sink", Writer, certs=alice_certs,
                                             server=lab.server, methods=("virtual",))
            writer = proto
            assert isinstance(writer, Writer)
            await writer.paused.wait()  # bob paused reading: the choke came through
            payload = bytes(range(256)) * 1024
            transport.write(payload)
            sink = Sink.instances[0]
            assert sink.data == b""
            sink.transport.resume_reading()  # type: ignore[attr-defined]
            await writer.resumed.wait()  # the unchoke came through
            while len(sink.data) < len(payload):
                sink.arrived.clear()
                await sink.arrived.wait()
            assert bytes(sink.data) == payload
            transport.close()


async def test_the_server_chokes_a_writer_whose_reader_backs_up(tmp_path: Path) -> None:
    Sink.instances = []
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        listener = await listen(bob, {"sink": lambda: Sink(paused=False)}, certs=bob_certs,
                                server=lab.server)
        transport, proto = await connect(alice, bob, "sink", Writer, certs=alice_certs,
                                         server=lab.server, methods=("virtual",))
        assert isinstance(proto, Writer)
        [entry] = lab.identity.listeners[bob]
        [bobs_pipe] = entry.proto.pipes.values()
        towards_bob = bobs_pipe.reverse
        assert towards_bob is not None
        assert listener.connection is not None and listener.connection.transport is not None
        listener.connection.transport.pause_reading()  # bob's relay connection stalls
        digest = hashlib.sha256()
        sent = 0
        block = bytes(range(256)) * (CHUNK // 256)
        while not towards_bob.told and sent < MAX_BACKLOG:
            if proto.paused.is_set():  # backpressure from our own connection: let it drain
                await asyncio.sleep(0.01)
                continue
            transport.write(block)
            digest.update(block)
            sent += len(block)
            await asyncio.sleep(0)
        assert towards_bob.told, f"not choked after {sent} bytes"
        await proto.paused.wait()  # the server's choke paused alice's protocol
        listener.connection.transport.resume_reading()
        await proto.resumed.wait()
        sink = Sink.instances[0]
        while len(sink.data) < sent:
            sink.arrived.clear()
            await sink.arrived.wait()
        assert len(sink.data) == sent
        assert hashlib.sha256(sink.data).digest() == digest.digest()
        assert not towards_bob.told
        transport.close()
        await listener.close()


async def test_closing_one_end_closes_the_other(tmp_path: Path) -> None:
    Sink.instances = []
    async with identity_lab(tmp_path) as lab:
        alice, alice_certs = await lab.user("alice")
        bob, bob_certs = await lab.user("bob")
        lost = asyncio.get_running_loop().create_future()

        class Watch(Sink):
            def connection_lost(self, exc: Exception | None) -> None:
                lost.set_result(exc)

        async with await listen(bob, {"sink": lambda: Watch(paused=False)}, certs=bob_certs,
                                server=lab.server):
            transport, _ = await connect(alice, bob, "sink", Writer, certs=alice_certs,
                                         server=lab.server, methods=("virtual",))
            transport.write(b"x")
            while not Sink.instances or not Sink.instances[0].data:
                await asyncio.sleep(0.01)
            transport.close()
            assert await lost is None
            [entry] = lab.identity.listeners[bob]
            assert entry.proto.pipes == {}


def _mux() -> ChannelMux:
    return ChannelMux()  # unconnected: its boxes go nowhere, which is all these tests need


async def test_channel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(virtual, "MAX_CHANNELS", 2)
    mux = _mux()
    first = mux.new_channel()
    with pytest.raises(ValueError, match=f"virtual channel {first.channel_id} is in use"):
        mux.new_channel(first.channel_id)
    mux.new_channel()
    with pytest.raises(ValueError, match="already carries 2 virtual channels"):
        mux.new_channel()
    first.close()
    assert mux.new_channel(first.channel_id).channel_id == first.channel_id  # freed


async def test_a_reader_that_never_resumes_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(virtual, "MAX_INBOX", 10)
    mux = _mux()
    channel = mux.new_channel()
    sink = Sink(paused=False)
    lost: list[Exception | None] = []
    sink.connection_lost = lost.append  # type: ignore[method-assign]
    channel.start(sink)
    channel.pause_reading()
    channel._deliver(b"12345")
    channel._deliver(b"67890")
    assert not channel.is_closing() and sink.data == b""
    channel._deliver(b"!")  # over the bound: the channel is closed
    assert channel.is_closing() and lost == [None]
    assert mux.channels == {}


async def test_resume_delivers_in_order() -> None:
    mux = _mux()
    channel = mux.new_channel()
    sink = Sink(paused=False)
    channel.start(sink)
    channel.pause_reading()
    for part in (b"a", b"b", b"c"):
        channel._deliver(part)
    assert sink.data == b""
    channel.resume_reading()
    channel._deliver(b"d")
    assert sink.data == b"abcd"
    assert not channel.can_write_eof()
    with pytest.raises(RuntimeError, match="cannot be half-closed"):
        channel.write_eof()
