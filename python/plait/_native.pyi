"""Type stubs for ``plait._native``, the Rust extension (``native/pyext``)."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Self, TypeAlias, final, overload

from typing_extensions import Buffer

__all__ = [
    "PTCP_BATCH_IO",
    "SNTRUP761_CIPHERTEXT_SIZE",
    "SNTRUP761_PUBLIC_KEY_SIZE",
    "SSH_CIPHERS",
    "SSH_MACS",
    "ArgumentSchema",
    "BoxDecoder",
    "DNSFormatError",
    "DnsCatalog",
    "DnsDecoder",
    "DnsUdpPump",
    "JuiceError",
    "PtcpEndpoint",
    "PtcpError",
    "ResponderTable",
    "Sntrup761KeyPair",
    "SshPacketError",
    "SshPacketLayer",
    "__version__",
    "dns_render",
    "encode_box",
    "encode_boxes",
    "sntrup761_encapsulate",
]

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
    def feed_amp(
        self,
        data: Buffer,
        protocol: Any,
        pending: dict[bytes, tuple[Any, Any, ArgumentSchema | None]],
        outbox: list[Any],
        table: ResponderTable | None,
    ) -> int:
        """Feed bytes to an AMP connection and handle the boxes they complete, in order.

        Answers whose pending entry ``(future, command, codec)`` has a native codec resolve
        the future; commands in ``table`` are answered into ``outbox``; everything else goes
        to ``protocol._box_received(dict)`` (or a responder's outcome to
        ``protocol._responder_failed`` / ``_responder_returned``).  Stops when
        ``protocol._receiving`` turns false.  Returns how many futures got a result.
        Raises JuiceError after the boxes before a violation were handled.
        """
    @property
    def buffered(self) -> int:
        """Bytes held of an incomplete box."""

@final
class ResponderTable:
    """The responders ``BoxDecoder.feed_amp`` calls itself.

    ``entries`` are ``(command name, command, function, argument codec, answer codec or
    None, positional)``; a function is called as ``function(protocol, *values)`` when
    ``positional``, else as ``function(protocol, **arguments)``.
    """

    def __new__(
        cls,
        entries: Iterable[
            tuple[bytes, Any, Callable[..., Any], ArgumentSchema, ArgumentSchema | None, bool]
        ],
    ) -> Self: ...
    def __len__(self) -> int: ...

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
    def decode(self, box: Mapping[bytes, bytes]) -> dict[str, Any]:
        """The keyword arguments a box carries, as the Python decoder gives them."""

# ---------------------------------------------------------------- DNS wire codec

class DNSFormatError(ValueError):
    """A malformed DNS message; ``offset`` is the byte offset where it went wrong."""

    offset: int

# Typed RDATA is a tuple of its fields in wire order (names as uncompressed wire bytes,
# A/AAAA addresses as text, TXT as a tuple of strings, NSEC type lists as tuples of ints;
# SVCB/HTTPS params as ((key, value), ...) with value a tuple of ints for mandatory, of bytes
# for alpn, of address text for ipv4hint/ipv6hint, an int for port, None for
# no-default-alpn, bytes otherwise; TSIG's time signed an int of 48 bits);
# any other type's RDATA is its bytes (RFC 3597).
_DNSRecord: TypeAlias = tuple[bytes, int, int, int, tuple[Any, ...] | bytes]
_DNSQuestion: TypeAlias = tuple[bytes, int, int]
_DNSEdns: TypeAlias = tuple[int, int, int, list[tuple[int, bytes]]]

@final
class DnsDecoder:
    """Parses DNS messages straight into the ``plait.names`` objects (no tuples between).

    ``classes`` maps "Name", "Message", "Question", "RR", "Edns" and "Opaque" to those
    classes, ``rdata_classes`` each typed record type to its RData class; every one must be
    a slotted class whose fields the codec fills in order (checked here: ValueError or
    TypeError otherwise). Names, address text and option-less EDNS objects that recur
    across parses are handed out again (small bounded tables per decoder).
    """

    def __new__(cls, classes: Mapping[str, type], rdata_classes: Mapping[int, type]) -> Self: ...
    def parse(self, data: Buffer) -> Any:
        """The ``Message`` for a whole wire message. Raises DNSFormatError."""

def dns_render(
    id: int,
    flags: int,
    rcode: int,
    questions: Iterable[_DNSQuestion],
    answers: Iterable[_DNSRecord],
    authority: Iterable[_DNSRecord],
    additional: Iterable[_DNSRecord],
    edns: _DNSEdns | None = None,
    max_size: int | None = None,
) -> bytes:
    """Render a DNS message from the shapes above, compressing names.

    With ``max_size``, whole RRsets are dropped from the end (additional first) and TC is
    set if an answer or authority RRset had to go.  ``rdata`` given as bytes is written
    verbatim.  Raises ValueError or TypeError on fields out of range.
    """

@final
class DnsCatalog:
    """Zones answered natively (the authoritative engine of ``plait.names.authority``).

    Zones are swapped in whole, so readers never see half a zone.  ``answer`` returns the
    response bytes, ``1`` when Python must handle the query (NOTIFY, AXFR/IXFR, or recursion
    for a name in no zone), or None when the query is to be dropped.
    """

    def __new__(cls, *, recursion: bool = False, max_udp_payload: int = 1232) -> Self: ...
    def set_zone(self, origin_wire: bytes, records: Iterable[_DNSRecord]) -> None:
        """Add or replace a zone; ValueError if it cannot be served."""
    def remove_zone(self, origin_wire: bytes) -> bool:
        """Remove a zone; whether there was one."""
    def origins(self) -> list[bytes]:
        """The origins as wire bytes, in canonical order."""
    def node_count(self, origin_wire: bytes) -> int | None:
        """The number of names (empty non-terminals included) in a zone, or None."""
    def answer(self, query: Buffer, tcp: bool = False) -> bytes | int | None:
        """The response to one query (see the class docstring)."""

@final
class DnsUdpPump:
    """Answers the DNS queries arriving on a UDP socket on a native thread, in batches of up
    to 64 datagrams per ``recvmmsg``/``sendmmsg`` (Linux only; the GIL is not taken per query).

    ``fd`` is the socket's descriptor (duplicated: the caller keeps its socket); ``catalog``
    the zones to answer from (later changes apply at once). Queries the catalog passes on
    wait in a queue of at most ``max_queue`` (beyond it they are dropped and counted as
    ``overflow``); ``wakeup_fd`` is readable while some wait, and ``drain()`` takes them.
    The thread runs from construction until ``close()`` (or until the object is dropped).
    """

    def __new__(cls, fd: int, catalog: DnsCatalog, *, max_queue: int = 1024) -> Self: ...
    @property
    def wakeup_fd(self) -> int:
        """The descriptor that is readable while passed queries wait for ``drain()``."""
    @property
    def pending(self) -> int:
        """How many passed queries wait."""
    @property
    def max_queue(self) -> int:
        """The bound on waiting passed queries."""
    @property
    def running(self) -> bool:
        """Whether the thread is still answering."""
    def drain(self, limit: int | None = None) -> list[tuple[bytes, tuple[Any, ...]]]:
        """The waiting passed queries (at most ``limit``), oldest first, as ``(bytes,
        address)`` with addresses as the socket module gives them; resets ``wakeup_fd``."""
    def stats(self) -> dict[str, int]:
        """Counters: received, answered, passed, overflow, dropped, send_errors,
        recv_errors, batches, panics."""
    def close(self) -> None:
        """Stop the thread and wait for it; queued queries can still be drained."""

# ---------------------------------------------------------------- SSH binary packet layer

class SshPacketError(ValueError):
    """A packet the peer got wrong; ``reason`` is the SSH disconnect reason code
    (2 protocol error, 5 MAC error, 6 compression error)."""

    reason: int

SSH_CIPHERS: dict[str, tuple[int, int, int, bool]]
SSH_MACS: dict[str, tuple[int, int, bool]]

@final
class SshPacketLayer:
    """The SSH binary packet protocol for one connection (see ``plait.conch.ssh.packet``)."""

    def __new__(cls, max_packet_length: int = 262144) -> Self: ...
    def feed(self, data: bytes) -> list[bytes]:
        """Whole payloads from the bytes received so far; stops after a NEWKEYS payload."""
    def encode(self, payload: bytes) -> bytes:
        """One packet carrying ``payload``."""
    def encode_many(self, payloads: Sequence[bytes]) -> bytes:
        """Packets for several payloads, concatenated."""
    def encode_batch(self, items: list[bytes | tuple[int, int | None, bytes | memoryview, int]]) -> bytes:
        """Packets for payloads and (recipient, ext, data, chunk) channel data runs, concatenated."""
    def set_encrypt(self, cipher: str, key: bytes, iv: bytes, mac: str | None, mac_key: bytes) -> None: ...
    def set_decrypt(self, cipher: str, key: bytes, iv: bytes, mac: str | None, mac_key: bytes) -> None: ...
    def set_compression(self, outgoing: bool, incoming: bool) -> None: ...
    def reset_sequence_in(self) -> None: ...
    def reset_sequence_out(self) -> None: ...
    def buffered(self) -> int:
        """Bytes received but not yet decoded."""
    @property
    def max_packet_length(self) -> int: ...
    @property
    def paused(self) -> bool: ...
    @property
    def compression(self) -> tuple[bool, bool]: ...
    seq_in: int
    seq_out: int
    @property
    def bytes_in(self) -> int: ...
    @property
    def bytes_out(self) -> int: ...

# ---------------------------------------------------------------- sntrup761 (SSH hybrid kex)

SNTRUP761_PUBLIC_KEY_SIZE: int
SNTRUP761_CIPHERTEXT_SIZE: int

@final
class Sntrup761KeyPair:
    """An sntrup761 key pair for one key exchange; the secret half stays in Rust."""

    def __new__(cls) -> Self: ...
    @staticmethod
    def from_secret_bytes(secret: bytes) -> Sntrup761KeyPair:
        """A key pair from an encoded secret key (known-answer tests)."""
    def public_bytes(self) -> bytes:
        """The encoded public key (1158 bytes)."""
    def decapsulate(self, ciphertext: bytes) -> bytes:
        """The 32-byte shared secret (a forged ciphertext gives a pseudorandom one)."""

def sntrup761_encapsulate(public_key: bytes) -> tuple[bytes, bytes]:
    """``(ciphertext, shared_secret)`` for an encoded sntrup761 public key."""

PTCP_BATCH_IO: bool

class PtcpError(Exception):
    """A PTCP stream operation that cannot be done (unknown or closed connection, stream
    already finished, endpoint full)."""

@final
class PtcpEndpoint:
    """One UDP socket's PTCP connections (the engine of ``plait.vertex.ptcp``)."""

    def __new__(
        cls,
        fd: int | None = None,
        *,
        seed: int | None = None,
        mtu: int = 1400,
        max_connections: int = 1024,
        max_half_open: int = 128,
        send_buffer: int = 2097152,
        recv_buffer: int = 2097152,
        initial_rto: float = 1.0,
        min_rto: float = 0.2,
        max_rto: float = 10.0,
        user_timeout: float = 60.0,
        keepalive_interval: float | None = 15.0,
        keepalive_probes: int = 4,
        time_wait: float = 2.0,
        ack_delay: float = 0.005,
        initial_window: int = 10,
        pacing: bool = True,
        max_foreign: int = 1024,
        max_unsent: int = 65536,
    ) -> Self: ...
    def listen(self, on: bool = True) -> None: ...
    def connect(self, host: str, port: int) -> int: ...
    def receive(self, data: bytes, addr: tuple[str, int]) -> None: ...
    def datagrams_to_send(self) -> list[tuple[bytes, tuple[str, int]]]: ...
    def pump(self) -> int: ...
    def flush(self) -> bool: ...
    def events(self) -> list[tuple[Any, ...]]: ...
    def write(self, h: int, data: bytes) -> int: ...
    def close(self, h: int) -> None: ...
    def reset(self, h: int) -> None: ...
    def pause_reading(self, h: int) -> None: ...
    def resume_reading(self, h: int) -> None: ...
    def send_buffered(self, h: int) -> int: ...
    def send_room(self, h: int) -> int: ...
    def state(self, h: int) -> str: ...
    def remote(self, h: int) -> tuple[str, int]: ...
    def path_stats(self, h: int) -> tuple[float | None, int]: ...
    def timeout(self) -> float | None: ...
    def handle_timeout(self) -> None: ...
    @property
    def connection_count(self) -> int: ...
    def stats(self) -> dict[str, int]: ...
