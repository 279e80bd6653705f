"""PTCP over UDP beside aioquic, a raw uvloop UDP blast (the ceiling) and kernel TCP.

Every pair lives in this process on the persistent uvloop loop, so process CPU time is the
cost of a round (``benches/run.py`` times rounds with ``time.process_time``).

``ptcp-bulk``: one round sends ``BULK`` bytes (100 MB) one way and ends when the receiver
has counted them all: PTCP (``plait.vertex.ptcp``, batched recvmmsg/sendmmsg), aioquic 1.7
(one stream, self-signed certificate; 20 MB a round, as it moves under 10 MB/s), and
kernel TCP through plait's ``StreamProtocol``.

``ptcp-packets``: the same PTCP transfer counted in the data packets it needs (payload
1328 bytes each at the 1400-byte MTU) beside a raw UDP blast: uvloop ``sendto`` of
1400-byte datagrams, 64 per loop iteration and at most 2048 in flight, into a
``DatagramProtocol`` that counts them (the packet rate Python can move through the loop).

``ptcp-rtt``: 64-byte request/response round trips, one outstanding, PTCP vs a plain UDP echo.

In ``ptcp-bulk``, ``ptcpdgram`` is PTCP with ``batch_io=False`` (asyncio's
``DatagramProtocol`` path, one Python call per datagram), to show what batching is worth.
"""
from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _harness import HOST, pedantic, record, run_batch, size
from bench_echo import UvSinkServer as _Sink

from plait.core.transport import StreamProtocol
from plait.vertex import ptcp

BULK = size(100_000_000, 2_000_000)
BULK_ROUNDS = size(3, 1)
QUIC_BULK = size(20_000_000, 1_000_000)
QUIC_ROUNDS = size(2, 1)
CHUNK = 65536
MSS = 1400 - 40 - 4 * 8
BLAST = size(200_000, 2_000)
BLAST_SIZE = 1400
BLAST_BURST = 64
BLAST_WINDOW = 2048
RTT_BATCH = size(2000, 20)
RTT_ROUNDS = size(10, 2)
PAYLOAD = b"q" * 64


# ====================================================================== PTCP


class _Writer(asyncio.Protocol):
    """Writes with the transport's flow control."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.can_write = asyncio.Event()
        self.can_write.set()

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()


class _PtcpPair:
    def __init__(self, batch_io: bool) -> None:
        self.batch_io = batch_io
        self.sinks: list[_Sink] = []

    async def open(self) -> None:
        def factory() -> _Sink:
            sink = _Sink()
            self.sinks.append(sink)
            return sink

        self.server = await ptcp.listen(0, factory, batch_io=self.batch_io)
        self.transport, self.writer = await ptcp.connect(
            self.server.local_address, _Writer, batch_io=self.batch_io)
        while not self.sinks:
            await asyncio.sleep(0.001)

    async def send(self, nbytes: int) -> None:
        sink = self.sinks[0]
        sink.count = 0
        sink.expect = nbytes
        sink.done = done = asyncio.get_running_loop().create_future()
        chunk = b"b" * CHUNK
        sent = 0
        while sent < nbytes:
            await self.writer.can_write.wait()
            n = min(CHUNK, nbytes - sent)
            self.transport.write(chunk if n == CHUNK else chunk[:n])
            sent += n
        await done

    def close(self) -> None:
        self.transport.abort()
        self.server.close()


@pytest.fixture(scope="module")
def ptcp_pair(uv_loop: asyncio.AbstractEventLoop) -> Iterator[_PtcpPair]:
    pair = _PtcpPair(batch_io=True)
    run_batch(uv_loop, pair.open)
    yield pair
    pair.close()


@pytest.mark.benchmark(group="ptcp-bulk")
def test_ptcp_bulk_plait(benchmark: Any, uv_loop: asyncio.AbstractEventLoop,
                         ptcp_pair: _PtcpPair) -> None:
    record(benchmark, "plait", per_round=BULK, unit="bytes", nbytes_per_round=BULK)
    pedantic(benchmark, lambda: run_batch(uv_loop, lambda: ptcp_pair.send(BULK)), BULK_ROUNDS)


@pytest.mark.benchmark(group="ptcp-packets")
def test_ptcp_packets_plait(benchmark: Any, uv_loop: asyncio.AbstractEventLoop,
                            ptcp_pair: _PtcpPair) -> None:
    record(benchmark, "plait", per_round=-(-BULK // MSS), unit="packets")
    pedantic(benchmark, lambda: run_batch(uv_loop, lambda: ptcp_pair.send(BULK)), BULK_ROUNDS)


@pytest.mark.benchmark(group="ptcp-bulk")
def test_ptcp_bulk_ptcpdgram(benchmark: Any, uv_loop: asyncio.AbstractEventLoop) -> None:
    pair = _PtcpPair(batch_io=False)
    run_batch(uv_loop, pair.open)
    n = BULK
    record(benchmark, "ptcpdgram", per_round=n, unit="bytes", nbytes_per_round=n)
    try:
        pedantic(benchmark, lambda: run_batch(uv_loop, lambda: pair.send(n)), BULK_ROUNDS)
    finally:
        pair.close()


# ====================================================================== raw UDP blast


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.count = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.count += 1


async def _blast(sender: Any, counter: _Counter, target: Any) -> None:
    counter.count = 0
    datagram = b"u" * BLAST_SIZE
    sendto = sender.sendto
    sent = 0
    for _ in range(BLAST // BLAST_BURST):
        while sent - counter.count > BLAST_WINDOW:
            await asyncio.sleep(0)  # closed loop: never more in flight than buffers hold
        for _ in range(BLAST_BURST):
            sendto(datagram, target)
        sent += BLAST_BURST
        await asyncio.sleep(0)
    idle = 0
    last = -1
    while counter.count < BLAST and idle < 20:
        await asyncio.sleep(0.001)
        idle = idle + 1 if counter.count == last else 0
        last = counter.count
    assert counter.count >= BLAST * 0.99, f"{BLAST - counter.count} of {BLAST} datagrams lost"


@pytest.mark.benchmark(group="ptcp-packets")
def test_ptcp_packets_udpblast(benchmark: Any, uv_loop: asyncio.AbstractEventLoop) -> None:
    async def open_pair() -> tuple[Any, _Counter, Any, Any]:
        loop = asyncio.get_running_loop()
        receiver, counter = await loop.create_datagram_endpoint(_Counter, local_addr=(HOST, 0))
        sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                        local_addr=(HOST, 0))
        for transport in (receiver, sender):
            sock = transport.get_extra_info("socket")
            ptcp._grow_buffers(sock)
        return receiver, counter, sender, receiver.get_extra_info("sockname")

    receiver, counter, sender, target = run_batch(uv_loop, open_pair)
    record(benchmark, "udpblast", per_round=BLAST, unit="packets")
    try:
        pedantic(benchmark, lambda: run_batch(uv_loop, lambda: _blast(sender, counter, target)),
                 size(10, 2))
    finally:
        receiver.close()
        sender.close()


# ====================================================================== kernel TCP


class _StreamSink(StreamProtocol):
    def stream_started(self) -> None:
        self.count = 0
        self.expect = 0
        self.done: asyncio.Future[None] | None = None

    def stream_received(self, data: memoryview) -> None:
        self.count += len(data)
        if self.count >= self.expect and self.done is not None and not self.done.done():
            self.done.set_result(None)


class _StreamWriter(StreamProtocol):
    pass


@pytest.mark.benchmark(group="ptcp-bulk")
def test_ptcp_bulk_tcp(benchmark: Any, uv_loop: asyncio.AbstractEventLoop) -> None:
    sinks: list[_StreamSink] = []

    def factory() -> _StreamSink:
        sink = _StreamSink()
        sinks.append(sink)
        return sink

    async def open_pair() -> tuple[asyncio.Server, _StreamWriter]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await loop.create_connection(_StreamWriter, HOST, port)
        while not sinks:
            await asyncio.sleep(0.001)
        return server, writer

    async def send() -> None:
        sink = sinks[0]
        sink.count = 0
        sink.expect = BULK
        sink.done = done = asyncio.get_running_loop().create_future()
        chunk = b"t" * CHUNK
        sent = 0
        while sent < BULK:
            n = min(CHUNK, BULK - sent)
            writer.write(chunk if n == CHUNK else chunk[:n])
            sent += n
            await writer.drain()
        await done

    server, writer = run_batch(uv_loop, open_pair)
    record(benchmark, "kerneltcp", per_round=BULK, unit="bytes", nbytes_per_round=BULK)
    try:
        pedantic(benchmark, lambda: run_batch(uv_loop, send), BULK_ROUNDS)
    finally:
        writer.transport.close()
        server.close()


# ====================================================================== aioquic


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.benchmark(group="ptcp-bulk")
def test_ptcp_bulk_aioquic(benchmark: Any, uv_loop: asyncio.AbstractEventLoop,
                           tmp_path: Path) -> None:
    aioquic_asyncio = pytest.importorskip("aioquic.asyncio")
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.events import StreamDataReceived

    state: dict[str, Any] = {"count": 0, "expect": 0, "done": None}

    class Server(aioquic_asyncio.QuicConnectionProtocol):  # type: ignore[misc]
        def quic_event_received(self, event: Any) -> None:
            if isinstance(event, StreamDataReceived):
                state["count"] += len(event.data)
                done = state["done"]
                if state["count"] >= state["expect"] and done is not None and not done.done():
                    done.set_result(None)

    cert, key = _self_signed(tmp_path)
    window = 64 << 20
    server_cfg = QuicConfiguration(is_client=False, alpn_protocols=["bench"],
                                   max_data=window, max_stream_data=window)
    server_cfg.load_cert_chain(cert, key)
    client_cfg = QuicConfiguration(is_client=True, alpn_protocols=["bench"],
                                   max_data=window, max_stream_data=window,
                                   verify_mode=ssl.CERT_NONE, server_name="localhost")

    async def open_pair() -> tuple[Any, Any, Any]:
        server = await aioquic_asyncio.serve(HOST, 0, configuration=server_cfg,
                                             create_protocol=Server)
        port = server._transport.get_extra_info("sockname")[1]
        ctx = aioquic_asyncio.connect(HOST, port, configuration=client_cfg)
        client = await ctx.__aenter__()
        return server, ctx, client

    async def send() -> None:
        state["count"] = 0
        state["expect"] = QUIC_BULK
        state["done"] = done = asyncio.get_running_loop().create_future()
        stream_id = client._quic.get_next_available_stream_id()
        chunk = b"a" * CHUNK
        sent = 0
        while sent < QUIC_BULK:
            n = min(CHUNK, QUIC_BULK - sent)
            client._quic.send_stream_data(stream_id, chunk if n == CHUNK else chunk[:n])
            sent += n
            if sent % (1 << 20) < CHUNK:
                client.transmit()
                await asyncio.sleep(0)
        client.transmit()
        await done

    server, ctx, client = run_batch(uv_loop, open_pair)
    record(benchmark, "aioquic", per_round=QUIC_BULK, unit="bytes", nbytes_per_round=QUIC_BULK)
    try:
        pedantic(benchmark, lambda: run_batch(uv_loop, send), QUIC_ROUNDS)
    finally:
        run_batch(uv_loop, lambda: ctx.__aexit__(None, None, None))
        server.close()


# ====================================================================== round trips


class _PtcpEcho(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _RttClient(asyncio.Protocol):
    """Sends PAYLOAD and waits for it to come back, ``remaining`` times."""

    def __init__(self) -> None:
        self.done: asyncio.Future[None] | None = None
        self.remaining = 0
        self.pending = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self) -> None:
        self.transport.write(PAYLOAD)

    def start(self, n: int) -> asyncio.Future[None]:
        self.remaining = n
        self.pending = len(PAYLOAD)
        self.done = asyncio.get_running_loop().create_future()
        self.send()
        return self.done

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending > 0:
            return
        self.remaining -= 1
        if self.remaining == 0:
            assert self.done is not None
            self.done.set_result(None)
        else:
            self.pending = len(PAYLOAD)
            self.send()


def _rtt_bench(benchmark: Any, loop: asyncio.AbstractEventLoop,
               open_pair: Callable[[], Awaitable[tuple[Any, Any, _RttClient]]], impl: str) -> None:
    """Times RTT_BATCH sequential round trips per round over the pair ``open_pair`` makes."""
    server, transport, client = run_batch(loop, open_pair)
    record(benchmark, impl, per_round=RTT_BATCH, unit="round trips")

    async def batch() -> None:
        await client.start(RTT_BATCH)

    try:
        pedantic(benchmark, lambda: run_batch(loop, batch), RTT_ROUNDS)
    finally:
        transport.abort()
        server.close()


@pytest.mark.benchmark(group="ptcp-rtt")
def test_ptcp_rtt_plait(benchmark: Any, uv_loop: asyncio.AbstractEventLoop) -> None:
    async def open_pair() -> tuple[ptcp.PtcpSocket, Any, _RttClient]:
        server = await ptcp.listen(0, _PtcpEcho)
        transport, client = await ptcp.connect(server.local_address, _RttClient)
        return server, transport, client

    _rtt_bench(benchmark, uv_loop, open_pair, "plait")


class _UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class _UdpRtt(_RttClient, asyncio.DatagramProtocol):
    """The same client over a connected UDP socket: one datagram each way per trip."""

    def send(self) -> None:
        self.transport.sendto(PAYLOAD)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.data_received(data)


@pytest.mark.benchmark(group="ptcp-rtt")
def test_ptcp_rtt_udpecho(benchmark: Any, uv_loop: asyncio.AbstractEventLoop) -> None:
    async def open_pair() -> tuple[Any, Any, _UdpRtt]:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(_UdpEcho, local_addr=(HOST, 0))
        target = server.get_extra_info("sockname")
        transport, client = await loop.create_datagram_endpoint(_UdpRtt, remote_addr=target)
        return server, transport, client

    _rtt_bench(benchmark, uv_loop, open_pair, "udpecho")
