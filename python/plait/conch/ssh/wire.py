"""SSH data types on the wire (RFC 4251 §5): a :class:`Writer` that builds a payload and a
:class:`Reader` that takes one apart, raising :class:`ProtocolError` on short or bad data.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable

from .constants import DisconnectReason
from .errors import ProtocolError

__all__ = ["MAX_STRING", "Reader", "Writer", "mpint", "name_list", "string", "uint32"]

MAX_STRING = 1 << 20   # no field of a packet can be larger than the packet limit anyway

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def uint32(value: int) -> bytes:
    return _U32.pack(value)


def string(value: bytes | str) -> bytes:
    """An SSH ``string``: uint32 length then the bytes (text is UTF-8)."""
    if isinstance(value, str):
        value = value.encode()
    return _U32.pack(len(value)) + value


def mpint(value: int) -> bytes:
    """An SSH ``mpint``: two's complement, big-endian, minimal, as a string."""
    if value == 0:
        return _U32.pack(0)
    length = (value.bit_length() + 8) // 8 if value > 0 else (-value - 1).bit_length() // 8 + 1
    return string(value.to_bytes(length, "big", signed=True))


def name_list(names: Iterable[str]) -> bytes:
    """An SSH ``name-list``: comma-separated ASCII names as a string."""
    return string(",".join(names).encode("ascii"))


class Writer:
    """Appends fields to a payload; ``bytes(w)`` or ``w.getvalue()`` is the result."""

    __slots__ = ("_parts",)

    def __init__(self, msg: int | None = None) -> None:
        self._parts: list[bytes] = [] if msg is None else [bytes((msg,))]

    def byte(self, value: int) -> Writer:
        self._parts.append(bytes((value,)))
        return self

    def boolean(self, value: bool) -> Writer:
        self._parts.append(b"\x01" if value else b"\x00")
        return self

    def uint32(self, value: int) -> Writer:
        self._parts.append(_U32.pack(value))
        return self

    def uint64(self, value: int) -> Writer:
        self._parts.append(_U64.pack(value))
        return self

    def string(self, value: bytes | str) -> Writer:
        self._parts.append(string(value))
        return self

    def mpint(self, value: int) -> Writer:
        self._parts.append(mpint(value))
        return self

    def name_list(self, names: Iterable[str]) -> Writer:
        self._parts.append(name_list(names))
        return self

    def raw(self, data: bytes) -> Writer:
        self._parts.append(data)
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)

    __bytes__ = getvalue


class Reader:
    """Reads fields from a payload in order; :meth:`end` checks nothing is left over."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = data
        self._pos = pos

    def _fail(self, what: str) -> ProtocolError:
        return ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                             f"malformed message: {what} at offset {self._pos}")

    def _take(self, n: int, what: str) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise self._fail(f"{what} runs past the end")
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def byte(self) -> int:
        return self._take(1, "byte")[0]

    def boolean(self) -> bool:
        return self._take(1, "boolean")[0] != 0

    def uint32(self) -> int:
        return int(_U32.unpack(self._take(4, "uint32"))[0])

    def uint64(self) -> int:
        return int(_U64.unpack(self._take(8, "uint64"))[0])

    def string(self, max_length: int = MAX_STRING) -> bytes:
        length = self.uint32()
        if length > max_length:
            raise self._fail(f"string of {length} bytes (limit {max_length})")
        return self._take(length, "string")

    def text(self, max_length: int = MAX_STRING) -> str:
        """A string that must be UTF-8."""
        raw = self.string(max_length)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise self._fail("string is not UTF-8") from None

    def mpint(self) -> int:
        raw = self.string(16384)
        return int.from_bytes(raw, "big", signed=True) if raw else 0

    def name_list(self) -> list[str]:
        raw = self.string(65536)
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise self._fail("name-list is not ASCII") from None
        return text.split(",") if text else []

    def rest(self) -> bytes:
        chunk = self._data[self._pos:]
        self._pos = len(self._data)
        return chunk

    def end(self) -> None:
        """Raise unless every byte was read."""
        if self._pos != len(self._data):
            raise self._fail(f"{len(self._data) - self._pos} trailing bytes")
