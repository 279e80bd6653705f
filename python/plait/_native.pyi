"""Type stubs for ``plait._native``, the Rust extension (``native/pyext``)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self, final, overload

from typing_extensions import Buffer

__all__ = ["ArgumentSchema", "BoxDecoder", "JuiceError", "RawBox", "__version__", "encode_box", "encode_boxes"]

__version__: str

class JuiceError(ValueError):
    """An AMP framing violation; the message says what and where.

    When raised by :meth:`BoxDecoder.feed`, ``boxes`` holds the boxes completed in that same
    chunk before the violation (empty otherwise).
    """

    boxes: list[dict[bytes, bytes]]

@final
class BoxDecoder:
    """An incremental AMP box decoder: feed bytes in any chunking, get complete boxes.

    ``max_box_size`` counts every byte of a box on the wire (length prefixes, keys, values and
    the terminator); ``max_keys`` caps the keys of one box. After a :class:`JuiceError` the
    decoder stays failed and every later ``feed`` raises it again.
    """

    def __new__(cls, max_box_size: int = 4194304, max_keys: int = 1024) -> Self: ...
    def feed(self, data: Buffer) -> list[dict[bytes, bytes]]:
        """Feed bytes; return the boxes they complete, in order. Raises JuiceError.

        ``data`` is bytes, bytearray, memoryview or any object exporting a contiguous buffer;
        it is read in place, not copied first.
        """
    def feed_raw(
        self, data: Buffer
    ) -> list[tuple[bytes | None, bytes | None, bytes | None, RawBox]]:
        """Feed bytes; return the boxes they complete as ``(answer, command, ask, box)``:
        the values of ``_answer``, ``_command`` and ``_ask`` (or None) and the box kept as
        its wire bytes.  Raises JuiceError as ``feed`` does (``boxes`` holds dicts).
        """
    @property
    def buffered(self) -> int:
        """Bytes held of an incomplete box."""

@final
class RawBox:
    """One received box kept as its wire bytes, for ``ArgumentSchema.decode`` to read the
    values it needs from directly."""

    def to_dict(self) -> dict[bytes, bytes]:
        """The box as ``dict[bytes, bytes]``, as ``BoxDecoder.feed`` gives it."""

# Mapping is invariant in its key type, so one overload per key type: a ``dict[bytes, bytes]``
# or ``dict[str, str]`` is accepted, and the first overload gives a mixed dict literal its type.
@overload
def encode_box(box: Mapping[bytes | str, bytes | str]) -> bytes:
    """Encode one box, keys in the mapping's order; ``str`` keys and values become UTF-8.

    Raises JuiceError on an empty key, a key over 255 bytes or a value over 65,535 bytes,
    TypeError on a key or value that is neither bytes nor str.
    """

@overload
def encode_box(box: Mapping[bytes, bytes | str]) -> bytes: ...
@overload
def encode_box(box: Mapping[str, bytes | str]) -> bytes: ...
@overload
def encode_boxes(boxes: Iterable[Mapping[bytes | str, bytes | str]]) -> bytes:
    """Encode boxes one after another into one bytes object."""

@overload
def encode_boxes(boxes: Iterable[Mapping[bytes, bytes | str]]) -> bytes: ...
@overload
def encode_boxes(boxes: Iterable[Mapping[str, bytes | str]]) -> bytes: ...

@final
class ArgumentSchema:
    """A command's simple-typed arguments (Integer, String, Unicode, Boolean, Float), encoded
    and decoded natively, byte for byte as the Python argument classes do.

    ``fields`` are ``(wire key, Python name, type name, optional)``; ``head`` pairs start
    every box, then the ``tag_key`` pair.  ``strict`` makes unexpected names fall back.
    Anything the native codec does not handle exactly goes back to the Python codec:
    ``encode`` returns None, ``decode`` calls ``fallback``.
    """

    def __new__(
        cls,
        fields: Sequence[tuple[bytes, str, str, bool]],
        head: Sequence[tuple[bytes, bytes]],
        tag_key: bytes | None,
        strict: bool,
        fallback: Callable[[Mapping[bytes, bytes]], dict[str, Any]],
    ) -> Self: ...
    def encode(self, values: object, tag: object) -> bytes | None:
        """The wire bytes of one box (head, tag, values), or None for the Python codec."""
    def decode(self, box: Mapping[bytes, bytes] | RawBox) -> dict[str, Any]:
        """The keyword arguments a box carries, as the Python decoder gives them."""
