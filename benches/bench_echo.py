"""A plain loopback echo pair over plait's StreamProtocol, bare uvloop, and Twisted.

``echo-rtt-64B``: a round is ``RTT_BATCH`` strictly sequential 64-byte request/response round
trips (the client sends 64 bytes, the server echoes them, the client waits for all 64 back).

``echo-stream-64B``: a round is ``STREAM_ITERS`` loop iterations in each of which the client
writes ``STREAM_BURST`` 64-byte chunks back to back; the server counts bytes and the round ends
when it has them all. One burst per loop iteration: asyncio yields with ``sleep(0)``, Twisted
reschedules with ``callLater(0)``.

Each group runs the three implementations in turns (``_harness.interleaved``), so their
ratios compare rounds taken under the same machine load. Both ends of a pair are the same
implementation and live in this process on one loop (the persistent uvloop loop, or Twisted's
epoll reactor). TCP_NODELAY is on everywhere (asyncio and uvloop set it by default; the
Twisted side sets it explicitly).
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from _harness import HOST, interleaved, run_batch, size

PAYLOAD = b"x" * 64
RTT_BATCH = size(500, 20)
RTT_ROUNDS = size(40, 2)
STREAM_BURST = 64
STREAM_ITERS = size(256, 8)
STREAM_TOTAL = len(PAYLOAD) * STREAM_BURST * STREAM_ITERS
STREAM_ROUNDS = size(40, 2)


async def _rtt_batch(client: Any) -> None:
    await client.start(RTT_BATCH)


# ====================================================================== bare uvloop


class UvEchoServer(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.count = 0
        self.expect = 0
        self.done: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class UvSinkServer(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.count = 0
        self.expect = 0
        self.done: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.count += len(data)
        if self.count >= self.expect and self.done is not None and not self.done.done():
            self.done.set_result(None)


class UvRttClient(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.done: asyncio.Future[None] | None = None

    def start(self, n: int) -> asyncio.Future[None]:
        self.remaining = n
        self.pending = len(PAYLOAD)
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(PAYLOAD)
        return self.done

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending <= 0:
            self.remaining -= 1
            if self.remaining:
                self.pending = len(PAYLOAD)
                self.transport.write(PAYLOAD)
            else:
                assert self.done is not None
                self.done.set_result(None)


class UvStreamClient(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pass


async def _pair(loop: asyncio.AbstractEventLoop, server_factory: Any,
                client_factory: Any) -> tuple[Any, Any, Any]:
    servers: list[Any] = []

    def make_server() -> Any:
        proto = server_factory()
        servers.append(proto)
        return proto

    server = await loop.create_server(make_server, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await loop.create_connection(client_factory, HOST, port)
    for _ in range(1000):
        if servers and getattr(servers[0], "transport", None) is not None:
            break
        await asyncio.sleep(0.001)
    return server, servers[0], client


def _close_pair(loop: asyncio.AbstractEventLoop, server: Any, client_transport: Any) -> None:
    client_transport.close()
    server.close()
    run_batch(loop, server.wait_closed)


@pytest.fixture(scope="module")
def uv_rtt(uv_loop: asyncio.AbstractEventLoop) -> Iterator[UvRttClient]:
    server, _, client = uv_loop.run_until_complete(_pair(uv_loop, UvEchoServer, UvRttClient))
    yield client
    _close_pair(uv_loop, server, client.transport)


@pytest.fixture(scope="module")
def uv_stream(uv_loop: asyncio.AbstractEventLoop) -> Iterator[tuple[UvStreamClient, UvSinkServer]]:
    server, sink, client = uv_loop.run_until_complete(
        _pair(uv_loop, UvSinkServer, UvStreamClient))
    yield client, sink
    _close_pair(uv_loop, server, client.transport)


async def _uv_stream_batch(client: UvStreamClient, sink: UvSinkServer) -> None:
    loop = asyncio.get_running_loop()
    sink.count = 0
    sink.expect = STREAM_TOTAL
    sink.done = done = loop.create_future()
    write = client.transport.write
    for _ in range(STREAM_ITERS):
        for _ in range(STREAM_BURST):
            write(PAYLOAD)
        await asyncio.sleep(0)
    await done
    assert sink.count == STREAM_TOTAL


# ====================================================================== plait StreamProtocol


def _stream_protocol() -> Any:
    mod = pytest.importorskip("plait.core.transport",
                              reason="plait.core.transport is not written yet")
    base = getattr(mod, "StreamProtocol", None)
    if base is None:
        pytest.skip("plait.core.transport.StreamProtocol does not exist yet")
    return base


def _plait_classes() -> dict[str, Any]:
    base = _stream_protocol()

    class PlaitEchoServer(base):  # type: ignore[misc, valid-type]
        def stream_received(self, data: memoryview) -> None:
            self.write(bytes(data))

    class PlaitSinkServer(base):  # type: ignore[misc, valid-type]
        count = 0
        expect = 0
        done: asyncio.Future[None] | None = None

        def stream_received(self, data: memoryview) -> None:
            self.count += len(data)
            if self.count >= self.expect and self.done is not None and not self.done.done():
                self.done.set_result(None)

    class PlaitRttClient(base):  # type: ignore[misc, valid-type]
        done: asyncio.Future[None] | None = None

        def start(self, n: int) -> asyncio.Future[None]:
            self.remaining = n
            self.pending = len(PAYLOAD)
            self.done = asyncio.get_running_loop().create_future()
            self.write(PAYLOAD)
            return self.done

        def stream_received(self, data: memoryview) -> None:
            self.pending -= len(data)
            if self.pending <= 0:
                self.remaining -= 1
                if self.remaining:
                    self.pending = len(PAYLOAD)
                    self.write(PAYLOAD)
                else:
                    assert self.done is not None
                    self.done.set_result(None)

    class PlaitStreamClient(base):  # type: ignore[misc, valid-type]
        def stream_received(self, data: memoryview) -> None:
            pass

    return {"echo": PlaitEchoServer, "sink": PlaitSinkServer, "rtt": PlaitRttClient,
            "stream": PlaitStreamClient}


@pytest.fixture(scope="module")
def plait_rtt(uv_loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    c = _plait_classes()
    server, _, client = uv_loop.run_until_complete(_pair(uv_loop, c["echo"], c["rtt"]))
    yield client
    _close_pair(uv_loop, server, client.transport)


@pytest.fixture(scope="module")
def plait_stream(uv_loop: asyncio.AbstractEventLoop) -> Iterator[tuple[Any, Any]]:
    c = _plait_classes()
    server, sink, client = uv_loop.run_until_complete(_pair(uv_loop, c["sink"], c["stream"]))
    yield client, sink
    _close_pair(uv_loop, server, client.transport)


async def _plait_stream_batch(client: Any, sink: Any) -> None:
    loop = asyncio.get_running_loop()
    sink.count = 0
    sink.expect = STREAM_TOTAL
    sink.done = done = loop.create_future()
    write = client.write
    for _ in range(STREAM_ITERS):
        for _ in range(STREAM_BURST):
            write(PAYLOAD)
        await asyncio.sleep(0)
    await done
    assert sink.count == STREAM_TOTAL


# ====================================================================== Twisted


def _twisted_classes() -> dict[str, Any]:
    from twisted.internet import defer, protocol, reactor

    class TwEchoServer(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)
            self.factory.instances.append(self)

        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    class TwSinkServer(protocol.Protocol):
        count = 0
        expect = 0
        done: Any = None

        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)
            self.factory.instances.append(self)

        def dataReceived(self, data: bytes) -> None:
            self.count += len(data)
            if self.count >= self.expect and self.done is not None and not self.done.called:
                self.done.callback(None)

    class TwRttClient(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)

        def start(self, n: int) -> Any:
            self.remaining = n
            self.pending = len(PAYLOAD)
            self.done = defer.Deferred()
            self.transport.write(PAYLOAD)
            return self.done

        def dataReceived(self, data: bytes) -> None:
            self.pending -= len(data)
            if self.pending <= 0:
                self.remaining -= 1
                if self.remaining:
                    self.pending = len(PAYLOAD)
                    self.transport.write(PAYLOAD)
                else:
                    self.done.callback(None)

    class TwStreamClient(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)

        def start(self, sink: Any) -> Any:
            sink.count = 0
            sink.expect = STREAM_TOTAL
            sink.done = defer.Deferred()
            self.left = STREAM_ITERS
            self.burst()
            return sink.done

        def burst(self) -> None:
            write = self.transport.write
            for _ in range(STREAM_BURST):
                write(PAYLOAD)
            self.left -= 1
            if self.left:
                reactor.callLater(0, self.burst)

    return {"echo": TwEchoServer, "sink": TwSinkServer, "rtt": TwRttClient,
            "stream": TwStreamClient}


def _twisted_pair(driver: Any, server_cls: Any, client_cls: Any) -> tuple[Any, Any, Any]:
    from twisted.internet import endpoints, protocol

    reactor = driver.reactor
    factory = protocol.Factory.forProtocol(server_cls)
    factory.instances = []
    port = reactor.listenTCP(0, factory, interface=HOST)
    endpoint = endpoints.TCP4ClientEndpoint(reactor, HOST, port.getHost().port)
    client = driver.run(endpoints.connectProtocol(endpoint, client_cls()), timeout=10)
    for _ in range(1000):
        if factory.instances:
            break
        driver.spin(0.001)
    return port, factory.instances[0], client


def _twisted_close(driver: Any, port: Any, client: Any) -> None:
    client.transport.loseConnection()
    driver.run(port.stopListening(), timeout=10)
    driver.spin(0.01)


@pytest.fixture(scope="module")
def twisted_rtt(twisted: Any) -> Iterator[Any]:
    c = _twisted_classes()
    port, _, client = _twisted_pair(twisted, c["echo"], c["rtt"])
    yield client
    _twisted_close(twisted, port, client)


@pytest.fixture(scope="module")
def twisted_stream(twisted: Any) -> Iterator[tuple[Any, Any]]:
    c = _twisted_classes()
    port, sink, client = _twisted_pair(twisted, c["sink"], c["stream"])
    yield client, sink
    _twisted_close(twisted, port, client)


# ====================================================================== side by side


@pytest.mark.benchmark(group="echo-rtt-64B")
def test_echo_rtt_interleaved(benchmark: Any, uv_loop: asyncio.AbstractEventLoop, twisted: Any,
                              uv_rtt: UvRttClient, plait_rtt: Any, twisted_rtt: Any) -> None:
    interleaved(benchmark, {
        "uvloop": lambda: run_batch(uv_loop, lambda: _rtt_batch(uv_rtt)),
        "plait": lambda: run_batch(uv_loop, lambda: _rtt_batch(plait_rtt)),
        "twisted": lambda: twisted.run(twisted_rtt.start(RTT_BATCH)),
    }, rounds=RTT_ROUNDS, per_round=RTT_BATCH, unit="round trips")


@pytest.mark.benchmark(group="echo-stream-64B")
def test_echo_stream_interleaved(benchmark: Any, uv_loop: asyncio.AbstractEventLoop,
                                 twisted: Any, uv_stream: tuple[UvStreamClient, UvSinkServer],
                                 plait_stream: tuple[Any, Any],
                                 twisted_stream: tuple[Any, Any]) -> None:
    tw_client, tw_sink = twisted_stream

    def twisted_batch() -> None:
        twisted.run(tw_client.start(tw_sink))
        assert tw_sink.count == STREAM_TOTAL

    interleaved(benchmark, {
        "uvloop": lambda: run_batch(uv_loop, lambda: _uv_stream_batch(*uv_stream)),
        "plait": lambda: run_batch(uv_loop, lambda: _plait_stream_batch(*plait_stream)),
        "twisted": twisted_batch,
    }, rounds=STREAM_ROUNDS, per_round=STREAM_TOTAL, unit="bytes",
        nbytes_per_round=STREAM_TOTAL)
