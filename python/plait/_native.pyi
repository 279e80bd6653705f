"""Type stubs for ``plait._native``, the Rust extension (``native/pyext``)."""

from collections.abc import Iterable, Mapping
from typing import Self, final

__all__ = ["__version__", "JuiceError", "BoxDecoder", "encode_box", "encode_boxes"]

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
    def feed(self, data: bytes | bytearray | memoryview) -> list[dict[bytes, bytes]]:
        """Feed bytes; return the boxes they complete, in order. Raises JuiceError."""
    @property
    def buffered(self) -> int:
        """Bytes held of an incomplete box."""

def encode_box(box: Mapping[bytes | str, bytes | str]) -> bytes:
    """Encode one box; ``str`` keys and values are encoded as UTF-8.

    Raises JuiceError on an empty key, a key over 255 bytes or a value over 65,535 bytes,
    TypeError on a key or value that is neither bytes nor str.
    """

def encode_boxes(boxes: Iterable[Mapping[bytes | str, bytes | str]]) -> bytes:
    """Encode boxes one after another into one bytes object."""
