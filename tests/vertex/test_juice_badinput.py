"""Bad input from the network: each gives a clear error or a closed connection, and the
server keeps serving other clients on the same listening port."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from plait._native import BoxDecoder, encode_box
from plait.vertex.juice import (
    AMP,
    Command,
    ConnectionLost,
    Integer,
    ProtocolError,
    Unicode,
    connect,
    listen,
)

TIMEOUT = 10.0


class Sum(Command):
    arguments = [("a", Integer()), ("b", Integer())]
    response = [("total", Integer())]


class Hello(Command):
    arguments = [("name", Unicode())]
    response = [("greeting", Unicode())]


class Server(AMP):
    max_box_size = 4096
    max_keys = 16

    @Sum.responder
    def sum(self, a: int, b: int) -> dict[str, Any]:
        return {"total": a + b}


def box(**items: bytes) -> bytes:
    return encode_box({k.encode(): v for k, v in items.items()})


async def exchange(port: int, data: bytes, *, eof: bool = False) -> bytes:
    """Send raw bytes; return everything the server sends until it closes."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), TIMEOUT)
    writer.write(data)
    if eof:
        writer.write_eof()
    received = await asyncio.wait_for(reader.read(), TIMEOUT)  # until EOF
    writer.close()
    return received


async def still_serving(port: int) -> None:
    proto = await asyncio.wait_for(connect("127.0.0.1", port, AMP), TIMEOUT)
    future = proto.call_remote(Sum, a=20, b=22)
    assert future is not None
    assert await asyncio.wait_for(future, TIMEOUT) == {"total": 42}
    proto.close()


BAD_INPUTS = {
    "key_too_long": b"\x01\x00" + b"k" * 256 + b"\x00\x01v\x00\x00",
    "garbage": bytes(range(255, 0, -1)) * 4,
    "box_too_large": box(_command=b"Sum", _ask=b"1", a=b"1" * 5000, b=b"2"),
    "too_many_keys": encode_box({b"k%d" % i: b"v" for i in range(40)}),
    "answer_unknown_tag": box(_answer=b"99", total=b"3"),
    "error_unknown_tag": box(_error=b"99", _error_code=b"X", _error_description=b"d"),
    "no_command_answer_or_error": box(hello=b"world"),
    "good_then_garbage": box(_command=b"Sum", _ask=b"1", a=b"1", b=b"2") + b"\xff\xff",
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
async def test_bad_input_closes_only_that_connection(
        loop_kind: str, case: str, caplog: pytest.LogCaptureFixture) -> None:
    port = await listen("tcp:0:interface=127.0.0.1", Server)
    try:
        with caplog.at_level(logging.WARNING, logger="plait.vertex.juice"):
            received = await exchange(port.port, BAD_INPUTS[case])
        assert any("protocol error" in r.getMessage() for r in caplog.records)
        boxes = BoxDecoder().feed(received)
        if case == "good_then_garbage":  # the good box was answered before the close
            assert boxes == [{b"_answer": b"1", b"total": b"3"}]
        else:
            assert boxes == []
        await still_serving(port.port)
    finally:
        await port.close()


@pytest.mark.parametrize("args", [
    {"a": b"one", "b": b"2"},       # not an integer
    {"a": b"1"},                    # b missing
    {"a": b"1.5", "b": b"2"},
])
async def test_wrong_argument_types_answer_unknown_and_close(
        loop_kind: str, args: dict[str, bytes]) -> None:
    port = await listen("tcp:0:interface=127.0.0.1", Server)
    try:
        received = await exchange(port.port, box(_command=b"Sum", _ask=b"a", **args))
        (answer,) = BoxDecoder().feed(received)
        assert answer[b"_error"] == b"a" and answer[b"_error_code"] == b"UNKNOWN"
        await still_serving(port.port)
    finally:
        await port.close()


async def test_truncated_boxes(loop_kind: str) -> None:
    port = await listen("tcp:0:interface=127.0.0.1", Server)
    try:
        whole = box(_command=b"Sum", _ask=b"1", a=b"1", b=b"2")
        for cut in (1, 2, 5, len(whole) - 1):
            # The peer goes away in the middle of a box: nothing is answered.
            assert await exchange(port.port, whole[:cut], eof=True) == b""
        # A box split across writes is fine.
        reader, writer = await asyncio.open_connection("127.0.0.1", port.port)
        for i in range(len(whole)):
            writer.write(whole[i:i + 1])
            await writer.drain()
        decoder = BoxDecoder()
        boxes: list[dict[bytes, bytes]] = []
        while not boxes:
            boxes = decoder.feed(await asyncio.wait_for(reader.read(100), TIMEOUT))
        assert boxes == [{b"_answer": b"1", b"total": b"3"}]
        writer.close()
        await still_serving(port.port)
    finally:
        await port.close()


async def test_unhandled_command_without_ask_closes(loop_kind: str) -> None:
    port = await listen("tcp:0:interface=127.0.0.1", Server)
    try:
        assert await exchange(port.port, box(_command=b"Nope", x=b"1")) == b""
        await still_serving(port.port)
    finally:
        await port.close()


class RawServer(asyncio.Protocol):
    """A hand-written peer that answers each box with what ``reply`` returns."""

    def __init__(self, reply: Any, seen: list[dict[bytes, bytes]]) -> None:
        self.reply = reply
        self.seen = seen
        self.decoder = BoxDecoder()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        for b in self.decoder.feed(data):
            self.seen.append(b)
            out = self.reply(b)
            if out:
                self.transport.write(out)  # type: ignore[attr-defined]


async def raw_server(reply: Any) -> tuple[asyncio.AbstractServer, int, list[dict[bytes, bytes]]]:
    seen: list[dict[bytes, bytes]] = []
    server = await asyncio.get_running_loop().create_server(
        lambda: RawServer(reply, seen), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


async def test_client_tags_are_hex_counters(loop_kind: str) -> None:
    server, port, seen = await raw_server(
        lambda b: box(_answer=b[b"_ask"], greeting=b"hi " + b[b"name"]))
    try:
        proto = await connect("127.0.0.1", port, AMP)
        for i in range(12):
            future = proto.call_remote(Hello, name=f"n{i}")
            assert await asyncio.wait_for(future, TIMEOUT) == {  # type: ignore[arg-type]
                "greeting": f"hi n{i}"}
        assert [b[b"_ask"] for b in seen] == [b"%x" % i for i in range(1, 13)]
        assert all(b[b"_command"] == b"Hello" for b in seen)
        proto.close()
    finally:
        server.close()


async def test_client_gets_protocol_error_for_bad_answer(
        loop_kind: str, caplog: pytest.LogCaptureFixture) -> None:
    def reply(b: dict[bytes, bytes]) -> bytes | None:
        if b[b"name"] == b"bad":
            return box(_answer=b[b"_ask"], greeting=b"\xff\xfe")  # not UTF-8
        return None  # the others stay outstanding

    server, port, _ = await raw_server(reply)
    try:
        proto = await connect("127.0.0.1", port, AMP)
        waiting = proto.call_remote(Hello, name="waits")
        bad = proto.call_remote(Hello, name="bad")
        with caplog.at_level(logging.WARNING, logger="plait.vertex.juice"):
            with pytest.raises(ProtocolError, match="greeting|utf-8"):
                await asyncio.wait_for(bad, TIMEOUT)  # type: ignore[arg-type]
            with pytest.raises(ConnectionLost) as info:
                await asyncio.wait_for(waiting, TIMEOUT)  # type: ignore[arg-type]
        assert isinstance(info.value.__cause__, ProtocolError)
        await asyncio.wait_for(proto.wait_closed(), TIMEOUT)
    finally:
        server.close()


@pytest.mark.parametrize("reply", [
    box(_answer=b"77", greeting=b"x"),                    # unknown tag
    box(_error=b"1", _error_description=b"no code"),     # no _error_code
    b"\x00\x00",                                          # an empty box
])
async def test_client_closes_on_bad_boxes(loop_kind: str, reply: bytes) -> None:
    server, port, _ = await raw_server(lambda b: reply)
    try:
        proto = await connect("127.0.0.1", port, AMP)
        with pytest.raises((ConnectionLost, ProtocolError)):
            await asyncio.wait_for(proto.call_remote(Hello, name="x"), TIMEOUT)  # type: ignore[arg-type]
        await asyncio.wait_for(proto.wait_closed(), TIMEOUT)
    finally:
        server.close()
