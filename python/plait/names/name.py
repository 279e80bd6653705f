"""Domain names: label sequences compared without regard to ASCII case."""
from __future__ import annotations

from collections.abc import Iterable
from functools import total_ordering

__all__ = ["ROOT", "Name"]

_ESCAPED = frozenset(b'.\\"();@$')


@total_ordering
class Name:
    """An absolute domain name, held in uncompressed wire form.

    Equality and hashing ignore ASCII case; ordering is DNSSEC canonical order (RFC 4034
    §6.1). Build one with :meth:`from_text`, :meth:`from_labels` or :meth:`from_wire`.
    """

    # The native decoder (DnsDecoder) fills these two slots directly: _wire as read, _key
    # its lowercase form (the same object when the name has no uppercase letter).
    __slots__ = ("_key", "_wire")

    def __init__(self, wire: bytes) -> None:
        """Wrap uncompressed wire bytes as they come from the codec (not checked)."""
        self._wire = wire
        self._key = wire.lower()

    @classmethod
    def from_wire(cls, wire: bytes) -> Name:
        """A name from uncompressed wire bytes, checked."""
        labels: list[bytes] = []
        pos = 0
        while True:
            if pos >= len(wire):
                raise ValueError("name does not end with the root label")
            n = wire[pos]
            if n == 0:
                if pos + 1 != len(wire):
                    raise ValueError("bytes after the root label")
                return cls.from_labels(labels)
            if n > 63:
                raise ValueError("label longer than 63 bytes")
            labels.append(wire[pos + 1:pos + 1 + n])
            pos += 1 + n

    @classmethod
    def from_labels(cls, labels: Iterable[bytes | str]) -> Name:
        """A name from its labels, most specific first (the root label implied)."""
        parts = []
        for label in labels:
            raw = label.encode("ascii") if isinstance(label, str) else bytes(label)
            if not raw:
                raise ValueError("empty label")
            if len(raw) > 63:
                raise ValueError(f"label longer than 63 bytes: {raw[:16]!r}...")
            parts.append(bytes((len(raw),)) + raw)
        wire = b"".join(parts) + b"\x00"
        if len(wire) > 255:
            raise ValueError("name longer than 255 bytes")
        return cls(wire)

    @classmethod
    def from_text(cls, text: str, origin: Name | None = None) -> Name:
        """A name from presentation text (``\\.`` and ``\\DDD`` escapes allowed).

        Text without a final dot is relative to ``origin`` (the root if None); ``@`` is the
        origin itself.
        """
        if text == "@":
            return origin if origin is not None else ROOT
        if text == ".":
            return ROOT
        labels: list[bytes] = []
        cur = bytearray()
        data = text.encode("utf-8")
        i = 0
        absolute = False
        while i < len(data):
            c = data[i]
            if c == 0x5C:  # backslash
                digits = data[i + 1:i + 4]
                if len(digits) == 3 and digits.isdigit():
                    value = int(digits)
                    if value > 255:
                        raise ValueError(f"bad escape in {text!r}")
                    cur.append(value)
                    i += 4
                    continue
                if i + 1 >= len(data):
                    raise ValueError(f"trailing backslash in {text!r}")
                cur.append(data[i + 1])
                i += 2
                continue
            if c == 0x2E:  # dot
                if not cur:
                    raise ValueError(f"empty label in {text!r}")
                labels.append(bytes(cur))
                cur.clear()
                if i == len(data) - 1:
                    absolute = True
            else:
                cur.append(c)
            i += 1
        if cur:
            labels.append(bytes(cur))
        name = cls.from_labels(labels)
        if not absolute and origin is not None and not origin.is_root():
            return name.concatenate(origin)
        return name

    @property
    def wire(self) -> bytes:
        """The uncompressed wire form."""
        return self._wire

    @property
    def labels(self) -> tuple[bytes, ...]:
        """The labels, most specific first, without the root label."""
        wire = self._wire
        out = []
        pos = 0
        while (n := wire[pos]) != 0:
            out.append(wire[pos + 1:pos + 1 + n])
            pos += 1 + n
        return tuple(out)

    def is_root(self) -> bool:
        """Whether this is the root name."""
        return self._wire == b"\x00"

    def is_subdomain(self, other: Name) -> bool:
        """Whether this name is ``other`` or below it."""
        mine, theirs = self.labels, other.labels
        if len(theirs) > len(mine):
            return False
        return all(a.lower() == b.lower() for a, b in zip(reversed(mine), reversed(theirs)))

    def parent(self) -> Name:
        """The name with its first label removed. Raises ValueError on the root."""
        if self.is_root():
            raise ValueError("the root has no parent")
        return Name(self._wire[1 + self._wire[0]:])

    def concatenate(self, suffix: Name) -> Name:
        """This name (taken as relative) followed by ``suffix``."""
        wire = self._wire[:-1] + suffix._wire
        if len(wire) > 255:
            raise ValueError("name longer than 255 bytes")
        return Name(wire)

    def canonical_key(self) -> tuple[bytes, ...]:
        """The sort key of canonical ordering: lowercased labels from the root down."""
        return tuple(reversed(Name(self._key).labels))

    def to_text(self) -> str:
        """Presentation text ending with a dot, special characters escaped."""
        if self._wire == b"\x00":
            return "."
        out = []
        for label in self.labels:
            if label.isalnum() or all(0x21 <= c <= 0x7E and c not in _ESCAPED for c in label):
                out.append(label.decode("ascii"))
                continue
            chars = []
            for c in label:
                if c in _ESCAPED:
                    chars.append("\\" + chr(c))
                elif 0x21 <= c <= 0x7E:
                    chars.append(chr(c))
                else:
                    chars.append(f"\\{c:03d}")
            out.append("".join(chars))
        return ".".join(out) + "."

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"Name({self.to_text()!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Name):
            return self._key == other._key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, Name):
            return self.canonical_key() < other.canonical_key()
        return NotImplemented

    def __reduce__(self) -> tuple[type[Name], tuple[bytes]]:
        return (Name, (self._wire,))


ROOT = Name(b"\x00")
