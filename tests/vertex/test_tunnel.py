"""Tests for plait.vertex.tunnel: TCP carried through a stream, both ways, with half-close.

The carrying stream here is plain TCP between the two halves (the CLI uses Q2Q); the
client and the target are ordinary sockets.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

import pytest

from plait.vertex.tunnel import Pipe, TunnelListener, expose_factory, protocol_for_port


async def start_target() -> tuple[asyncio.Server, list[bytes]]:
    """Reads until EOF, then answers with the reversed bytes and closes (needs half-close)."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()
        seen.append(data)
        writer.write(data[::-1])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


def port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def chain(target_port: int) -> tuple[TunnelListener, asyncio.Server, list[str]]:
    """client -> TunnelListener -> (TCP as the carrier) -> exposer -> target."""
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    exposer = await loop.create_server(
        expose_factory("127.0.0.1", target_port, on_error=errors.append), "127.0.0.1", 0
    )

    def opener(factory: Callable[[], asyncio.Protocol]) -> Awaitable[
            tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]:
        return loop.create_connection(factory, "127.0.0.1", port(exposer))

    listener = TunnelListener(opener, on_error=errors.append)
    await listener.start("127.0.0.1", 0)
    return listener, exposer, errors


async def test_both_directions_with_half_close() -> None:
    target, seen = await start_target()
    listener, exposer, errors = await chain(port(target))
    assert listener.server is not None
    local = int(listener.server.sockets[0].getsockname()[1])
    payload = os.urandom(2_000_000)  # more than every buffer: backpressure is exercised
    for _ in range(2):  # two connections one after the other
        reader, writer = await asyncio.open_connection("127.0.0.1", local)
        writer.write(payload)
        await writer.drain()
        writer.write_eof()  # half-close: the target answers only after our EOF
        answer = await reader.read()
        writer.close()
        assert answer == payload[::-1]
    assert seen == [payload, payload]
    assert errors == []
    assert listener.connections == 2
    await listener.close()
    exposer.close()
    target.close()


async def test_unreachable_target_closes_the_client() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = port(probe)
    probe.close()
    await probe.wait_closed()
    listener, exposer, errors = await chain(dead_port)
    assert listener.server is not None
    local = int(listener.server.sockets[0].getsockname()[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", local)
    writer.write(b"hello")
    assert await reader.read() == b""
    writer.close()
    assert any(f"cannot connect to 127.0.0.1:{dead_port}" in e for e in errors)
    await listener.close()
    exposer.close()


async def test_failing_opener_closes_the_client() -> None:
    errors: list[str] = []

    async def opener(factory: Callable[[], asyncio.Protocol]
                     ) -> tuple[asyncio.BaseTransport, asyncio.BaseProtocol]:
        raise ConnectionRefusedError("peer offline")

    listener = TunnelListener(opener, on_error=errors.append)
    _, local = await listener.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", local)
    assert await reader.read() == b""
    writer.close()
    assert errors == ["tunnel connection failed: peer offline"]
    await listener.close()


async def test_client_gone_before_link() -> None:
    gate = asyncio.Event()
    target, _ = await start_target()
    loop = asyncio.get_running_loop()
    exposer = await loop.create_server(expose_factory("127.0.0.1", port(target)), "127.0.0.1", 0)
    far_pipes: list[Pipe] = []

    async def opener(factory: Callable[[], asyncio.Protocol]
                     ) -> tuple[asyncio.BaseTransport, asyncio.BaseProtocol]:
        await gate.wait()
        t, p = await loop.create_connection(factory, "127.0.0.1", port(exposer))
        far_pipes.append(p)  # type: ignore[arg-type]
        return t, p

    listener = TunnelListener(opener)
    _, local = await listener.start("127.0.0.1", 0)
    _, writer = await asyncio.open_connection("127.0.0.1", local)
    writer.close()
    await asyncio.sleep(0)
    gate.set()
    for _ in range(1000):
        if far_pipes:
            break
        await asyncio.sleep(0.01)
    await asyncio.wait_for(far_pipes[0].closed, 10)  # the far side is not left open
    await listener.close()
    exposer.close()
    target.close()


def test_protocol_for_port() -> None:
    assert protocol_for_port(8080) == "tunnel-8080"
    for bad in (0, 65536, -1):
        with pytest.raises(ValueError, match="between 1 and 65535"):
            protocol_for_port(bad)


async def test_check_refuses_a_stream() -> None:
    target, seen = await start_target()
    refusals: list[str] = []
    loop = asyncio.get_running_loop()

    def check(transport: asyncio.Transport) -> str | None:
        return f"{transport.get_extra_info('peername')[0]} is not allowed"

    exposer = await loop.create_server(
        expose_factory("127.0.0.1", port(target), on_error=refusals.append, check=check),
        "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port(exposer))
    writer.write(b"hello")
    try:
        assert await reader.read() == b""
    except ConnectionResetError:
        pass  # closed with our bytes unread: the kernel may answer with a reset
    writer.close()
    assert refusals == ["127.0.0.1 is not allowed"]
    assert seen == []
    exposer.close()
    target.close()


async def test_bad_frame_ends_the_stream() -> None:
    target, seen = await start_target()
    loop = asyncio.get_running_loop()
    exposer = await loop.create_server(expose_factory("127.0.0.1", port(target)),
                                       "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port(exposer))
    writer.write(b"\x07\x00\x00\x00\x01x")  # frame type 7 does not exist
    try:
        assert await reader.read() == b""
    except ConnectionResetError:
        pass
    writer.close()
    exposer.close()
    await exposer.wait_closed()
    target.close()
    await target.wait_closed()
    assert seen in ([], [b""])  # the target saw at most an empty, closed connection
