"""``BoxDecoder.feed_amp`` and ``ResponderTable``: AMP's receive path in one native call.

A recording stand-in plays the protocol, so each test sees exactly what the native path
did itself (futures resolved, answers encoded into the outbox) and what it handed to the
protocol's Python methods, and in which order.
"""
from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from plait._native import BoxDecoder, JuiceError, ResponderTable, encode_box
from plait.vertex.juice import Command, Integer, String
from plait.vertex.juice.protocol import _positional


class Add(Command):
    arguments = [("a", Integer()), ("b", Integer(optional=True))]
    response = [("total", Integer())]


class Echo(Command):
    arguments = [("data", String())]
    response = [("data", String())]


class FakeFuture:
    def __init__(self, cancelled: bool = False) -> None:
        self.results: list[Any] = []
        self.cancelled = cancelled

    def set_result(self, result: Any) -> None:
        if self.cancelled:
            raise asyncio.InvalidStateError("cancelled")
        self.results.append(result)


class Recorder:
    """What AMP offers feed_amp: the flag it reads and the methods of the slow paths."""

    def __init__(self) -> None:
        self._receiving = True
        self.events: list[tuple[Any, ...]] = []
        self.outbox: list[Any] = []
        self.pending: dict[bytes, Any] = {}

    def _box_received(self, box: dict[bytes, bytes]) -> None:
        self.events.append(("box", box))

    def _responder_failed(self, command: Any, ask: bytes | None, exc: BaseException) -> None:
        self.events.append(("failed", command, ask, exc))

    def _responder_returned(self, command: Any, ask: bytes | None, result: Any) -> None:
        self.events.append(("returned", command, ask, result))

    def feed(self, decoder: BoxDecoder, data: Any, table: ResponderTable | None) -> int:
        return decoder.feed_amp(data, self, self.pending, self.outbox, table)


def table_for(*entries: tuple[type[Command], Any]) -> ResponderTable:
    rows = []
    for cmd, func in entries:
        assert cmd._native_ask is not None
        rows.append((cmd.command_name, cmd, func, cmd._native_ask, cmd._native_answer,
                     _positional(func, cmd)))
    return ResponderTable(rows)


def add(proto: Recorder, a: int, b: int | None) -> dict[str, int]:
    proto.events.append(("add", a, b))
    return {"total": a + (b or 0)}


def ask(cmd: type[Command], tag: bytes, **values: Any) -> bytes:
    return encode_box(cmd.make_ask(values, tag))


def test_commands_are_answered_natively_in_order() -> None:
    proto = Recorder()
    wire = ask(Add, b"1", a=2, b=3) + ask(Add, b"2", a=5)
    assert proto.feed(BoxDecoder(), wire, table_for((Add, add))) == 0
    assert proto.events == [("add", 2, 3), ("add", 5, None)]
    assert proto.outbox == [
        encode_box(Add.make_answer({"total": 5}, b"1")),
        encode_box(Add.make_answer({"total": 5}, b"2")),
    ]


def test_answers_resolve_their_futures() -> None:
    proto = Recorder()
    first, cancelled, other = FakeFuture(), FakeFuture(cancelled=True), FakeFuture()
    proto.pending.update({
        b"a": (first, Add, Add._native_answer),
        b"b": (cancelled, Add, Add._native_answer),
        b"c": (other, Add, Add._native_answer),
    })
    wire = b"".join(encode_box(Add.make_answer({"total": n}, tag))
                    for n, tag in ((1, b"a"), (2, b"b"), (3, b"c")))
    assert proto.feed(BoxDecoder(), wire, None) == 2
    assert first.results == [{"total": 1}] and other.results == [{"total": 3}]
    assert proto.pending == {} and proto.events == []


def test_every_chunking_gives_one_answer() -> None:
    proto = Recorder()
    decoder = BoxDecoder()
    wire = ask(Echo, b"7", data=b"x" * 300)
    table = table_for((Echo, lambda proto, data: {"data": data[::-1]}))
    for i in range(len(wire)):
        proto.feed(decoder, memoryview(wire)[i : i + 1], table)
    assert proto.outbox == [encode_box(Echo.make_answer({"data": b"x" * 300}, b"7"))]


def test_a_repeated_key_means_its_last_value() -> None:
    proto = Recorder()
    future = FakeFuture()
    proto.pending[b"2"] = (future, Add, Add._native_answer)
    wire = b"".join(
        len(part).to_bytes(2, "big") + part
        for part in [b"_answer", b"1", b"total", b"3", b"_answer", b"2", b"total", b"4", b""]
    )
    assert proto.feed(BoxDecoder(), wire, None) == 1
    assert future.results == [{"total": 4}]


def test_what_the_native_codecs_leave_goes_to_box_received_in_order() -> None:
    proto = Recorder()
    future = FakeFuture()
    proto.pending[b"9"] = (future, Add, Add._native_answer)
    boxes = [
        {b"_command": b"Add", b"_ask": b"1", b"a": b"not a number"},  # Python codec's error
        {b"_command": b"Nobody", b"_ask": b"2"},  # no native responder
        {b"_error": b"3", b"_error_code": b"X"},  # errors are Python's
        {b"_answer": b"unknown"},  # no such call
        {b"_answer": b"9", b"total": b"x"},  # a value the native codec does not take
        {b"neither": b"one"},
    ]
    wire = b"".join(encode_box(box) for box in boxes) + ask(Add, b"4", a=1, b=1)
    assert proto.feed(BoxDecoder(), wire, table_for((Add, add))) == 0
    assert proto.events == [("box", box) for box in boxes] + [("add", 1, 1)]
    assert future.results == [] and b"9" in proto.pending  # the Python path pops it


def test_without_a_table_every_command_is_pythons() -> None:
    proto = Recorder()
    wire = ask(Add, b"1", a=2)
    proto.feed(BoxDecoder(), wire, None)
    assert proto.events == [("box", BoxDecoder().feed(wire)[0])]


def test_responder_outcomes_the_native_path_does_not_encode() -> None:
    proto = Recorder()
    failure = ValueError("no")

    def fails(proto: Recorder, a: int, b: int | None) -> dict[str, int]:
        raise failure

    def not_a_dict(proto: Recorder, a: int, b: int | None) -> Any:
        return [a]

    def bad_value(proto: Recorder, a: int, b: int | None) -> dict[str, Any]:
        return {"total": "seven"}

    for func, expected in ((fails, ("failed", Add, b"1", failure)),
                           (not_a_dict, ("returned", Add, b"1", [2])),
                           (bad_value, ("returned", Add, b"1", {"total": "seven"}))):
        proto.events.clear()
        proto.feed(BoxDecoder(), ask(Add, b"1", a=2), table_for((Add, func)))
        assert proto.events == [expected]
    assert proto.outbox == []
    proto.events.clear()
    proto.feed(BoxDecoder(), encode_box(Add.make_ask({"a": 2}, None)), table_for((Add, add)))
    assert proto.events == [("add", 2, None), ("returned", Add, None, {"total": 2})]


def test_base_exceptions_are_not_answered() -> None:
    def interrupted(proto: Recorder, a: int, b: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Recorder().feed(BoxDecoder(), ask(Add, b"1", a=2), table_for((Add, interrupted)))


def test_keyword_responders_get_keywords() -> None:
    proto = Recorder()

    def by_keyword(proto: Recorder, *, b: int | None, a: int) -> dict[str, int]:
        return {"total": a * 10 + (b or 0)}

    @functools.wraps(add)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        proto.events.append(("wrapped", args[1:], kwargs))
        return add(*args, **kwargs)

    assert not _positional(by_keyword, Add) and not _positional(wrapped, Add)
    assert _positional(add, Add)
    proto.feed(BoxDecoder(), ask(Add, b"1", a=2, b=3),
               table_for((Add, by_keyword)))
    proto.feed(BoxDecoder(), ask(Add, b"2", a=4), table_for((Add, wrapped)))
    assert proto.outbox == [encode_box(Add.make_answer({"total": 23}, b"1")),
                            encode_box(Add.make_answer({"total": 4}, b"2"))]
    assert proto.events[0] == ("wrapped", (), {"a": 4, "b": None})


def test_dispatch_stops_when_the_protocol_stops_receiving() -> None:
    proto = Recorder()

    def closes(proto: Recorder, a: int, b: int | None) -> dict[str, int]:
        proto._receiving = False
        return {"total": a}

    wire = ask(Add, b"1", a=1) + ask(Add, b"2", a=2)
    proto.feed(BoxDecoder(), wire, table_for((Add, closes)))
    assert proto.outbox == [encode_box(Add.make_answer({"total": 1}, b"1"))]


def test_a_violation_comes_after_the_boxes_before_it() -> None:
    proto = Recorder()
    decoder = BoxDecoder()
    with pytest.raises(JuiceError, match="255"):
        proto.feed(decoder, ask(Add, b"1", a=1) + b"\x01\x00" + b"k" * 256,
                   table_for((Add, add)))
    assert proto.events == [("add", 1, None)] and len(proto.outbox) == 1
    with pytest.raises(JuiceError):
        proto.feed(decoder, ask(Add, b"2", a=1), table_for((Add, add)))
    assert len(proto.outbox) == 1


def test_responders_may_feed_the_decoder_again() -> None:
    """Responders run with the decoder free: a nested feed is not a borrow error."""
    proto = Recorder()
    decoder = BoxDecoder()
    table = table_for((Add, add))

    def nested(proto_: Recorder, data: bytes) -> dict[str, bytes]:
        proto.feed(decoder, ask(Add, b"n", a=9), table)
        return {"data": data}

    proto.feed(decoder, ask(Echo, b"1", data=b"d"), table_for((Echo, nested)))
    assert ("add", 9, None) in proto.events
    assert len(proto.outbox) == 2


def test_table_repr_and_length() -> None:
    table = table_for((Add, add), (Echo, lambda proto, data: {"data": data}))
    assert len(table) == 2
    assert repr(table) == "<ResponderTable Add, Echo>"
