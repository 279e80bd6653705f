"""Argument codecs: round trips, and the exact bytes Twisted's own argument classes produce."""
from __future__ import annotations

import datetime
import decimal
import math
import os
import pathlib
from typing import Any

import pytest
from twisted.protocols import amp as tamp
from twisted.python.filepath import FilePath

from plait._native import BoxDecoder
from plait.vertex.juice import (
    AmpList,
    Argument,
    Boolean,
    Command,
    DateTime,
    Decimal,
    Float,
    Integer,
    InvalidSignature,
    ListOf,
    Path,
    String,
    TooLong,
    Unicode,
)

TZ_PLUS = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
TZ_MINUS = datetime.timezone(-datetime.timedelta(hours=8, minutes=15))
UTC = datetime.UTC

# (plait argument, Twisted argument, values)
CASES: list[tuple[Argument, Any, list[Any]]] = [
    (Integer(), tamp.Integer(), [0, 1, -1, 2**64, -(10**40), 123456789]),
    (String(), tamp.String(), [b"", b"abc", bytes(range(256)), b"\x00" * 1000]),
    (Unicode(), tamp.Unicode(), ["", "abc", "\u00e9\u2603\U0001f600", "a\x00b"]),
    (Float(), tamp.Float(), [0.0, -0.0, 1.5, -2.25e-300, 1e300, 5e-324, 0.1,
                             math.inf, -math.inf]),
    (Boolean(), tamp.Boolean(), [True, False]),
    (Decimal(), tamp.Decimal(), [decimal.Decimal(t) for t in
                                 ["0", "1", "-1", "1.0", "10", "1E+2", "1E-1", "1.5E+2",
                                  "-0", "0.000", "123456789.123456789", "Infinity",
                                  "-Infinity", "NaN", "-NaN", "sNaN", "-sNaN"]]),
    (DateTime(), tamp.DateTime(), [
        datetime.datetime(2005, 10, 3, 12, 34, 56, 789012, tzinfo=TZ_PLUS),
        datetime.datetime(1, 1, 1, 0, 0, 0, 0, tzinfo=UTC),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=TZ_MINUS),
        datetime.datetime(2024, 2, 29, 1, 2, 3, 4, tzinfo=UTC),
    ]),
    (ListOf(Integer()), tamp.ListOf(tamp.Integer()), [[], [1], [1, -2, 3 * 10**30]]),
    (ListOf(Unicode()), tamp.ListOf(tamp.Unicode()), [[], [""], ["a", "\u00e9", ""]]),
    (ListOf(String()), tamp.ListOf(tamp.String()), [[b"x" * 300, b""]]),
    (ListOf(Float()), tamp.ListOf(tamp.Float()), [[math.inf, -0.0, 2.5]]),
    (ListOf(Boolean()), tamp.ListOf(tamp.Boolean()), [[True, False, True]]),
]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, decimal.Decimal):
        return str(a) == str(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


@pytest.mark.parametrize(("ours", "theirs", "values"), CASES,
                         ids=[type(c[0]).__name__ + str(i) for i, c in enumerate(CASES)])
def test_same_bytes_as_twisted_and_round_trip(ours: Argument, theirs: Any,
                                               values: list[Any]) -> None:
    for value in values:
        wire = ours.to_bytes(value)
        assert wire == theirs.toString(value), value
        assert _same(value, ours.from_bytes(wire))
        assert _same(theirs.fromString(wire), ours.from_bytes(wire))


def test_float_nan_as_twisted() -> None:
    assert Float().to_bytes(math.nan) == tamp.Float().toString(math.nan) == b"nan"
    assert math.isnan(Float().from_bytes(b"nan"))
    assert Float().from_bytes(b"inf") == math.inf
    assert Float().from_bytes(b"-inf") == -math.inf
    with pytest.raises(ValueError):
        Float().to_bytes(1)  # Twisted refuses ints too


def test_datetime_offsets() -> None:
    value = datetime.datetime(2005, 10, 3, 12, 34, 56, 789012, tzinfo=TZ_PLUS)
    assert DateTime().to_bytes(value) == b"2005-10-03T12:34:56.789012+05:30"
    utc = datetime.datetime(2000, 1, 1, tzinfo=UTC)
    assert DateTime().to_bytes(utc) == b"2000-01-01T00:00:00.000000-00:00"  # as Twisted
    back = DateTime().from_bytes(b"2005-10-03T12:34:56.789012-08:15")
    assert back.utcoffset() == -datetime.timedelta(hours=8, minutes=15)
    assert back == DateTime().from_bytes(DateTime().to_bytes(back))
    theirs = tamp.DateTime().fromString(b"2005-10-03T12:34:56.789012-08:15")
    assert back == theirs and back.utcoffset() == theirs.utcoffset()
    with pytest.raises(ValueError):
        DateTime().to_bytes(datetime.datetime(2000, 1, 1))  # naive
    for bad in [b"", b"2005-10-03T12:34:56.789012*08:15", b"2005-10-03 12:34:56",
                b"2005-13-03T12:34:56.789012+08:15"]:
        with pytest.raises(ValueError):
            DateTime().from_bytes(bad)


def test_path_matches_twisted_filepath(tmp_path: pathlib.Path) -> None:
    for text in [str(tmp_path / "a b" / "\u00e9.txt"), "/", "relative/../x"]:
        ours = Path().to_bytes(pathlib.Path(text))
        assert ours == tamp.Path().toString(FilePath(text))
        assert Path().to_bytes(text) == ours
        decoded = Path().from_bytes(ours)
        assert isinstance(decoded, pathlib.Path)
        assert decoded == pathlib.Path(os.path.abspath(text))
        assert tamp.Path().fromString(ours).path == str(decoded)


def test_amplist_matches_twisted() -> None:
    ours = AmpList([("b", Unicode()), ("a", Integer()), ("c", Float(optional=True))])
    theirs = tamp.AmpList([(b"b", tamp.Unicode()), (b"a", tamp.Integer()),
                           (b"c", tamp.Float(optional=True))])
    for value in [[], [{"a": 1, "b": "x", "c": None}],
                  [{"a": 7, "b": "hello", "c": 0.5}, {"a": -9, "b": "", "c": None}]]:
        wire = ours.to_bytes(value)
        assert wire == theirs.toStringProto(value, None)
        assert ours.from_bytes(wire) == value
        assert theirs.fromStringProto(wire, None) == ours.from_bytes(wire)
    with pytest.raises(ValueError):
        ours.to_bytes([{"a": 1}])  # b is required
    nested = AmpList([("rows", ListOf(Integer())), ("sub", AmpList([("x", Boolean())]))])
    value = [{"rows": [1, 2], "sub": [{"x": True}, {"x": False}]}]
    assert nested.from_bytes(nested.to_bytes(value)) == value


def test_amplist_twisted_name_mangling() -> None:
    ours = AmpList([("from", Integer()), ("a-b", Integer())])
    theirs = tamp.AmpList([(b"from", tamp.Integer()), (b"a-b", tamp.Integer())])
    value = [{"From": 1, "a_b": 2}]
    assert ours.to_bytes(value) == theirs.toStringProto(value, None)
    assert ours.from_bytes(ours.to_bytes(value)) == value


@pytest.mark.parametrize("data", [b"\x00", b"\x00\x05ab", b"\x00\x01"])
def test_listof_rejects_truncated(data: bytes) -> None:
    with pytest.raises(ValueError):
        ListOf(String()).from_bytes(data)


def test_amplist_rejects_garbage() -> None:
    codec = AmpList([("a", Integer())])
    for data in [b"\x00\x01a\x00\x011", b"\x01\x00" + b"x" * 300, b"\x00\x01a\x00\x01x\x00\x00"]:
        with pytest.raises(ValueError):
            codec.from_bytes(data)


@pytest.mark.parametrize(("codec", "data"), [
    (Integer(), b"12x"), (Integer(), b""), (Float(), b"one"), (Boolean(), b"true"),
    (Boolean(), b"1"), (Decimal(), b"1..2"), (Unicode(), b"\xff\xfe"),
])
def test_bad_wire_values_raise_value_error(codec: Argument, data: bytes) -> None:
    with pytest.raises(ValueError):
        codec.from_bytes(data)


def test_local_type_errors() -> None:
    with pytest.raises(TypeError):
        String().to_bytes("text")
    with pytest.raises(TypeError):
        Unicode().to_bytes(b"bytes")
    with pytest.raises(ValueError):
        Decimal().to_bytes(1.5)
    with pytest.raises(TooLong):
        ListOf(String()).to_bytes([b"x" * 70000])
    assert String().to_bytes(bytearray(b"ab")) == b"ab"


class Celsius(Argument):
    """A custom type, as the documentation describes: only to_bytes/from_bytes."""

    def to_bytes(self, value: float) -> bytes:
        return b"%.1fC" % value

    def from_bytes(self, data: bytes) -> float:
        if not data.endswith(b"C"):
            raise ValueError(data)
        return float(data[:-1])


def test_custom_argument_and_listof_custom() -> None:
    assert Celsius().from_bytes(Celsius().to_bytes(21.5)) == 21.5
    codec = ListOf(Celsius())
    assert codec.from_bytes(codec.to_bytes([1.0, -3.5])) == [1.0, -3.5]


class Sample(Command):
    arguments = [("a", Integer()), ("from", Unicode()), ("x-y", Integer(optional=True))]
    response = [("total", Integer())]
    errors = {KeyError: "KEY"}


class SubSample(Sample):
    errors = {ValueError: b"VALUE"}
    fatal_errors = {OSError: "OS"}


def test_command_encoding_and_names() -> None:
    assert Sample.command_name == b"Sample"
    box = Sample.make_ask({"a": 1, "From": "z"}, b"1")
    assert box == {b"_command": b"Sample", b"_ask": b"1", b"a": b"1", b"from": b"z"}
    box = Sample.make_ask({"a": 1, "From": "z", "x_y": 5}, None)
    assert b"_ask" not in box and box[b"x-y"] == b"5"
    assert Sample.decode_arguments({b"a": b"3", b"from": b"q", b"extra": b"ignored"}) == {
        "a": 3, "From": "q", "x_y": None}
    assert Sample.make_answer({"total": 3, "ignored": 1}, b"7") == {
        b"_answer": b"7", b"total": b"3"}


def test_command_signature_errors() -> None:
    with pytest.raises(InvalidSignature, match="missing a"):
        Sample.make_ask({"From": "z"}, b"1")
    with pytest.raises(InvalidSignature, match="unexpected b"):
        Sample.make_ask({"a": 1, "From": "z", "b": 2}, b"1")

    class Strict(Command):
        arguments = [("a", Integer())]

    with pytest.raises(InvalidSignature):
        Strict.make_ask({"b": 1}, b"1")
    with pytest.raises(TypeError):
        Strict()


def test_command_errors_are_inherited() -> None:
    assert Sample.all_errors == {KeyError: b"KEY"}
    assert SubSample.all_errors == {KeyError: b"KEY", ValueError: b"VALUE", OSError: b"OS"}
    assert SubSample.error_for(FileNotFoundError("x")) == (b"OS", True)
    assert SubSample.error_for(ValueError("x")) == (b"VALUE", False)
    assert SubSample.error_for(RuntimeError()) is None
    exc = SubSample.exception_for(b"VALUE", "bad value")
    assert isinstance(exc, ValueError) and str(exc) == "bad value"
    assert SubSample.exception_for(b"NOPE", "x") is None


def test_command_name_and_reserved_keys() -> None:
    class Named(Command):
        command_name = "my.Named"

    assert Named.command_name == b"my.Named"
    with pytest.raises(ValueError):
        class Reserved(Command):
            arguments = [("_ask", Integer())]
    with pytest.raises(ValueError):
        class TooLongKey(Command):
            arguments = [("k" * 256, Integer())]


def test_box_through_native_codec() -> None:
    from plait._native import encode_box

    box = Sample.make_ask({"a": 10**30, "From": "\u00e9"}, b"ff")
    (decoded,) = BoxDecoder().feed(encode_box(box))
    assert Sample.decode_arguments(decoded) == {"a": 10**30, "From": "\u00e9", "x_y": None}
