"""Typed payloads of session channels and port forwarding (RFC 4254 §6, §7, §8).

Why typed: the connection core moves opaque request data; the adapter and the session
classes want values.  Each class has ``encode() -> bytes`` (the type-specific data after
the request name and want-reply flag, or after the channel-open header) and
``decode(data)``, which raises ProtocolError on bad data.  :func:`decode_request` picks the
class by request name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .constants import DisconnectReason, TerminalMode
from .errors import ProtocolError
from .wire import Reader, Writer

__all__ = [
    "REQUESTS", "CancelTcpipForward", "DirectTcpip", "Env", "Exec", "ExitSignal", "ExitStatus",
    "ForwardedTcpip", "PtyRequest", "Shell", "Signal", "Subsystem", "TcpipForward",
    "TcpipForwardReply", "WindowChange", "decode_modes", "decode_request", "encode_modes",
]

MAX_TERM = 256
MAX_MODES = 4096
MAX_ENV = 32768
MAX_COMMAND = 65536
MAX_HOST = 1024
MAX_DIMENSION = 1 << 16   # cols/rows/pixels beyond this are nonsense; refused


def encode_modes(modes: dict[int, int]) -> bytes:
    """Encoded terminal modes: (byte opcode, uint32 value)*, TTY_OP_END (RFC 4254 §8)."""
    w = Writer()
    for opcode, value in modes.items():
        if not 0 < opcode < 160:
            raise ValueError(f"terminal mode opcode {opcode} is not in 1..159")
        w.byte(opcode).uint32(value)
    return w.byte(TerminalMode.TTY_OP_END).getvalue()


def decode_modes(data: bytes) -> dict[int, int]:
    """``{opcode: value}``; parsing stops at TTY_OP_END or at an opcode of 160 or more (whose
    argument size is unknown, RFC 4254 §8)."""
    r = Reader(data)
    modes: dict[int, int] = {}
    while r.remaining:
        opcode = r.byte()
        if opcode == TerminalMode.TTY_OP_END or opcode >= 160:
            break
        modes[opcode] = r.uint32()
    return modes


def _text(r: Reader, limit: int) -> str:
    return r.text(limit)


def _dimension(r: Reader, what: str) -> int:
    value = r.uint32()
    if value > MAX_DIMENSION:
        raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, f"{what} of {value} is too large")
    return value


def _strip_sig(name: str) -> str:
    return name.removeprefix("SIG")


@dataclass(frozen=True)
class PtyRequest:
    request: ClassVar[str] = "pty-req"
    term: str
    cols: int
    rows: int
    width_px: int = 0
    height_px: int = 0
    modes: dict[int, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        return (Writer().string(self.term).uint32(self.cols).uint32(self.rows)
                .uint32(self.width_px).uint32(self.height_px)
                .string(encode_modes(self.modes)).getvalue())

    @classmethod
    def decode(cls, data: bytes) -> PtyRequest:
        r = Reader(data)
        term = _text(r, MAX_TERM)
        cols, rows = _dimension(r, "cols"), _dimension(r, "rows")
        width, height = _dimension(r, "width"), _dimension(r, "height")
        modes = decode_modes(r.string(MAX_MODES))
        r.end()
        return cls(term, cols, rows, width, height, modes)


@dataclass(frozen=True)
class Env:
    request: ClassVar[str] = "env"
    name: str
    value: str

    def encode(self) -> bytes:
        return Writer().string(self.name).string(self.value).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Env:
        r = Reader(data)
        name, value = _text(r, 256), _text(r, MAX_ENV)
        r.end()
        return cls(name, value)


@dataclass(frozen=True)
class Exec:
    request: ClassVar[str] = "exec"
    command: str   # not always UTF-8: undecodable bytes are kept as surrogates

    def encode(self) -> bytes:
        return Writer().string(self.command.encode("utf-8", "surrogateescape")).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Exec:
        r = Reader(data)
        command = r.string(MAX_COMMAND).decode("utf-8", "surrogateescape")
        r.end()
        return cls(command)


@dataclass(frozen=True)
class Shell:
    request: ClassVar[str] = "shell"

    def encode(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, data: bytes) -> Shell:
        Reader(data).end()
        return cls()


@dataclass(frozen=True)
class Subsystem:
    request: ClassVar[str] = "subsystem"
    name: str

    def encode(self) -> bytes:
        return Writer().string(self.name).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Subsystem:
        r = Reader(data)
        name = _text(r, 256)
        r.end()
        return cls(name)


@dataclass(frozen=True)
class WindowChange:
    request: ClassVar[str] = "window-change"
    cols: int
    rows: int
    width_px: int = 0
    height_px: int = 0

    def encode(self) -> bytes:
        return (Writer().uint32(self.cols).uint32(self.rows).uint32(self.width_px)
                .uint32(self.height_px).getvalue())

    @classmethod
    def decode(cls, data: bytes) -> WindowChange:
        r = Reader(data)
        values = [_dimension(r, what) for what in ("cols", "rows", "width", "height")]
        r.end()
        return cls(*values)


@dataclass(frozen=True)
class Signal:
    """A signal to deliver, named without the SIG prefix ("TERM", "INT"...)."""

    request: ClassVar[str] = "signal"
    name: str

    def encode(self) -> bytes:
        return Writer().string(_strip_sig(self.name)).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Signal:
        r = Reader(data)
        name = _strip_sig(_text(r, 64))
        r.end()
        return cls(name)


@dataclass(frozen=True)
class ExitStatus:
    request: ClassVar[str] = "exit-status"
    code: int

    def encode(self) -> bytes:
        return Writer().uint32(self.code).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> ExitStatus:
        r = Reader(data)
        code = r.uint32()
        r.end()
        return cls(code)


@dataclass(frozen=True)
class ExitSignal:
    """The command died of a signal, named without the SIG prefix."""

    request: ClassVar[str] = "exit-signal"
    name: str
    core_dumped: bool = False
    message: str = ""
    language: str = ""

    def encode(self) -> bytes:
        return (Writer().string(_strip_sig(self.name)).boolean(self.core_dumped)
                .string(self.message).string(self.language).getvalue())

    @classmethod
    def decode(cls, data: bytes) -> ExitSignal:
        r = Reader(data)
        name = _strip_sig(_text(r, 64))
        core = r.boolean()
        message = _text(r, 4096)
        language = _text(r, 256)
        r.end()
        return cls(name, core, message, language)


def _port(r: Reader) -> int:
    port = r.uint32()
    if port > 65535:
        raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, f"port {port} out of range")
    return port


@dataclass(frozen=True)
class DirectTcpip:
    """The data of a "direct-tcpip" channel open (local forwarding, RFC 4254 §7.2)."""

    kind: ClassVar[str] = "direct-tcpip"
    host: str
    port: int
    origin_host: str = "127.0.0.1"
    origin_port: int = 0

    def encode(self) -> bytes:
        return (Writer().string(self.host).uint32(self.port).string(self.origin_host)
                .uint32(self.origin_port).getvalue())

    @classmethod
    def decode(cls, data: bytes) -> DirectTcpip:
        r = Reader(data)
        host, port = _text(r, MAX_HOST), _port(r)
        origin_host, origin_port = _text(r, MAX_HOST), _port(r)
        r.end()
        return cls(host, port, origin_host, origin_port)


@dataclass(frozen=True)
class ForwardedTcpip:
    """The data of a "forwarded-tcpip" channel open (remote forwarding, RFC 4254 §7.2)."""

    kind: ClassVar[str] = "forwarded-tcpip"
    address: str
    port: int
    origin_host: str = "127.0.0.1"
    origin_port: int = 0

    def encode(self) -> bytes:
        return (Writer().string(self.address).uint32(self.port).string(self.origin_host)
                .uint32(self.origin_port).getvalue())

    @classmethod
    def decode(cls, data: bytes) -> ForwardedTcpip:
        r = Reader(data)
        address, port = _text(r, MAX_HOST), _port(r)
        origin_host, origin_port = _text(r, MAX_HOST), _port(r)
        r.end()
        return cls(address, port, origin_host, origin_port)


@dataclass(frozen=True)
class TcpipForward:
    """The "tcpip-forward" global request: listen on ``address``:``port`` (0 = any port)."""

    request: ClassVar[str] = "tcpip-forward"
    address: str
    port: int

    def encode(self) -> bytes:
        return Writer().string(self.address).uint32(self.port).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> TcpipForward:
        r = Reader(data)
        address, port = _text(r, MAX_HOST), _port(r)
        r.end()
        return cls(address, port)


@dataclass(frozen=True)
class CancelTcpipForward:
    request: ClassVar[str] = "cancel-tcpip-forward"
    address: str
    port: int

    def encode(self) -> bytes:
        return Writer().string(self.address).uint32(self.port).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> CancelTcpipForward:
        r = Reader(data)
        address, port = _text(r, MAX_HOST), _port(r)
        r.end()
        return cls(address, port)


@dataclass(frozen=True)
class TcpipForwardReply:
    """REQUEST_SUCCESS data of a tcpip-forward to port 0: the port bound (RFC 4254 §7.1)."""

    port: int

    def encode(self) -> bytes:
        return Writer().uint32(self.port).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> TcpipForwardReply:
        r = Reader(data)
        port = _port(r)
        r.end()
        return cls(port)


Request = (PtyRequest | Env | Exec | Shell | Subsystem | WindowChange | Signal | ExitStatus
           | ExitSignal | TcpipForward | CancelTcpipForward)

REQUESTS: dict[str, type[Request]] = {
    cls.request: cls for cls in (PtyRequest, Env, Exec, Shell, Subsystem, WindowChange, Signal,
                              ExitStatus, ExitSignal, TcpipForward, CancelTcpipForward)
}


def decode_request(name: str, data: bytes) -> Request | None:
    """The typed request for ``name``, None for a request this module does not know;
    ProtocolError if the data is malformed."""
    cls = REQUESTS.get(name)
    return None if cls is None else cls.decode(data)
