"""The native argument codec (``ArgumentSchema``): byte-exact with Twisted's argument
classes for the simple types, and the Python codec's behaviour for everything else."""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest
from twisted.protocols import amp as tamp

from plait._native import ArgumentSchema, BoxDecoder, encode_box
from plait.vertex.juice import (
    AmpList,
    Boolean,
    Command,
    Float,
    Integer,
    String,
    Unicode,
)

# (plait argument, Twisted argument, values)
CASES: list[tuple[Any, Any, list[Any]]] = [
    (
        Integer,
        tamp.Integer,
        [
            0,
            1,
            -1,
            7,
            2**63 - 1,
            2**63,
            -(2**63),
            -(2**63) - 1,
            2**64,
            -(10**40),
            10**100,
            123456789,
        ],
    ),
    (String, tamp.String, [b"", b"abc", bytes(range(256)), b"y" * 65535]),
    (Unicode, tamp.Unicode, ["", "abc", "\u00e9\u2603\U0001d11e", "x" * 1000]),
    (Boolean, tamp.Boolean, [True, False]),
    (
        Float,
        tamp.Float,
        [
            0.0,
            -0.0,
            1.0,
            1.5,
            -2.25,
            1e16,
            1e-7,
            1 / 3,
            1e308,
            5e-324,
            math.inf,
            -math.inf,
            math.nan,
        ],
    ),
]
IDS = [plait.__name__ for plait, _, _ in CASES]


def command_for(argument: Any) -> type[Command]:
    class One(Command):
        arguments = [("v", argument), ("opt", Integer(optional=True))]
        response = [("v", argument)]

    return One


def ask_codec(cmd: type[Command]) -> ArgumentSchema:
    assert cmd._native_ask is not None
    return cmd._native_ask


def answer_codec(cmd: type[Command]) -> ArgumentSchema:
    assert cmd._native_answer is not None
    return cmd._native_answer


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b and str(a) == str(b)


@pytest.mark.parametrize(("plait", "twisted", "values"), CASES, ids=IDS)
def test_encode_is_twisteds_bytes(plait: Any, twisted: Any, values: list[Any]) -> None:
    cmd = command_for(plait())
    assert cmd._native_ask is not None and cmd._native_answer is not None
    for value in values:
        wire = twisted().toString(value)
        ask = ask_codec(cmd).encode({"v": value}, b"1f")
        assert ask == encode_box({b"_command": b"One", b"_ask": b"1f", b"v": wire})
        assert ask == encode_box(cmd._encode_ask({"v": value}, b"1f"))
        answer = answer_codec(cmd).encode({"v": value, "ignored": 1}, b"2")
        assert answer == encode_box({b"_answer": b"2", b"v": wire})


@pytest.mark.parametrize(("plait", "twisted", "values"), CASES, ids=IDS)
def test_decode_is_twisteds_values(plait: Any, twisted: Any, values: list[Any]) -> None:
    cmd = command_for(plait())
    for value in values:
        ask = ask_codec(cmd).encode({"v": value, "opt": -5}, b"1")
        assert ask is not None
        (box,) = BoxDecoder().feed(ask)
        decoded = cmd.decode_arguments(box)
        assert decoded.keys() == {"v", "opt"} and decoded["opt"] == -5
        assert same(decoded["v"], twisted().fromString(twisted().toString(value)))
        assert same(decoded["v"], cmd.argument_schema.decode(box)["v"])


def test_optional_arguments() -> None:
    cmd = command_for(Integer())
    native = ask_codec(cmd)
    plain = encode_box({b"_command": b"One", b"_ask": b"1", b"v": b"3"})
    assert native.encode({"v": 3}, b"1") == plain
    assert native.encode({"v": 3, "opt": None}, b"1") == plain
    # Optional values go after the required ones, as the generated encoder puts them.
    assert native.encode({"opt": 4, "v": 3}, b"1") == encode_box(
        cmd._encode_ask({"opt": 4, "v": 3}, b"1")
    )
    assert cmd.decode_arguments({b"v": b"3"}) == {"v": 3, "opt": None}


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


@pytest.mark.parametrize(
    ("argument", "values"),
    [
        (Integer(), {"v": True}),  # bool: b"%d" gives b"1", the Python codec decides
        (Integer(), {"v": Color.RED}),
        (Integer(), {"v": 1.5}),
        (Integer(), {"v": None}),
        (Integer(), {"v": 10**5000}),  # over int_max_str_digits: the Python codec raises
        (Integer(), {}),  # missing
        (Integer(), {"v": 1, "extra": 2}),  # unexpected
        (String(), {"v": bytearray(b"x")}),
        (String(), {"v": "text"}),
        (String(), {"v": b"y" * 65536}),  # too long: the Python path raises TooLong
        (Unicode(), {"v": Text("t")}),
        (Unicode(), {"v": "\ud800"}),
        (Boolean(), {"v": 1}),
        (Float(), {"v": 1}),
    ],
)
def test_encode_falls_back(argument: Any, values: dict[str, Any]) -> None:
    assert ask_codec(command_for(argument)).encode(values, b"1") is None


def test_encode_falls_back_on_odd_containers() -> None:
    native = ask_codec(command_for(Integer()))
    assert native.encode({"v": 1}, "1") is None
    assert native.encode({"v": 1}, b"t" * 65536) is None
    assert native.encode([("v", 1)], b"1") is None


def python_error(cmd: type[Command], box: dict[bytes, bytes]) -> BaseException:
    with pytest.raises(Exception) as info:
        cmd.argument_schema.decode(box)
    return info.value


@pytest.mark.parametrize(
    ("argument", "raw"),
    [
        (Integer(), b"abc"),
        (Integer(), b""),
        (Integer(), b"1.5"),
        (Unicode(), b"\xff"),
        (Boolean(), b"true"),
        (Float(), b"x"),
        (String(), None),  # missing
    ],
)
def test_decode_errors_are_the_python_codecs(argument: Any, raw: bytes | None) -> None:
    cmd = command_for(argument)
    box = {} if raw is None else {b"v": raw}
    expected = python_error(cmd, box)
    with pytest.raises(type(expected)) as info:
        cmd.decode_arguments(box)
    assert repr(info.value) == repr(expected)


@pytest.mark.parametrize(
    ("argument", "raw", "value"),
    [
        (Integer(), b" 12 ", 12),
        (Integer(), b"+7", 7),
        (Integer(), b"1_000", 1000),
        (Integer(), b"-" + b"9" * 30, -int("9" * 30)),
        (Float(), b" 2.5", 2.5),
        (Float(), b"Infinity", math.inf),
    ],
)
def test_decode_general_forms(argument: Any, raw: bytes, value: Any) -> None:
    assert command_for(argument).decode_arguments({b"v": raw})["v"] == value


def test_only_exact_simple_types_are_native() -> None:
    class MyInteger(Integer):
        def to_bytes(self, value: int) -> bytes:
            return b"%d" % (value * 2)

    class Mixed(Command):
        arguments = [("a", Integer()), ("l", AmpList([("x", Integer())]))]

    class Custom(Command):
        arguments = [("a", MyInteger())]

    class Dashes(Command):  # two wire names, one Python name
        arguments = [(b"a-b", Integer()), (b"a_b", Integer())]

    for cmd in (Mixed, Custom, Dashes):
        assert cmd._native_ask is None


def test_schema_validation() -> None:
    def fallback(box: Any) -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match="simple"):
        ArgumentSchema([(b"a", "a", "ListOf", False)], [], None, False, fallback)
    with pytest.raises(ValueError, match="twice"):
        ArgumentSchema([(b"a", "a", "Integer", False)] * 2, [], None, False, fallback)
    with pytest.raises(ValueError, match="1-255"):
        ArgumentSchema([(b"", "a", "Integer", False)], [], None, False, fallback)
    schema = ArgumentSchema([(b"a", "a", "Integer", False)], [], None, False, fallback)
    assert schema.encode({"a": 5}, b"") == b"\x00\x01a\x00\x015\x00\x00"
    assert "a" in repr(schema)
