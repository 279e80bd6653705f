"""AMP command round trips over loopback TCP: plait.vertex.juice beside Twisted AMP.

The command is ``Sum(a: Integer, b: Integer) -> total: Integer`` on both sides, with a
synchronous responder. Client and server of a pair are the same implementation, in this
process: plait on the persistent uvloop loop, Twisted on its default (epoll) reactor driven
by hand. TCP_NODELAY is on for both (uvloop sets it; the Twisted side sets it explicitly,
so Nagle does not penalise Twisted's pipelined asks).

``amp-rtt-1``: a round is ``RTT1_BATCH`` calls, one at a time.
``amp-rtt-100``: a round is ``RTT100_BATCH`` calls with 100 outstanding at all times
(100 workers each make their share of calls back to back; in Twisted, 100 callback chains).
In both, the implementations take turns round by round (``interleaved``), so a machine whose
speed drifts slows them alike.

``amp-rtt-1`` also runs the floor under any asyncio AMP (impl ``uvloop``): a bare uvloop
protocol pair passing the same ask and answer bytes, canned (no encoding, decoding or
dispatch), the caller awaiting one future per call.  What is left between it and plait is
plait's whole AMP layer; the floor over Twisted is the most an asyncio AMP could reach here.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from _harness import HOST, interleaved, run_batch, size

WINDOW = 100
RTT1_BATCH = size(300, 10)
RTT1_ROUNDS = size(30, 2)
RTT100_BATCH = size(WINDOW * 30, WINDOW * 2)
RTT100_ROUNDS = size(15, 2)


# ====================================================================== Twisted


def _twisted_amp_classes() -> tuple[Any, Any, Any]:
    from twisted.protocols import amp

    class Sum(amp.Command):
        commandName = b"Sum"
        arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
        response = [(b"total", amp.Integer())]

    class SumServer(amp.AMP):
        def connectionMade(self) -> None:
            super().connectionMade()
            self.transport.setTcpNoDelay(True)
            self.factory.instances.append(self)

        @Sum.responder
        def sum(self, a: int, b: int) -> dict[str, int]:
            return {"total": a + b}

    class SumClient(amp.AMP):
        def connectionMade(self) -> None:
            super().connectionMade()
            self.transport.setTcpNoDelay(True)

    return Sum, SumServer, SumClient


def _twisted_batch(proto: Any, command: Any, total: int, window: int) -> Any:
    """Fire ``total`` calls keeping ``window`` outstanding; a Deferred firing when all answer."""
    from twisted.internet import defer

    done = defer.Deferred()
    state = {"issued": 0, "answered": 0}

    def answered(result: dict[str, int], a: int) -> None:
        if result["total"] != a + 1:
            raise AssertionError(f"Sum({a}, 1) -> {result!r}")
        state["answered"] += 1
        if state["issued"] < total:
            issue()
        elif state["answered"] == total and not done.called:
            done.callback(None)

    def failed(failure: Any) -> None:
        if not done.called:
            done.errback(failure)

    def issue() -> None:
        a = state["issued"]
        state["issued"] = a + 1
        proto.callRemote(command, a=a, b=1).addCallback(answered, a).addErrback(failed)

    for _ in range(min(window, total)):
        issue()
    return done


@pytest.fixture(scope="module")
def twisted_amp(twisted: Any) -> Iterator[tuple[Any, Any]]:
    from twisted.internet import endpoints, protocol

    sum_cmd, server_cls, client_cls = _twisted_amp_classes()
    reactor = twisted.reactor
    factory = protocol.Factory.forProtocol(server_cls)
    factory.instances = []
    port = reactor.listenTCP(0, factory, interface=HOST)
    endpoint = endpoints.TCP4ClientEndpoint(reactor, HOST, port.getHost().port)
    client = twisted.run(endpoints.connectProtocol(endpoint, client_cls()), timeout=10)
    assert twisted.run(client.callRemote(sum_cmd, a=2, b=3), timeout=10) == {"total": 5}
    yield client, sum_cmd
    client.transport.loseConnection()
    twisted.run(port.stopListening(), timeout=10)
    twisted.spin(0.01)


# ====================================================================== the asyncio floor


class _FloorServer(asyncio.Protocol):
    """Answers every read with the canned answer box: no decoding, no dispatch."""

    answer = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(self.answer)


class _FloorClient(asyncio.Protocol):
    """Writes the canned ask box and resolves one future per answer."""

    ask = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.waiter: asyncio.Future[bytes] | None = None

    def call(self) -> asyncio.Future[bytes]:
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.transport.write(self.ask)
        return waiter

    def data_received(self, data: bytes) -> None:
        if self.waiter is not None:
            self.waiter.set_result(data)
            self.waiter = None


async def _floor_batch(client: _FloorClient, total: int) -> None:
    call = client.call
    for _ in range(total):
        await call()


@pytest.fixture(scope="module")
def floor_pair(uv_loop: asyncio.AbstractEventLoop) -> Iterator[_FloorClient]:
    from plait._native import encode_box

    sum_cmd, _, _ = _plait_amp_classes()
    # The bytes plait's own pair exchanges for a call, so the kernel's share is the same.
    _FloorClient.ask = encode_box(sum_cmd.make_ask({"a": 150, "b": 1}, b"96"))
    _FloorServer.answer = encode_box(sum_cmd.make_answer({"total": 151}, b"96"))
    server, client = uv_loop.run_until_complete(_plait_connect(_FloorServer, _FloorClient))

    async def check() -> bytes:
        return await client.call()

    assert run_batch(uv_loop, check) == _FloorServer.answer
    yield client
    client.transport.close()
    server.close()
    run_batch(uv_loop, server.wait_closed)


# ====================================================================== plait


def _plait_amp_classes() -> tuple[Any, Any, Any]:
    juice = pytest.importorskip("plait.vertex.juice",
                                reason="plait.vertex.juice is not written yet")
    missing = [n for n in ("AMP", "Command", "Integer") if not hasattr(juice, n)]
    if missing:
        pytest.skip(f"plait.vertex.juice lacks {', '.join(missing)} yet")

    class Sum(juice.Command):  # type: ignore[misc, name-defined]
        command_name = "Sum"
        arguments = [("a", juice.Integer()), ("b", juice.Integer())]
        response = [("total", juice.Integer())]

    class SumServer(juice.AMP):  # type: ignore[misc, name-defined]
        @Sum.responder
        def sum(self, a: int, b: int) -> dict[str, int]:
            return {"total": a + b}

    return Sum, SumServer, juice.AMP


async def _plait_connect(server_cls: Any, client_cls: Any) -> tuple[Any, Any]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(server_cls, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await loop.create_connection(client_cls, HOST, port)
    return server, client


async def _plait_batch(client: Any, command: Any, total: int, window: int) -> None:
    call = client.call_remote

    async def worker(first: int, n: int) -> None:
        for a in range(first, first + n):
            result = await call(command, a=a, b=1)
            if result["total"] != a + 1:
                raise AssertionError(f"Sum({a}, 1) -> {result!r}")

    if window == 1:
        await worker(0, total)
        return
    share = total // window
    await asyncio.gather(*(worker(i * share, share) for i in range(window)))


@pytest.fixture(scope="module")
def plait_amp(uv_loop: asyncio.AbstractEventLoop) -> Iterator[tuple[Any, Any]]:
    sum_cmd, server_cls, client_cls = _plait_amp_classes()
    server, client = uv_loop.run_until_complete(_plait_connect(server_cls, client_cls))

    async def check() -> Any:
        return await client.call_remote(sum_cmd, a=2, b=3)

    assert run_batch(uv_loop, check) == {"total": 5}
    yield client, sum_cmd
    client.close()
    server.close()
    run_batch(uv_loop, server.wait_closed)


# ====================================================================== side by side


@pytest.mark.benchmark(group="amp-rtt-1")
def test_amp_rtt_1_interleaved(benchmark: Any, twisted: Any, twisted_amp: tuple[Any, Any],
                               uv_loop: asyncio.AbstractEventLoop, floor_pair: _FloorClient,
                               plait_amp: tuple[Any, Any]) -> None:
    twisted_client, twisted_sum = twisted_amp
    plait_client, plait_sum = plait_amp
    interleaved(benchmark, {
        "twisted": lambda: twisted.run(
            _twisted_batch(twisted_client, twisted_sum, RTT1_BATCH, 1)),
        "uvloop": lambda: run_batch(uv_loop, lambda: _floor_batch(floor_pair, RTT1_BATCH)),
        "plait": lambda: run_batch(
            uv_loop, lambda: _plait_batch(plait_client, plait_sum, RTT1_BATCH, 1)),
    }, rounds=RTT1_ROUNDS, per_round=RTT1_BATCH, unit="calls")


@pytest.mark.benchmark(group="amp-rtt-100")
def test_amp_rtt_100_interleaved(benchmark: Any, twisted: Any, twisted_amp: tuple[Any, Any],
                                 uv_loop: asyncio.AbstractEventLoop,
                                 plait_amp: tuple[Any, Any]) -> None:
    twisted_client, twisted_sum = twisted_amp
    plait_client, plait_sum = plait_amp
    interleaved(benchmark, {
        "twisted": lambda: twisted.run(
            _twisted_batch(twisted_client, twisted_sum, RTT100_BATCH, WINDOW)),
        "plait": lambda: run_batch(
            uv_loop, lambda: _plait_batch(plait_client, plait_sum, RTT100_BATCH, WINDOW)),
    }, rounds=RTT100_ROUNDS, per_round=RTT100_BATCH, unit="calls")
