"""plait AMP against itself over loopback TCP: calls, errors, pipelining, connection loss."""
from __future__ import annotations

import asyncio
import datetime
import decimal
import logging
import pathlib
from collections.abc import Callable
from typing import Any, Self

import pytest

from plait.vertex.juice import (
    AMP,
    AmpList,
    Boolean,
    Command,
    ConnectionLost,
    DateTime,
    Decimal,
    Float,
    Integer,
    InvalidSignature,
    ListOf,
    Path,
    RemoteAmpError,
    String,
    TooLong,
    UnhandledCommand,
    Unicode,
    UnknownRemoteError,
    connect,
    listen,
)

TIMEOUT = 10.0


class FatalError(Exception):
    pass


class Sum(Command):
    arguments = [("a", Integer()), ("b", Integer())]
    response = [("total", Integer())]


class Divide(Command):
    arguments = [("a", Integer()), ("b", Integer())]
    response = [("quotient", Integer())]
    errors = {ZeroDivisionError: "ZERO_DIVISION"}
    fatal_errors = {FatalError: "FATAL"}


class Echo(Command):
    arguments = [
        ("i", Integer()), ("s", String()), ("u", Unicode()), ("f", Float()),
        ("b", Boolean()), ("d", Decimal()), ("dt", DateTime()), ("p", Path()),
        ("li", ListOf(Integer())), ("al", AmpList([("x", Integer()), ("y", Unicode())])),
        ("opt", Unicode(optional=True)),
    ]
    response = arguments


class Slow(Command):
    arguments = [("n", Integer())]
    response = [("n", Integer())]


class Boom(Command):
    response = [("never", Integer())]


class BadReturn(Command):
    response = [("value", Integer())]


class Notify(Command):
    arguments = [("message", Unicode())]
    requires_answer = False


class Notes(Command):
    response = [("notes", ListOf(Unicode()))]


class Missing(Command):
    arguments = [("x", Integer())]


class Server(AMP):
    """Responders of every flavour; ``gates`` lets a test hold Slow answers back."""

    instances: list[Server] = []

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []
        self.gates: dict[int, asyncio.Future[None]] = {}
        self.slow_started = asyncio.Event()
        self.started_count = 0
        Server.instances.append(self)

    @Sum.responder
    def sum(self, a: int, b: int) -> dict[str, Any]:
        return {"total": a + b}

    @Divide.responder
    async def divide(self, a: int, b: int) -> dict[str, Any]:
        await asyncio.sleep(0)
        if b < 0:
            raise FatalError("negative divisor")
        return {"quotient": a // b}

    @Echo.responder
    def echo(self, **kw: Any) -> dict[str, Any]:
        return kw

    @Slow.responder
    async def slow(self, n: int) -> dict[str, Any]:
        gate = self.gates[n] = asyncio.get_running_loop().create_future()
        self.started_count += 1
        self.slow_started.set()
        await gate
        return {"n": n}

    @Boom.responder
    def boom(self) -> dict[str, Any]:
        raise RuntimeError("kaboom")

    @BadReturn.responder
    def bad_return(self) -> dict[str, Any]:
        return {"value": "not an int"}

    @Notify.responder
    def notify(self, message: str) -> dict[str, Any]:
        self.notes.append(message)
        return {}

    @Notes.responder
    def get_notes(self) -> dict[str, Any]:
        return {"notes": self.notes}


class Pair:
    """A listening server and one connected client; closes both."""

    def __init__(self, factory: Callable[[], AMP] = Server) -> None:
        self.factory = factory

    async def __aenter__(self) -> Self:
        Server.instances = []
        self.port = await listen("tcp:0:interface=127.0.0.1", self.factory)
        self.client = await self.connect()
        return self

    async def connect(self) -> AMP:
        return await asyncio.wait_for(connect("127.0.0.1", self.port.port, AMP), TIMEOUT)

    async def __aexit__(self, *exc: object) -> None:
        self.client.close()
        await self.port.close()


async def call(proto: AMP, command: type[Command], **kw: Any) -> Any:
    future = proto.call_remote(command, **kw)
    assert future is not None
    return await asyncio.wait_for(future, TIMEOUT)


async def test_simple_call_and_description_connect(loop_kind: str) -> None:
    async with Pair() as pair:
        assert await call(pair.client, Sum, a=1, b=2) == {"total": 3}
        other = await asyncio.wait_for(
            connect(f"tcp:host=127.0.0.1:port={pair.port.port}"), TIMEOUT)
        assert await call(other, Sum, a=-5, b=2) == {"total": -3}
        other.close()


async def test_every_argument_type_round_trips(loop_kind: str) -> None:
    value = {
        "i": 10**30, "s": b"\x00\xff", "u": "\u2603", "f": -0.5, "b": False,
        "d": decimal.Decimal("1.50E+3"),
        "dt": datetime.datetime(2005, 10, 3, 1, 2, 3, 4, tzinfo=datetime.UTC),
        "p": pathlib.Path("/tmp/x y"), "li": [1, 2, 3],
        "al": [{"x": 1, "y": "one"}, {"x": 2, "y": "two"}], "opt": None,
    }
    async with Pair() as pair:
        assert await call(pair.client, Echo, **value) == value
        assert (await call(pair.client, Echo, **{**value, "opt": "here"}))["opt"] == "here"


async def test_pipelining_100_outstanding_answered_in_reverse(loop_kind: str) -> None:
    async with Pair() as pair:
        futures = [pair.client.call_remote(Slow, n=n) for n in range(100)]
        assert pair.client.outstanding == 100
        server = Server.instances[0]
        while server.started_count < 100:
            await asyncio.wait_for(server.slow_started.wait(), TIMEOUT)
            server.slow_started.clear()
        for n in reversed(range(100)):
            server.gates[n].set_result(None)
        results = await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT)  # type: ignore[arg-type]
        assert [r["n"] for r in results] == list(range(100))
        assert pair.client.outstanding == 0


async def test_many_outstanding_sync_responders(loop_kind: str) -> None:
    async with Pair() as pair:
        futures = [pair.client.call_remote(Sum, a=i, b=i) for i in range(1000)]
        results = await asyncio.wait_for(asyncio.gather(*futures), TIMEOUT)  # type: ignore[arg-type]
        assert [r["total"] for r in results] == [2 * i for i in range(1000)]


async def test_connection_lost_fails_every_outstanding_call(loop_kind: str) -> None:
    async with Pair() as pair:
        futures = [pair.client.call_remote(Slow, n=n) for n in range(10)]
        server = Server.instances[0]
        while server.started_count < 10:
            await asyncio.wait_for(server.slow_started.wait(), TIMEOUT)
            server.slow_started.clear()
        server.abort()
        for future in futures:
            with pytest.raises(ConnectionLost):
                await asyncio.wait_for(future, TIMEOUT)  # type: ignore[arg-type]
        await asyncio.wait_for(pair.client.wait_closed(), TIMEOUT)
        with pytest.raises(ConnectionLost):
            await call(pair.client, Sum, a=1, b=1)
        assert pair.client.call_remote(Notify, message="dropped") is None


async def test_local_close_fails_outstanding_calls(loop_kind: str) -> None:
    async with Pair() as pair:
        future = pair.client.call_remote(Slow, n=1)
        pair.client.close()
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(future, TIMEOUT)  # type: ignore[arg-type]


async def test_declared_error_keeps_connection(loop_kind: str) -> None:
    async with Pair() as pair:
        with pytest.raises(ZeroDivisionError, match="division"):
            await call(pair.client, Divide, a=1, b=0)
        assert await call(pair.client, Divide, a=9, b=2) == {"quotient": 4}


async def test_fatal_error_closes_connection(loop_kind: str) -> None:
    async with Pair() as pair:
        with pytest.raises(FatalError, match="negative divisor"):
            await call(pair.client, Divide, a=1, b=-1)
        await asyncio.wait_for(pair.client.wait_closed(), TIMEOUT)


async def test_unknown_error_is_logged_answered_and_closes(
        loop_kind: str, caplog: pytest.LogCaptureFixture) -> None:
    async with Pair() as pair:
        with caplog.at_level(logging.ERROR, logger="plait.vertex.juice"):
            with pytest.raises(UnknownRemoteError) as info:
                await call(pair.client, Boom)
            await asyncio.wait_for(pair.client.wait_closed(), TIMEOUT)
        assert info.value.error_code == b"UNKNOWN"
        assert isinstance(info.value, RemoteAmpError)
        assert any("kaboom" in (r.exc_text or "") for r in caplog.records)


async def test_unknown_error_can_keep_connection(loop_kind: str) -> None:
    class Lenient(Server):
        close_on_unknown_error = False

    async with Pair(Lenient) as pair:
        with pytest.raises(UnknownRemoteError):
            await call(pair.client, Boom)
        with pytest.raises(UnknownRemoteError):  # a response it cannot encode
            await call(pair.client, BadReturn)
        assert await call(pair.client, Sum, a=1, b=1) == {"total": 2}


async def test_unhandled_command(loop_kind: str) -> None:
    async with Pair() as pair:
        with pytest.raises(UnhandledCommand) as info:
            await call(pair.client, Missing, x=1)
        assert info.value.error_code == b"UNHANDLED"
        assert "Missing" in info.value.description
        assert await call(pair.client, Sum, a=2, b=2) == {"total": 4}


async def test_requires_answer_false(loop_kind: str) -> None:
    async with Pair() as pair:
        assert pair.client.call_remote(Notify, message="one") is None
        assert pair.client.call_remote(Notify, message="two") is None
        assert pair.client.outstanding == 0
        assert await call(pair.client, Notes) == {"notes": ["one", "two"]}


async def test_invalid_signature_raises_at_once(loop_kind: str) -> None:
    async with Pair() as pair:
        with pytest.raises(InvalidSignature):
            pair.client.call_remote(Sum, a=1)
        with pytest.raises(InvalidSignature):
            pair.client.call_remote(Sum, a=1, b=2, c=3)
        with pytest.raises(TypeError):
            pair.client.call_remote(Echo, i=1, s="not bytes", u="", f=0.0, b=True,
                                    d=decimal.Decimal(1), dt=datetime.datetime.now(
                                        datetime.UTC), p="/", li=[], al=[])
        assert await call(pair.client, Sum, a=1, b=2) == {"total": 3}


async def test_cancelled_call_ignores_late_answer(loop_kind: str) -> None:
    async with Pair() as pair:
        future = pair.client.call_remote(Slow, n=7)
        assert future is not None
        server = Server.instances[0]
        await asyncio.wait_for(server.slow_started.wait(), TIMEOUT)
        future.cancel()
        server.gates[7].set_result(None)
        assert await call(pair.client, Sum, a=1, b=1) == {"total": 2}
        assert not pair.client.closing


async def test_subclass_overrides_responder_and_both_sides_call(loop_kind: str) -> None:
    class Doubler(Server):
        def sum(self, a: int, b: int) -> dict[str, Any]:  # overrides by name
            return {"total": 2 * (a + b)}

    class Client(AMP):
        @Sum.responder
        def sum(self, a: int, b: int) -> dict[str, Any]:
            return {"total": a * b}

    async with Pair(Doubler) as pair:
        assert await call(pair.client, Sum, a=1, b=2) == {"total": 6}
        client = await asyncio.wait_for(
            connect("127.0.0.1", pair.port.port, Client), TIMEOUT)
        await call(client, Sum, a=0, b=0)
        server = Server.instances[-1]
        assert await call(server, Sum, a=3, b=4) == {"total": 12}  # server calls client
        client.close()


class Big(Command):
    arguments = [("data", String())]
    response = [("data", String())]


class Huge(Command):
    arguments = [("size", Integer())]
    response = [("data", String())]


class SizedServer(Server):
    close_on_unknown_error = False

    @Big.responder
    def big(self, data: bytes) -> dict[str, Any]:
        return {"data": data}

    @Huge.responder
    def huge(self, size: int) -> dict[str, Any]:
        return {"data": b"x" * size}


async def test_values_too_long_for_amp(loop_kind: str) -> None:
    async with Pair(SizedServer) as pair:
        ok = b"y" * 65535  # the largest value AMP carries
        assert await call(pair.client, Big, data=ok) == {"data": ok}
        with pytest.raises(TooLong):
            await call(pair.client, Big, data=b"y" * 65536)
        with pytest.raises(UnknownRemoteError):  # the answer cannot be encoded
            await call(pair.client, Huge, size=70000)
        assert await call(pair.client, Huge, size=3) == {"data": b"xxx"}


async def test_many_clients_on_one_port(loop_kind: str) -> None:
    async with Pair() as pair:
        others = [await pair.connect() for _ in range(3)]
        await call(pair.client, Sum, a=0, b=0)
        for other in others:
            await call(other, Sum, a=0, b=0)
        assert len(Server.instances) == 4
        for server in Server.instances:
            assert server.outstanding == 0
        for other in others:
            other.close()
            await asyncio.wait_for(other.wait_closed(), TIMEOUT)
