"""StreamProtocol: coalesced writes, intact ordered reads, STARTTLS, flow control."""
from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import pytest

from certs import make_self_signed
from plait.core.transport import StreamProtocol

WAIT = 10.0


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return make_self_signed(tmp_path)


class CountingTransport:
    """Wraps a transport and counts write calls."""

    def __init__(self, inner: asyncio.Transport) -> None:
        self.inner = inner
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Collector(StreamProtocol):
    """Gathers everything received; counts chunks."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.chunks = 0
        self.started = asyncio.Event()
        self.ended = asyncio.Event()
        self.end_exc: BaseException | None = None
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []

    def stream_started(self) -> None:
        self.started.set()

    def stream_received(self, data: memoryview) -> None:
        self.chunks += 1
        self.data += data
        for n, fut in list(self.waiters):
            if len(self.data) >= n and not fut.done():
                fut.set_result(None)

    def stream_ended(self, exc: BaseException | None) -> None:
        self.end_exc = exc
        self.ended.set()

    async def until(self, n: int) -> None:
        if len(self.data) >= n:
            return
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append((n, fut))
        await asyncio.wait_for(fut, WAIT)


async def pair() -> tuple[Collector, Collector, asyncio.AbstractServer]:
    loop = asyncio.get_running_loop()
    server_side: asyncio.Future[Collector] = loop.create_future()

    def make() -> Collector:
        p = Collector()
        server_side.set_result(p)
        return p

    server = await loop.create_server(make, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await loop.create_connection(Collector, "127.0.0.1", port)
    srv = await asyncio.wait_for(server_side, WAIT)
    await asyncio.wait_for(srv.started.wait(), WAIT)
    return client, srv, server


async def test_small_writes_in_one_iteration_are_one_transport_write(loop_kind: str) -> None:
    client, srv, server = await pair()
    counter = CountingTransport(client.transport)  # type: ignore[arg-type]
    client.transport = counter  # type: ignore[assignment]
    for i in range(500):
        client.write(b"%04d" % i)
    client.writelines([b"a", bytearray(b"b"), memoryview(b"c")])
    assert counter.writes == []  # nothing sent yet: coalesced until the loop turns
    await srv.until(2003)
    assert len(counter.writes) == 1
    expected = b"".join(b"%04d" % i for i in range(500)) + b"abc"
    assert bytes(srv.data) == expected
    client.close()
    server.close()


class ChattyEcho(Collector):
    """Answers each read with many small writes."""

    def stream_received(self, data: memoryview) -> None:
        super().stream_received(data)
        for byte in bytes(data):
            self.write(b"<%c>" % byte)


async def test_writes_inside_a_read_go_out_as_one_write_when_it_returns(loop_kind: str) -> None:
    loop = asyncio.get_running_loop()
    made: asyncio.Future[ChattyEcho] = loop.create_future()

    def make() -> ChattyEcho:
        p = ChattyEcho()
        made.set_result(p)
        return p

    server = await loop.create_server(make, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await loop.create_connection(Collector, "127.0.0.1", port)
    srv = await asyncio.wait_for(made, WAIT)
    await asyncio.wait_for(srv.started.wait(), WAIT)
    counter = CountingTransport(srv.transport)  # type: ignore[arg-type]
    srv.transport = counter  # type: ignore[assignment]
    client.write(b"abc")
    await client.until(9)
    assert bytes(client.data) == b"<a><b><c>"
    assert len(counter.writes) == srv.chunks  # one write per read callback
    assert srv._flush_handle is None  # flushed on return, no callback was scheduled
    client.close()
    server.close()


async def test_separate_iterations_give_separate_writes_and_flush_is_immediate(loop_kind: str) -> None:
    client, srv, server = await pair()
    counter = CountingTransport(client.transport)  # type: ignore[arg-type]
    client.transport = counter  # type: ignore[assignment]
    client.write(b"one")
    client.flush()
    assert counter.writes == [b"one"]
    client.write(b"two")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert counter.writes == [b"one", b"two"]
    await srv.until(6)
    assert bytes(srv.data) == b"onetwo"
    client.close()
    server.close()


async def test_large_write_goes_straight_through_after_buffered_data(loop_kind: str) -> None:
    client, srv, server = await pair()
    counter = CountingTransport(client.transport)  # type: ignore[arg-type]
    client.transport = counter  # type: ignore[assignment]
    big = bytes(range(256)) * 1024  # 256 KiB
    client.write(b"head")
    client.write(big)
    assert counter.writes == [b"head", big]
    await srv.until(len(big) + 4)
    assert bytes(srv.data) == b"head" + big
    client.close()
    server.close()


async def test_data_intact_in_order_across_many_chunks(loop_kind: str) -> None:
    client, srv, server = await pair()
    blob = bytes((i * 7) & 0xFF for i in range(3 * 1024 * 1024 + 17))
    view = memoryview(blob)
    for start in range(0, len(blob), 1000):
        client.write(view[start : start + 1000])
        if start % 100_000 == 0:
            await client.drain()
    await srv.until(len(blob))
    assert bytes(srv.data) == blob
    assert srv.chunks > 1  # read through the reused 64 KiB buffer, more than once
    assert srv.chunks >= len(blob) // srv.read_buffer_size
    client.close()
    await asyncio.wait_for(srv.ended.wait(), WAIT)
    assert srv.end_exc is None
    server.close()


async def test_close_flushes_then_closes_and_writes_after_close_are_dropped(loop_kind: str) -> None:
    client, srv, server = await pair()
    client.write(b"last words")
    client.close()
    client.write(b"ignored")
    assert client.closing
    await asyncio.wait_for(srv.ended.wait(), WAIT)
    assert bytes(srv.data) == b"last words"
    await asyncio.wait_for(client.ended.wait(), WAIT)
    assert client.transport is None
    server.close()


async def test_abort_drops_buffer(loop_kind: str) -> None:
    client, srv, server = await pair()
    client.write(b"never sent")
    client.abort()
    await asyncio.wait_for(srv.ended.wait(), WAIT)
    assert bytes(srv.data) == b""
    server.close()


async def test_peer_and_host_addresses(loop_kind: str) -> None:
    client, srv, server = await pair()
    assert client.peer == srv.host
    assert client.host == srv.peer
    assert client.peer[0] == "127.0.0.1"
    client.close()
    await asyncio.wait_for(client.ended.wait(), WAIT)
    assert client.peer is None and client.host is None
    server.close()


async def test_flow_control_drain_waits_until_resumed(loop_kind: str) -> None:
    client, srv, server = await pair()
    assert client.transport is not None
    client.transport.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
    srv.transport.pause_reading()  # type: ignore[union-attr]
    chunk = b"x" * 65536
    sent = 0
    # Keep writing until the transport tells us to pause (the peer is not reading).
    while not client.writing_paused:
        client.write(chunk)
        sent += len(chunk)
        await asyncio.sleep(0)
        assert sent < 512 * 1024 * 1024
    drain = asyncio.ensure_future(client.drain())
    await asyncio.sleep(0)
    assert not drain.done()
    srv.transport.resume_reading()  # type: ignore[union-attr]
    await asyncio.wait_for(drain, WAIT)
    await srv.until(sent)
    assert len(srv.data) == sent
    client.close()
    server.close()


async def test_drain_after_connection_lost_raises(loop_kind: str) -> None:
    client, srv, server = await pair()
    srv.abort()
    await asyncio.wait_for(client.ended.wait(), WAIT)
    with pytest.raises(ConnectionResetError):
        await client.drain()
    server.close()


class Switcher(Collector):
    """Echoes plain text until it sees STARTTLS, then answers OK and upgrades."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self.context = context
        self.upgraded = asyncio.Event()

    def stream_received(self, data: memoryview) -> None:
        super().stream_received(data)
        if bytes(self.data).endswith(b"STARTTLS\n") and not self.upgraded.is_set():
            self.write(b"OK\n")
            self.pause_reading()
            asyncio.ensure_future(self._upgrade())
        elif self.upgraded.is_set() and bytes(self.data).endswith(b"\n"):
            self.write(b"secure:" + bytes(self.data).split(b"STARTTLS\n", 1)[1])

    async def _upgrade(self) -> None:
        await self.start_tls(self.context, server_side=True)
        self.upgraded.set()


async def test_start_tls_upgrade_mid_stream(loop_kind: str, cert: tuple[Path, Path]) -> None:
    cert_path, key_path = cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    loop = asyncio.get_running_loop()
    made: asyncio.Future[Switcher] = loop.create_future()

    def make() -> Switcher:
        p = Switcher(server_ctx)
        made.set_result(p)
        return p

    server = await loop.create_server(make, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await loop.create_connection(Collector, "127.0.0.1", port)
    client.write(b"hello\nSTARTTLS\n")
    await client.until(3)
    assert bytes(client.data) == b"OK\n"
    srv = await made
    plain_transport = client.transport
    await asyncio.wait_for(
        client.start_tls(client_ctx, server_side=False, server_hostname="localhost"), WAIT
    )
    assert client.transport is not plain_transport
    assert client.transport.get_extra_info("ssl_object") is not None  # type: ignore[union-attr]
    await asyncio.wait_for(srv.upgraded.wait(), WAIT)
    client.write(b"over tls\n")
    await client.until(3 + len(b"secure:over tls\n"))
    assert bytes(client.data) == b"OK\nsecure:over tls\n"
    assert srv.transport.get_extra_info("peercert") is None  # type: ignore[union-attr]
    client.close()
    await asyncio.wait_for(srv.ended.wait(), WAIT)
    server.close()


async def test_writes_during_tls_handshake_are_held_and_sent_encrypted(
    loop_kind: str, cert: tuple[Path, Path],
) -> None:
    cert_path, key_path = cert
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    client, srv, server = await pair()
    upgrade_server = asyncio.ensure_future(srv.start_tls(server_ctx, server_side=True))
    upgrade_client = asyncio.ensure_future(
        client.start_tls(client_ctx, server_side=False, server_hostname="127.0.0.1")
    )
    await asyncio.sleep(0)
    client.write(b"early")  # during the handshake
    await asyncio.wait_for(asyncio.gather(upgrade_server, upgrade_client), WAIT)
    await srv.until(5)
    assert bytes(srv.data) == b"early"
    client.close()
    server.close()


class _ListTransport:
    """A transport that keeps what is written (no socket: reads are fed by hand)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


class _Releasing(StreamProtocol):
    """Echoes each read, then releases the view it was given (as ``with data:`` does)."""

    def stream_received(self, data: memoryview) -> None:
        self.write(bytes(data))
        data.release()


def _feed(proto: StreamProtocol, chunk: bytes) -> None:
    buf = proto.get_buffer(-1)
    buf[:len(chunk)] = chunk
    proto.buffer_updated(len(chunk))


async def test_reads_of_one_size_deliver_each_read_even_when_views_are_released(
        loop_kind: str) -> None:
    proto = _Releasing()
    first, second = _ListTransport(), _ListTransport()
    proto.connection_made(first)
    chunks = [b"a" * 64, b"b" * 64, b"c" * 10, b"d" * 64, b"e" * 64]
    for chunk in chunks:
        _feed(proto, chunk)
    assert first.writes == chunks  # one write per read, each with that read's bytes
    proto.transport = second  # writes follow a replaced transport
    _feed(proto, b"f" * 64)
    assert second.writes == [b"f" * 64] and len(first.writes) == len(chunks)
