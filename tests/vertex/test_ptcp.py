"""plait.vertex.ptcp: PTCP streams over one UDP socket, on both loops and both I/O paths."""
from __future__ import annotations

import asyncio
import hashlib
import os
import random
import socket
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from plait.vertex import ptcp
from plait.vertex.ptcp import PtcpConfig, PtcpResetError, PtcpSocket, PtcpTimeoutError

MAGIC = b"\xd7PT\x01"
SYN, ACK, FIN, RST = 1, 2, 4, 8


def packet(flags: int, src: int, dst: int, seq: int, ack: int = 0, window: int = 65536,
           payload: bytes = b"") -> bytes:
    """A well-formed PTCP datagram (the layout ``native/ptcp/src/packet.rs`` documents)."""
    head = MAGIC + bytes([flags, 0, 0, 0])
    rest = struct.pack(">7I", src, dst, seq, ack, window, 1, 0) + payload
    crc = zlib.crc32(head + rest)
    return head + struct.pack(">I", crc) + rest


class Echo(asyncio.Protocol):
    """Echoes everything and half-closes when the peer does."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool:
        self.transport.write_eof()
        return True


class Collector(asyncio.Protocol):
    """Collects what arrives; ``done`` resolves with connection_lost's argument."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.done: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.paused = 0
        self.resumed = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.eof = True
        return True

    def pause_writing(self) -> None:
        self.paused += 1

    def resume_writing(self) -> None:
        self.resumed += 1

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_result(exc)


def accepting() -> tuple[asyncio.Future[Collector], Callable[[], Collector]]:
    """A factory of one Collector, and a future that resolves to it once it is made."""
    accepted: asyncio.Future[Collector] = asyncio.get_running_loop().create_future()

    def factory() -> Collector:
        proto = Collector()
        accepted.set_result(proto)
        return proto

    return accepted, factory


async def served_pair(config: PtcpConfig | None = None) -> tuple[PtcpSocket, Any, Collector, Collector]:
    """A listening socket, and a client connection to it: (server, client transport,
    client protocol, the server's protocol for that connection)."""
    accepted, factory = accepting()
    server = await ptcp.listen(0, factory, config=config)
    transport, client = await ptcp.connect(server.local_address, Collector, config=config)
    return server, transport, client, await asyncio.wait_for(accepted, 5)


def vanish(sock: PtcpSocket) -> None:
    """The peer disappears without a word (no resets): its socket just stops."""
    sock._closed = True
    if sock._batch:
        sock._loop.remove_reader(sock._sock.fileno())
        sock._sock.close()
    elif sock._dgram is not None:
        sock._dgram.abort()


@pytest.mark.parametrize("batch_io", [True, False])
async def test_echo_and_clean_close(batch_io: bool) -> None:
    server = await ptcp.listen(0, Echo, batch_io=batch_io)
    transport, client = await ptcp.connect(server.local_address, Collector, batch_io=batch_io)
    assert transport.get_extra_info("peername") == server.local_address
    assert transport.get_extra_info("ptcp_state") == "ESTABLISHED"
    transport.write(b"hello, ")
    transport.writelines([b"PTCP", b"!"])
    transport.write_eof()
    assert await asyncio.wait_for(client.done, 10) is None
    assert bytes(client.data) == b"hello, PTCP!"
    assert client.eof
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("batch_io", [True, False])
async def test_large_transfer_both_ways_with_checksums(batch_io: bool) -> None:
    server = await ptcp.listen(0, Echo, batch_io=batch_io)
    transport, client = await ptcp.connect(server.local_address, Collector, batch_io=batch_io)
    data = os.urandom(6 << 20)
    for i in range(0, len(data), 100_000):
        transport.write(data[i:i + 100_000])
    transport.write_eof()
    assert await asyncio.wait_for(client.done, 40) is None
    assert hashlib.sha256(client.data).hexdigest() == hashlib.sha256(data).hexdigest()
    server.close()


async def test_many_connections_share_one_socket() -> None:
    server = await ptcp.listen(0, Echo)
    client_sock = await PtcpSocket.bind()
    pairs = [await client_sock.connect(server.local_address, Collector) for _ in range(40)]
    payloads = [os.urandom(1000 + 997 * i) for i in range(len(pairs))]
    for (transport, _), payload in zip(pairs, payloads):
        transport.write(payload)
        transport.write_eof()
    results = await asyncio.wait_for(asyncio.gather(*(p.done for _, p in pairs)), 20)
    assert results == [None] * len(pairs)
    for (_, proto), payload in zip(pairs, payloads):
        assert bytes(proto.data) == payload
    assert server.stats()["packets_in"] > 0
    client_sock.close()
    server.close()


async def test_half_close_keeps_the_other_direction_open() -> None:
    server, transport, client, srv = await served_pair()
    transport.write(b"request")
    transport.write_eof()
    assert transport.can_write_eof()
    with pytest.raises(RuntimeError):
        transport.write(b"after eof")
    while not srv.eof:
        await asyncio.sleep(0.01)
    assert bytes(srv.data) == b"request"
    srv.transport.write(b"response after the client's FIN")
    srv.transport.close()
    assert await asyncio.wait_for(client.done, 10) is None
    assert bytes(client.data) == b"response after the client's FIN"
    assert await asyncio.wait_for(srv.done, 10) is None
    server.close()


async def test_abort_resets_the_peer() -> None:
    server, transport, client, srv = await served_pair()
    transport.write(b"x")
    transport.abort()
    assert await asyncio.wait_for(client.done, 5) is None
    assert isinstance(await asyncio.wait_for(srv.done, 5), PtcpResetError)
    server.close()


async def test_vanished_peer_gives_a_timeout_error() -> None:
    cfg = PtcpConfig(initial_rto=0.1, min_rto=0.05, max_rto=0.2, user_timeout=0.6,
                     keepalive_interval=0.2, keepalive_probes=2)
    for with_data in (True, False):
        server = await ptcp.listen(0, Collector, config=cfg)
        transport, client = await ptcp.connect(server.local_address, Collector, config=cfg)
        vanish(server)
        if with_data:
            transport.write(b"into the void" * 1000)
        exc = await asyncio.wait_for(client.done, 10)
        assert isinstance(exc, PtcpTimeoutError), exc
        assert isinstance(exc, TimeoutError)


async def test_connect_to_silence_times_out_and_to_a_closed_door_is_refused() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(PtcpTimeoutError):
            await ptcp.connect(silent.getsockname(), Collector, timeout=0.3)
    finally:
        silent.close()
    not_listening = await PtcpSocket.bind()
    with pytest.raises(PtcpResetError):
        await ptcp.connect(not_listening.local_address, Collector, timeout=5)
    assert not_listening.stats()["refused"] == 1
    not_listening.close()


async def test_bad_input_leaves_established_connections_intact() -> None:
    cfg = PtcpConfig(max_half_open=32, max_connections=100)
    server = await ptcp.listen(0, Echo, config=cfg)
    transport, client = await ptcp.connect(server.local_address, Collector)
    transport.write(b"before ")
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind(("127.0.0.1", 0))
    rng = random.Random(7)
    target = server.local_address
    try:
        for i in range(3000):
            kind = i % 4
            if kind == 0:  # garbage without the magic
                datagram = rng.randbytes(rng.randrange(1, 1500))
            elif kind == 1:  # the magic, then garbage (bad checksum)
                datagram = MAGIC + rng.randbytes(rng.randrange(0, 1400))
            elif kind == 2:  # well-formed resets with guessed ids and sequence numbers
                datagram = packet(RST | ACK, rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32))
            else:  # a SYN flood
                datagram = packet(SYN, rng.getrandbits(32) | 1, 0, rng.getrandbits(32))
            try:
                attacker.sendto(datagram, target)
            except BlockingIOError:
                pass
            if i % 200 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(0.1)
        stats = server.stats()
        assert stats["invalid"] > 0 and stats["foreign"] > 0
        assert stats["half_open"] <= 32
        assert server.connection_count <= 33
        transport.write(b"after")
        transport.write_eof()
        assert await asyncio.wait_for(client.done, 10) is None
        assert bytes(client.data) == b"before after"
    finally:
        attacker.close()
        server.close()


async def test_foreign_datagrams_share_the_socket() -> None:
    a = await PtcpSocket.bind()
    b = await PtcpSocket.bind()
    got: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
    b.on_foreign_datagram = lambda data, addr: got.put_nowait((data, addr))
    a.send_datagram(b.local_address, b"punch!")
    data, addr = await asyncio.wait_for(got.get(), 5)
    assert (data, addr) == (b"punch!", a.local_address)
    # PTCP still works on the same sockets.
    b.listen(Echo)
    transport, client = await a.connect(b.local_address, Collector)
    transport.write(b"ping")
    transport.write_eof()
    assert await asyncio.wait_for(client.done, 5) is None
    assert bytes(client.data) == b"ping"
    a.close()
    b.close()


async def test_flow_control_pause_and_resume() -> None:
    cfg = PtcpConfig(send_buffer=64 * 1024, recv_buffer=64 * 1024)
    server, transport, client, srv = await served_pair(cfg)
    srv.transport.pause_reading()
    assert not srv.transport.is_reading()
    data = os.urandom(1 << 20)
    transport.write(data)
    await asyncio.sleep(0.3)
    assert len(srv.data) == 0
    assert client.paused == 1
    assert transport.get_write_buffer_size() > 0
    srv.transport.resume_reading()
    transport.write_eof()
    while not srv.eof:
        await asyncio.sleep(0.01)
    assert bytes(srv.data) == data
    assert client.resumed == 1
    server.close()


class Buffered(asyncio.BufferedProtocol):
    def __init__(self) -> None:
        self.buf = bytearray(100)
        self.data = bytearray()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self.buf)

    def buffer_updated(self, nbytes: int) -> None:
        self.data += self.buf[:nbytes]

    def eof_received(self) -> bool:
        self.done.set_result(None)
        return False


async def test_buffered_protocols_are_fed_through_get_buffer() -> None:
    server = await ptcp.listen(0, Echo)
    transport, proto = await ptcp.connect(server.local_address, Buffered)
    payload = os.urandom(50_000)
    transport.write(payload)
    transport.write_eof()
    await asyncio.wait_for(proto.done, 10)
    assert bytes(proto.data) == payload
    server.close()


async def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        await PtcpSocket.bind(config=PtcpConfig(mtu=1500))
    with pytest.raises(ValueError):
        await PtcpSocket.bind(config=PtcpConfig(max_connections=0))
    sock = await PtcpSocket.bind()
    with pytest.raises(ValueError):
        sock._endpoint.connect("not-an-ip", 1)
    sock.close()
    with pytest.raises(ptcp.PtcpError):
        sock.send_datagram(("127.0.0.1", 9), b"x")


class LossyRelay(asyncio.DatagramProtocol):
    """Forwards datagrams between one client and a server, dropping, duplicating and
    delaying (so reordering) some of them, from a seeded RNG."""

    def __init__(self, server: tuple[str, int], loss: float, seed: int) -> None:
        self.server = server
        self.loss = loss
        self.rng = random.Random(seed)
        self.client: tuple[str, int] | None = None
        self.dropped = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if addr[:2] != self.server:
            self.client = addr[:2]
            to = self.server
        elif self.client is not None:
            to = self.client
        else:
            return
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        copies = 2 if self.rng.random() < 0.02 else 1
        for _ in range(copies):
            delay = self.rng.random() * 0.004 if self.rng.random() < 0.1 else 0.0
            if delay:
                asyncio.get_running_loop().call_later(delay, self.transport.sendto, data, to)
            else:
                self.transport.sendto(data, to)


@pytest.mark.parametrize("loss", [0.01, 0.05, 0.20])
async def test_transfers_survive_a_lossy_reordering_path(loss: float) -> None:
    cfg = PtcpConfig(min_rto=0.02, initial_rto=0.2)
    server = await ptcp.listen(0, Echo, config=cfg)
    loop = asyncio.get_running_loop()
    relay_transport, relay = await loop.create_datagram_endpoint(
        lambda: LossyRelay(server.local_address, loss, seed=int(loss * 1000)),
        local_addr=("127.0.0.1", 0))
    try:
        transport, client = await ptcp.connect(relay_transport.get_extra_info("sockname")[:2],
                                               Collector, config=cfg)
        data = os.urandom(300_000 if loss < 0.2 else 100_000)
        transport.write(data)
        transport.write_eof()
        assert await asyncio.wait_for(client.done, 40) is None
        assert hashlib.sha256(client.data).digest() == hashlib.sha256(data).digest()
        assert relay.dropped > 0
    finally:
        relay_transport.close()
        server.close()


class Faulty(Collector):
    def data_received(self, data: bytes) -> None:
        raise ValueError("application bug")


async def test_a_failing_protocol_aborts_only_its_connection() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    server = await ptcp.listen(0, Echo)
    client_sock = await PtcpSocket.bind()
    bad_transport, bad = await client_sock.connect(server.local_address, Faulty)
    good_transport, good = await client_sock.connect(server.local_address, Collector)
    bad_transport.write(b"boom")
    assert await asyncio.wait_for(bad.done, 5) is None
    assert isinstance(reported[0]["exception"], ValueError)
    good_transport.write(b"fine")
    good_transport.write_eof()
    assert await asyncio.wait_for(good.done, 5) is None
    assert bytes(good.data) == b"fine"
    client_sock.close()
    server.close()


async def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        server = await ptcp.listen(0, Echo, host="::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    transport, client = await ptcp.connect(server.local_address, Collector, host="::1")
    transport.write(b"over IPv6")
    transport.write_eof()
    assert await asyncio.wait_for(client.done, 5) is None
    assert bytes(client.data) == b"over IPv6"
    server.close()
