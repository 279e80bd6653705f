"""Argument types: how Python values become AMP values, byte-for-byte as Twisted does it.

Subclass :class:`Argument` and implement ``to_bytes`` and ``from_bytes`` for a custom type
(Twisted's ``toString``/``fromString``).  Decoding errors (``ValueError``, ``TypeError``...)
raised while reading a peer's box turn into a :class:`~.errors.ProtocolError`.
"""
from __future__ import annotations

import abc
import datetime as _dt
import decimal as _decimal
import os
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from struct import Struct
from typing import Any

from plait._native import BoxDecoder, JuiceError, encode_boxes

from .errors import TooLong
from .schema import Schema

MAX_VALUE_LENGTH = 0xFFFF
_U16 = Struct("!H")


class Argument(abc.ABC):
    """One argument type.  ``optional=True`` lets the value be absent (``None`` in Python)."""

    optional: bool
    #: Optional expressions that generated codecs inline instead of calling the method
    #: (``$`` is the value); used only if defined by the class that defines the method.
    inline_encode: str | None = None
    inline_decode: str | None = None

    def __init__(self, optional: bool = False) -> None:
        self.optional = optional

    @abc.abstractmethod
    def to_bytes(self, value: Any) -> bytes:
        """Encode a Python value for the wire (Twisted's ``toString``)."""

    @abc.abstractmethod
    def from_bytes(self, data: bytes) -> Any:
        """Decode a wire value; raise ``ValueError``/``TypeError`` on bad input."""

    def __repr__(self) -> str:
        opt = "optional=True" if self.optional else ""
        return f"{type(self).__name__}({opt})"


class Integer(Argument):
    """Any int, as its decimal text: ``123`` is ``b"123"``."""

    from_bytes = staticmethod(int)  # type: ignore[assignment]
    inline_encode = 'b"%d" % ($,)'
    inline_decode = "int($)"

    def to_bytes(self, value: int) -> bytes:
        return b"%d" % (value,)


class String(Argument):
    """Bytes, passed through untouched."""

    def to_bytes(self, value: bytes) -> bytes:
        if type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"String argument needs bytes, got {type(value).__name__}")

    inline_decode = "$"

    def from_bytes(self, data: bytes) -> bytes:
        return data


class Unicode(Argument):
    """Text, as UTF-8."""

    def to_bytes(self, value: str) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"Unicode argument needs str, got {type(value).__name__}")
        return value.encode("utf-8")

    inline_decode = '$.decode("utf-8")'

    def from_bytes(self, data: bytes) -> str:
        return data.decode("utf-8")


class Float(Argument):
    """A float as its repr (``nan``, ``inf`` and ``-inf`` included, as Twisted sends them)."""

    from_bytes = staticmethod(float)  # type: ignore[assignment]
    inline_decode = "float($)"

    def to_bytes(self, value: float) -> bytes:
        if not isinstance(value, float):
            raise ValueError(f"Bad float value {value!r}")  # noqa: TRY004 - as Twisted
        return float.__repr__(value).encode("ascii")


class Boolean(Argument):
    """``b"True"`` or ``b"False"``; any truthy value encodes as True, as in Twisted."""

    def to_bytes(self, value: object) -> bytes:
        return b"True" if value else b"False"

    def from_bytes(self, data: bytes) -> bool:
        if data == b"True":
            return True
        if data == b"False":
            return False
        raise ValueError(f"Bad boolean value: {data!r}")


class Decimal(Argument):
    """A ``decimal.Decimal`` as its ``str()``: ``1.0``, ``1E+2``, ``NaN``, ``-Infinity``..."""

    def to_bytes(self, value: _decimal.Decimal) -> bytes:
        if not isinstance(value, _decimal.Decimal):
            raise ValueError(  # noqa: TRY004 - as Twisted
                "Decimal can only encode instances of decimal.Decimal"
            )
        return str(value).encode("ascii")

    def from_bytes(self, data: bytes) -> _decimal.Decimal:
        try:
            return _decimal.Decimal(data.decode("ascii"))
        except _decimal.InvalidOperation:
            raise ValueError(f"Bad decimal value: {data!r}") from None


class DateTime(Argument):
    """A timezone-aware ``datetime`` as ``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM`` (32 bytes).

    Only the UTC offset travels, so decoded values carry a fixed-offset ``timezone``.
    A zero offset is written ``-00:00``, exactly as Twisted writes it.
    """

    def to_bytes(self, value: _dt.datetime) -> bytes:
        if not isinstance(value, _dt.datetime):
            raise TypeError(f"DateTime argument needs a datetime, got {type(value).__name__}")
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("DateTime cannot serialize naive datetime instances")
        minutes = (offset.days * 86400 + offset.seconds) // 60
        sign = "+" if minutes > 0 else "-"
        text = "%04i-%02i-%02iT%02i:%02i:%02i.%06i%s%02i:%02i" % (  # noqa: UP031 - Twisted's
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            sign,
            abs(minutes) // 60,
            abs(minutes) % 60,
        )
        return text.encode("ascii")

    def from_bytes(self, data: bytes) -> _dt.datetime:
        s = data.decode("ascii")
        if len(s) != 32 or s[26] not in "+-" or s[4] != "-" or s[10] != "T":
            raise ValueError(f"invalid date format {s!r}")
        hours, minutes = int(s[27:29]), int(s[30:32])
        offset = _dt.timedelta(hours=hours, minutes=minutes)
        tz = _dt.timezone(-offset if s[26] == "-" else offset)
        return _dt.datetime(
            int(s[0:4]),
            int(s[5:7]),
            int(s[8:10]),
            int(s[11:13]),
            int(s[14:16]),
            int(s[17:19]),
            int(s[20:26]),
            tz,
        )


class Path(Argument):
    """A filesystem path as UTF-8 text (Twisted's ``Path``, which carries a ``FilePath``).

    Like ``FilePath``, the path is made absolute (``os.path.abspath``) before it is sent;
    it decodes to a ``pathlib.Path``.
    """

    def to_bytes(self, value: str | os.PathLike[str]) -> bytes:
        text = os.fsdecode(os.fspath(value))
        return os.path.abspath(text).encode("utf-8")

    def from_bytes(self, data: bytes) -> pathlib.Path:
        return pathlib.Path(data.decode("utf-8"))


class ListOf(Argument):
    """A list of one element type; each element is a 16-bit length-prefixed string."""

    def __init__(self, element_type: Argument, optional: bool = False) -> None:
        super().__init__(optional)
        self.element_type = element_type

    def to_bytes(self, value: Iterable[Any]) -> bytes:
        encode = self.element_type.to_bytes
        pack = _U16.pack
        parts: list[bytes] = []
        for element in value:
            data = encode(element)
            if len(data) > MAX_VALUE_LENGTH:
                raise TooLong(f"ListOf element of {len(data)} bytes is over 65,535")
            parts.append(pack(len(data)))
            parts.append(data)
        return b"".join(parts)

    def from_bytes(self, data: bytes) -> list[Any]:
        decode = self.element_type.from_bytes
        view = memoryview(data)
        out: list[Any] = []
        pos, end = 0, len(data)
        while pos < end:
            if pos + 2 > end:
                raise ValueError("ListOf value ends inside a length prefix")
            (size,) = _U16.unpack_from(view, pos)
            pos += 2
            if pos + size > end:
                raise ValueError("ListOf value ends inside an element")
            out.append(decode(data[pos : pos + size]))
            pos += size
        return out

    def __repr__(self) -> str:
        return f"ListOf({self.element_type!r})"


class AmpList(Argument):
    """A list of dicts, each sent as a nested AMP box with sorted keys (as Twisted does).

    ``AmpList([("a", Integer()), ("b", Unicode())])`` carries ``[{"a": 7, "b": "hi"}]``.
    """

    def __init__(
        self, subargs: Sequence[tuple[str | bytes, Argument]], optional: bool = False
    ) -> None:
        super().__init__(optional)
        self.schema = Schema(subargs, sort=True)
        self._encode = self.schema.encoder()
        self._decode = self.schema.decode

    def to_bytes(self, value: Iterable[Mapping[str, Any]]) -> bytes:
        encode = self._encode
        try:
            return encode_boxes([encode(item) for item in value])
        except KeyError as exc:
            raise ValueError(f"AmpList element lacks {exc}") from None
        except JuiceError as exc:
            raise TooLong(str(exc)) from None

    def from_bytes(self, data: bytes) -> list[dict[str, Any]]:
        decoder = BoxDecoder(max_box_size=MAX_VALUE_LENGTH + 1)
        try:
            boxes = decoder.feed(data)
        except JuiceError as exc:
            raise ValueError(f"malformed AmpList value: {exc}") from None
        if decoder.buffered:
            raise ValueError("AmpList value ends inside a box")
        decode = self._decode
        return [decode(box) for box in boxes]

    def __repr__(self) -> str:
        inner = ", ".join(f"({f.wire!r}, {f.argument!r})" for f in self.schema.fields)
        return f"AmpList([{inner}])"


__all__ = [
    "AmpList",
    "Argument",
    "Boolean",
    "DateTime",
    "Decimal",
    "Float",
    "Integer",
    "ListOf",
    "Path",
    "String",
    "Unicode",
]
