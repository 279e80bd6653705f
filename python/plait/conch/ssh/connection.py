"""The SSH connection protocol (RFC 4254) as a sans-IO core: channels, flow control, requests.

Why a core of its own: the window/max-packet bookkeeping, the ordering of request replies and
the close handshake are where SSH implementations go wrong; kept apart from sockets they can
be driven byte for byte by tests.  The adapter feeds it whole payloads (message numbers
80..100) from the transport, sends what :meth:`Connection.payloads_to_send` returns, and
reads events.  Flow control is explicit: incoming data re-opens our window only once the
application says it has :meth:`~Connection.consumed` it, so a slow reader pushes back.
"""
from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .constants import ChannelOpenFailure, DisconnectReason, Msg
from .errors import ChannelOpenError, ProtocolError
from .wire import Reader, Writer

__all__ = [
    "ChannelClosed", "ChannelData", "ChannelEOF", "ChannelOpenFailed", "ChannelOpenRequested",
    "ChannelOpened", "ChannelRequest", "ChannelRequestReply", "Connection", "DataRun", "Event",
    "GlobalRequest", "GlobalRequestReply", "WindowOpened", "frame", "owned",
]

MAX_WINDOW = (1 << 32) - 1
_DATA_HEADER = struct.Struct(">BII")     # CHANNEL_DATA, recipient, data length
_EXT_HEADER = struct.Struct(">BIII")     # CHANNEL_EXTENDED_DATA, recipient, type, length

#: Channel data ready to go out: (recipient, ext or None, data, chunk) -- the packet layer
#: (``PacketLayer.encode_batch``) frames it as CHANNEL_DATA messages of at most ``chunk``.
DataRun = tuple[int, "int | None", "bytes | memoryview", int]


def frame(items: list[bytes | DataRun]) -> list[bytes]:
    """Payloads and data runs as separate messages (what ``PacketLayer.encode_batch`` does
    natively): CHANNEL_DATA / CHANNEL_EXTENDED_DATA of at most ``chunk`` data bytes each."""
    out: list[bytes] = []
    for item in items:
        if isinstance(item, bytes):
            out.append(item)
            continue
        recipient, ext, data, chunk = item
        for i in range(0, len(data), chunk):
            piece = bytes(data[i:i + chunk])
            if ext is None:
                out.append(_DATA_HEADER.pack(Msg.CHANNEL_DATA, recipient, len(piece)) + piece)
            else:
                out.append(_EXT_HEADER.pack(Msg.CHANNEL_EXTENDED_DATA, recipient, ext,
                                            len(piece)) + piece)
    return out


def owned(data: bytes | bytearray | memoryview) -> bytes | memoryview:
    """``data`` safe to hold until sent: bytes, or a byte view of immutable bytes as is
    (no copy of a large write); anything mutable is copied."""
    if type(data) is bytes:
        return data
    if isinstance(data, memoryview) and type(data.obj) is bytes and data.c_contiguous:
        return data.cast("B") if data.format != "B" else data
    return bytes(data)
KEEPALIVE = "keepalive@openssh.com"


@dataclass(frozen=True)
class ChannelOpenRequested:
    """The peer asks to open a channel: answer with accept_channel or reject_channel."""

    channel: int
    kind: str
    extra: bytes


@dataclass(frozen=True)
class ChannelOpened:
    """A channel we opened was confirmed; ``extra`` is the type-specific confirmation data."""

    channel: int
    extra: bytes


@dataclass(frozen=True)
class ChannelOpenFailed:
    channel: int
    code: int
    description: str


@dataclass(frozen=True)
class ChannelData:
    """Data received; ``ext`` is None for normal data, 1 (stderr) for extended data."""

    channel: int
    data: bytes = field(repr=False)
    ext: int | None = None


@dataclass(frozen=True)
class ChannelEOF:
    channel: int


@dataclass(frozen=True)
class ChannelClosed:
    """Both sides sent CHANNEL_CLOSE: the channel id is free again."""

    channel: int


@dataclass(frozen=True)
class ChannelRequest:
    """A channel request; if ``want_reply`` the application must call reply_request."""

    channel: int
    name: str
    want_reply: bool
    data: bytes


@dataclass(frozen=True)
class ChannelRequestReply:
    """The reply to our oldest channel request sent with want_reply (``name`` says which)."""

    channel: int
    ok: bool
    name: str = ""


@dataclass(frozen=True)
class GlobalRequest:
    """A global request; if ``want_reply`` the application must call reply_global."""

    name: str
    want_reply: bool
    data: bytes


@dataclass(frozen=True)
class GlobalRequestReply:
    """The reply to our oldest global request sent with want_reply; ``data`` is the
    REQUEST_SUCCESS payload (the bound port of a tcpip-forward to port 0)."""

    ok: bool
    data: bytes = b""
    name: str = ""


@dataclass(frozen=True)
class WindowOpened:
    """The peer enlarged its window while we held data back: writers may resume."""

    channel: int


Event = (ChannelOpenRequested | ChannelOpened | ChannelOpenFailed | ChannelData | ChannelEOF
         | ChannelClosed | ChannelRequest | ChannelRequestReply | GlobalRequest
         | GlobalRequestReply | WindowOpened)


def _protocol_error(description: str) -> ProtocolError:
    return ProtocolError(DisconnectReason.PROTOCOL_ERROR, description)


class _Channel:
    __slots__ = (
        "close_received", "close_sent", "close_wanted", "consumed", "eof_received", "eof_sent",
        "eof_wanted", "id", "kind", "local_window", "outbuf", "outbuf_size", "remote_id",
        "remote_max_packet", "remote_window", "replies_in", "requests_out", "state", "we_opened",
    )

    def __init__(self, local_id: int, kind: str, we_opened: bool, local_window: int) -> None:
        self.id = local_id
        self.kind = kind
        self.we_opened = we_opened
        self.state = "opening"            # opening -> open -> (freed); or opening -> (failed)
        self.remote_id = 0
        self.remote_window = 0
        self.remote_max_packet = 0
        self.local_window = local_window  # what the peer may still send us
        self.consumed = 0                 # received and consumed, not yet given back
        self.outbuf: deque[tuple[int | None, bytes | memoryview]] = deque()
        self.outbuf_size = 0
        self.eof_wanted = self.eof_sent = self.eof_received = False
        self.close_wanted = self.close_sent = self.close_received = False
        self.requests_out: deque[str] = deque()         # names awaiting the peer's reply
        self.replies_in: deque[bool | None] = deque()   # our replies, sent in order when known


class Connection:
    """Channels over an authenticated transport (RFC 4254).

    ``window`` and ``max_packet`` are what we advertise for each channel; ``max_channels``
    bounds the channels open at once, ``max_request_size`` the type-specific data of an
    incoming open or request (larger ones are refused, not delivered), ``max_pending`` the
    requests the peer may have waiting for our reply; ``max_send_chunk`` caps one data
    message whatever the peer's max packet (it must fit in the peer's packet limit).
    """

    def __init__(self, *, server: bool, window: int = 2 * 1024 * 1024, max_packet: int = 32768,
                 max_channels: int = 64, max_request_size: int = 65536, max_pending: int = 64,
                 max_send_chunk: int = 131072) -> None:
        if not 0 < window <= MAX_WINDOW:
            raise ValueError("window must be in 1..2**32-1")
        if not 0 < max_packet <= window:
            raise ValueError("max_packet must be in 1..window")
        self.server = server
        self.window = window
        self.max_packet = max_packet
        self.max_channels = max_channels
        self.max_request_size = max_request_size
        self.max_pending = max_pending
        self.max_send_chunk = max_send_chunk
        self._channels: dict[int, _Channel] = {}
        self._next_id = 0
        self._out: list[bytes | DataRun] = []
        self._events: deque[Event] = deque()
        self._global_out: deque[str] = deque()
        self._global_in: deque[tuple[bool, bytes] | None] = deque()

    # -- the sans-IO surface ---------------------------------------------------------------

    def payloads_to_send(self) -> list[bytes]:
        """The messages to send, each as its own payload."""
        return frame(self.output())

    def output(self) -> list[bytes | DataRun]:
        """The messages to send, channel data kept as :data:`DataRun` runs (a window's
        worth each) for ``PacketLayer.encode_batch``: no per-packet slicing or joining."""
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_payload(self, payload: bytes) -> None:
        """One whole message 80..100 from the transport; raises ProtocolError on a violation."""
        if not payload:
            raise _protocol_error("empty message")
        msg = payload[0]
        if msg == Msg.CHANNEL_DATA and len(payload) >= 9:   # the hot path, without a Reader
            _, local_id, n = _DATA_HEADER.unpack_from(payload)
            chan = self._channels.get(local_id)
            if n == len(payload) - 9 and chan is not None and chan.state == "open" \
                    and not chan.close_received:
                self._receive(chan, payload[9:], None)
                return
        r = Reader(payload, 1)
        handler = self._handlers.get(msg)
        if handler is None:
            raise _protocol_error(f"message {msg} is not a connection-protocol message")
        handler(self, r)

    # -- queries ---------------------------------------------------------------------------

    def channels(self) -> list[int]:
        return list(self._channels)

    def kind(self, channel: int) -> str:
        return self._get(channel).kind

    def buffered(self, channel: int) -> int:
        """Bytes given to send_data and held back by the peer's window."""
        return self._get(channel).outbuf_size

    def send_window(self, channel: int) -> int:
        return self._get(channel).remote_window

    def remote_max_packet(self, channel: int) -> int:
        return self._get(channel).remote_max_packet

    # -- opening and closing ---------------------------------------------------------------

    def _allocate(self, kind: str, we_opened: bool) -> _Channel | None:
        if len(self._channels) >= self.max_channels:
            return None
        while self._next_id in self._channels:
            self._next_id = (self._next_id + 1) & MAX_WINDOW
        chan = _Channel(self._next_id, kind, we_opened, self.window)
        self._next_id = (self._next_id + 1) & MAX_WINDOW
        self._channels[chan.id] = chan
        return chan

    def open_channel(self, kind: str, extra: bytes = b"") -> int:
        """Ask the peer for a channel; the answer is ChannelOpened or ChannelOpenFailed."""
        chan = self._allocate(kind, True)
        if chan is None:
            raise ChannelOpenError(ChannelOpenFailure.RESOURCE_SHORTAGE,
                                   f"{self.max_channels} channels already open")
        self._out.append(Writer(Msg.CHANNEL_OPEN).string(kind).uint32(chan.id)
                         .uint32(self.window).uint32(self.max_packet).raw(extra).getvalue())
        return chan.id

    def accept_channel(self, channel: int, extra: bytes = b"") -> None:
        chan = self._get(channel)
        if chan.we_opened or chan.state != "opening":
            raise ValueError(f"channel {channel} is not waiting for an answer")
        chan.state = "open"
        self._out.append(Writer(Msg.CHANNEL_OPEN_CONFIRMATION).uint32(chan.remote_id)
                         .uint32(chan.id).uint32(self.window).uint32(self.max_packet)
                         .raw(extra).getvalue())

    def reject_channel(self, channel: int, code: int = ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
                       description: str = "") -> None:
        chan = self._get(channel)
        if chan.we_opened or chan.state != "opening":
            raise ValueError(f"channel {channel} is not waiting for an answer")
        del self._channels[channel]
        self._send_open_failure(chan.remote_id, code, description)

    def _send_open_failure(self, remote_id: int, code: int, description: str) -> None:
        self._out.append(Writer(Msg.CHANNEL_OPEN_FAILURE).uint32(remote_id).uint32(code)
                         .string(description).string(b"").getvalue())

    def send_eof(self, channel: int) -> None:
        """No more data from us; sent after whatever the window still holds back."""
        chan = self._open(channel)
        if chan.eof_wanted or chan.close_wanted:
            return
        chan.eof_wanted = True
        self._flush(chan)

    def close_channel(self, channel: int, *, discard: bool = False) -> None:
        """Close our side: CHANNEL_CLOSE goes once the buffered data is out (at once with
        ``discard``, or if the peer closed already).  ChannelClosed follows the peer's CLOSE."""
        chan = self._get(channel)
        if chan.close_wanted:
            return
        if chan.state != "open" and not chan.we_opened:
            raise ValueError(f"channel {channel} is not open: reject it instead")
        chan.close_wanted = True
        if chan.state != "open":
            return  # closed as soon as the peer confirms it (RFC 4254 §5.3 needs its id)
        if discard or chan.close_received:
            chan.outbuf.clear()
            chan.outbuf_size = 0
        self._flush(chan)

    # -- data ------------------------------------------------------------------------------

    def send_data(self, channel: int, data: bytes | bytearray | memoryview,
                  ext: int | None = None) -> None:
        """Queue data (``ext`` 1 = stderr); sent as the peer's window allows, in pieces of at
        most its max packet; the rest waits for WINDOW_ADJUST (see :meth:`buffered`)."""
        chan = self._open(channel)
        if chan.eof_wanted or chan.close_wanted:
            raise ValueError(f"channel {channel}: data after EOF or close")
        if not data:
            return
        chan.outbuf.append((ext, owned(data)))
        chan.outbuf_size += len(data)
        self._flush(chan)

    def consumed(self, channel: int, n: int) -> None:
        """The application has processed ``n`` received bytes: once half the window is
        consumed, the window is given back to the peer with WINDOW_ADJUST."""
        chan = self._channels.get(channel)
        if chan is None or chan.close_sent:
            return  # the channel is gone or closing: nothing more to let in
        if n < 0 or chan.local_window + chan.consumed + n > self.window:
            raise ValueError(f"channel {channel}: consumed more than was received")
        chan.consumed += n
        if chan.consumed >= self.window // 2 and not chan.close_received:
            self._out.append(Writer(Msg.CHANNEL_WINDOW_ADJUST).uint32(chan.remote_id)
                             .uint32(chan.consumed).getvalue())
            chan.local_window += chan.consumed
            chan.consumed = 0

    def _flush(self, chan: _Channel) -> None:
        if chan.close_sent:
            return
        limit = min(chan.remote_max_packet, self.max_send_chunk)
        out = self._out
        while chan.outbuf and chan.remote_window > 0:
            ext, data = chan.outbuf[0]
            n = min(len(data), chan.remote_window)
            if n == len(data):
                chan.outbuf.popleft()
                piece = data
            else:
                view = memoryview(data)
                piece = view[:n]
                chan.outbuf[0] = (ext, view[n:])
            chan.outbuf_size -= n
            chan.remote_window -= n
            out.append((chan.remote_id, ext, piece, limit))
        if chan.outbuf:
            return
        if chan.eof_wanted and not chan.eof_sent and not chan.close_received:
            chan.eof_sent = True
            out.append(Writer(Msg.CHANNEL_EOF).uint32(chan.remote_id).getvalue())
        if chan.close_wanted:
            self._send_close(chan)

    def _send_close(self, chan: _Channel) -> None:
        if chan.close_sent:
            return
        chan.close_sent = True
        self._out.append(Writer(Msg.CHANNEL_CLOSE).uint32(chan.remote_id).getvalue())
        if chan.close_received:
            self._free(chan)

    def _free(self, chan: _Channel) -> None:
        del self._channels[chan.id]
        self._events.append(ChannelClosed(chan.id))

    # -- requests --------------------------------------------------------------------------

    def send_request(self, channel: int, name: str, data: bytes = b"",
                     want_reply: bool = False) -> None:
        chan = self._open(channel)
        if chan.close_wanted:
            raise ValueError(f"channel {channel} is closing")
        if want_reply:
            chan.requests_out.append(name)
        self._out.append(Writer(Msg.CHANNEL_REQUEST).uint32(chan.remote_id).string(name)
                         .boolean(want_reply).raw(data).getvalue())

    def reply_request(self, channel: int, ok: bool) -> None:
        """Answer the oldest ChannelRequest of ``channel`` that wanted a reply."""
        chan = self._get(channel)
        for i, reply in enumerate(chan.replies_in):
            if reply is None:
                chan.replies_in[i] = ok
                break
        else:
            raise ValueError(f"channel {channel} has no request waiting for a reply")
        self._flush_replies(chan)

    def _flush_replies(self, chan: _Channel) -> None:
        while chan.replies_in and chan.replies_in[0] is not None:
            ok = chan.replies_in.popleft()
            if not chan.close_sent:
                msg = Msg.CHANNEL_SUCCESS if ok else Msg.CHANNEL_FAILURE
                self._out.append(Writer(msg).uint32(chan.remote_id).getvalue())

    def global_request(self, name: str, data: bytes = b"", want_reply: bool = False) -> None:
        if want_reply:
            self._global_out.append(name)
        self._out.append(Writer(Msg.GLOBAL_REQUEST).string(name).boolean(want_reply).raw(data)
                         .getvalue())

    def reply_global(self, ok: bool, data: bytes = b"") -> None:
        """Answer the oldest GlobalRequest that wanted a reply (``data`` goes with success)."""
        for i, reply in enumerate(self._global_in):
            if reply is None:
                self._global_in[i] = (ok, data)
                break
        else:
            raise ValueError("no global request is waiting for a reply")
        self._flush_global_replies()

    def _flush_global_replies(self) -> None:
        while self._global_in and self._global_in[0] is not None:
            ok, data = self._global_in.popleft()  # type: ignore[misc]
            if ok:
                self._out.append(bytes((Msg.REQUEST_SUCCESS,)) + data)
            else:
                self._out.append(bytes((Msg.REQUEST_FAILURE,)))

    # -- helpers ---------------------------------------------------------------------------

    def _get(self, channel: int) -> _Channel:
        chan = self._channels.get(channel)
        if chan is None:
            raise ValueError(f"no channel {channel}")
        return chan

    def _open(self, channel: int) -> _Channel:
        chan = self._get(channel)
        if chan.state != "open":
            raise ValueError(f"channel {channel} is not open")
        return chan

    def _incoming(self, r: Reader, what: str) -> _Channel:
        """The channel a message names, which must be open (and not closed by the peer)."""
        local_id = r.uint32()
        chan = self._channels.get(local_id)
        if chan is None or chan.state != "open":
            raise _protocol_error(f"{what} for unknown channel {local_id}")
        if chan.close_received:
            raise _protocol_error(f"{what} on channel {local_id} after its CLOSE")
        return chan

    # -- incoming messages -----------------------------------------------------------------

    def _on_global_request(self, r: Reader) -> None:
        name = r.text(256)
        want_reply = r.boolean()
        data = r.rest()
        if want_reply and len(self._global_in) >= self.max_pending:
            raise _protocol_error(f"more than {self.max_pending} global requests unanswered")
        if name == KEEPALIVE or len(data) > self.max_request_size:
            # keepalive@openssh.com wants REQUEST_FAILURE (what OpenSSH answers); oversized
            # requests are refused without bothering the application.
            if want_reply:
                self._global_in.append((False, b""))
                self._flush_global_replies()
            return
        if want_reply:
            self._global_in.append(None)
        self._events.append(GlobalRequest(name, want_reply, data))

    def _on_global_reply(self, r: Reader, ok: bool) -> None:
        if not self._global_out:
            raise _protocol_error("global request reply with no request outstanding")
        name = self._global_out.popleft()
        self._events.append(GlobalRequestReply(ok, r.rest() if ok else b"", name))

    def _on_request_success(self, r: Reader) -> None:
        self._on_global_reply(r, True)

    def _on_request_failure(self, r: Reader) -> None:
        self._on_global_reply(r, False)

    def _on_channel_open(self, r: Reader) -> None:
        kind = r.text(256)
        remote_id = r.uint32()
        window = r.uint32()
        max_packet = r.uint32()
        extra = r.rest()
        if max_packet == 0:
            raise _protocol_error("channel open with a max packet of 0")
        refusal: tuple[int, str] | None = None
        if len(extra) > self.max_request_size:
            refusal = (ChannelOpenFailure.RESOURCE_SHORTAGE, "open request too large")
        elif not self.server and kind == "session":
            refusal = (ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
                       "a server may not open session channels")
        elif self.server and kind == "forwarded-tcpip":
            refusal = (ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
                       "a client may not open forwarded-tcpip channels")
        chan = None if refusal else self._allocate(kind, False)
        if chan is None:
            code, text = refusal or (ChannelOpenFailure.RESOURCE_SHORTAGE, "too many channels")
            self._send_open_failure(remote_id, code, text)
            return
        chan.remote_id = remote_id
        chan.remote_window = window
        chan.remote_max_packet = max_packet
        self._events.append(ChannelOpenRequested(chan.id, kind, extra))

    def _opening(self, r: Reader, what: str) -> _Channel:
        local_id = r.uint32()
        chan = self._channels.get(local_id)
        if chan is None or not chan.we_opened or chan.state != "opening":
            raise _protocol_error(f"{what} for channel {local_id}, which is not being opened")
        return chan

    def _on_open_confirmation(self, r: Reader) -> None:
        chan = self._opening(r, "open confirmation")
        chan.remote_id = r.uint32()
        chan.remote_window = r.uint32()
        chan.remote_max_packet = r.uint32()
        if chan.remote_max_packet == 0:
            raise _protocol_error("open confirmation with a max packet of 0")
        chan.state = "open"
        if chan.close_wanted:   # given up while opening: no ChannelOpened, ChannelClosed follows
            self._send_close(chan)
            return
        self._events.append(ChannelOpened(chan.id, r.rest()))

    def _on_open_failure(self, r: Reader) -> None:
        chan = self._opening(r, "open failure")
        code = r.uint32()
        description = r.string().decode("utf-8", "replace")
        del self._channels[chan.id]
        self._events.append(ChannelOpenFailed(chan.id, code, description))

    def _on_window_adjust(self, r: Reader) -> None:
        chan = self._incoming(r, "window adjust")
        n = r.uint32()
        r.end()
        if chan.remote_window + n > MAX_WINDOW:
            raise _protocol_error(f"window adjust on channel {chan.id} overflows the window")
        waiting = chan.outbuf_size > 0
        chan.remote_window += n
        self._flush(chan)
        if waiting and n:
            self._events.append(WindowOpened(chan.id))

    def _receive(self, chan: _Channel, data: bytes, ext: int | None) -> None:
        if chan.eof_received:
            raise _protocol_error(f"data on channel {chan.id} after its EOF")
        n = len(data)
        if n > chan.local_window:
            raise _protocol_error(f"{n} bytes on channel {chan.id} exceed the window "
                                  f"({chan.local_window} left)")
        if n > self.max_packet:
            raise _protocol_error(f"{n} bytes on channel {chan.id} exceed the max packet "
                                  f"({self.max_packet})")
        chan.local_window -= n
        if chan.close_sent:
            return  # we are closing: data still counts against the window, then is dropped
        self._events.append(ChannelData(chan.id, data, ext))

    def _on_data(self, r: Reader) -> None:
        chan = self._incoming(r, "data")
        data = r.string()
        r.end()
        self._receive(chan, data, None)

    def _on_extended_data(self, r: Reader) -> None:
        chan = self._incoming(r, "extended data")
        ext = r.uint32()
        data = r.string()
        r.end()
        self._receive(chan, data, ext)

    def _on_eof(self, r: Reader) -> None:
        chan = self._incoming(r, "EOF")
        r.end()
        if chan.eof_received:
            raise _protocol_error(f"second EOF on channel {chan.id}")
        chan.eof_received = True
        if not chan.close_sent:
            self._events.append(ChannelEOF(chan.id))

    def _on_close(self, r: Reader) -> None:
        chan = self._incoming(r, "close")
        r.end()
        chan.close_received = True
        chan.outbuf.clear()  # the peer takes no more data
        chan.outbuf_size = 0
        chan.replies_in.clear()
        if chan.close_sent:
            self._free(chan)
        else:
            # RFC 4254 §5.3: answer with our own CLOSE; ChannelClosed says it is over.
            chan.close_wanted = True
            self._send_close(chan)

    def _on_channel_request(self, r: Reader) -> None:
        chan = self._incoming(r, "request")
        name = r.text(256)
        want_reply = r.boolean()
        data = r.rest()
        if want_reply and len(chan.replies_in) >= self.max_pending:
            raise _protocol_error(f"more than {self.max_pending} requests unanswered on "
                                  f"channel {chan.id}")
        if chan.close_sent:
            return  # closing: nothing more is answered
        if name == KEEPALIVE or len(data) > self.max_request_size:
            if want_reply:
                chan.replies_in.append(False)
                self._flush_replies(chan)
            return
        if want_reply:
            chan.replies_in.append(None)
        self._events.append(ChannelRequest(chan.id, name, want_reply, data))

    def _on_channel_reply(self, r: Reader, ok: bool) -> None:
        chan = self._incoming(r, "request reply")
        r.end()
        if not chan.requests_out:
            raise _protocol_error(f"request reply on channel {chan.id} with none outstanding")
        name = chan.requests_out.popleft()
        self._events.append(ChannelRequestReply(chan.id, ok, name))

    def _on_channel_success(self, r: Reader) -> None:
        self._on_channel_reply(r, True)

    def _on_channel_failure(self, r: Reader) -> None:
        self._on_channel_reply(r, False)

    _handlers: dict[int, Callable[[Connection, Reader], None]] = {
        Msg.GLOBAL_REQUEST: _on_global_request,
        Msg.REQUEST_SUCCESS: _on_request_success,
        Msg.REQUEST_FAILURE: _on_request_failure,
        Msg.CHANNEL_OPEN: _on_channel_open,
        Msg.CHANNEL_OPEN_CONFIRMATION: _on_open_confirmation,
        Msg.CHANNEL_OPEN_FAILURE: _on_open_failure,
        Msg.CHANNEL_WINDOW_ADJUST: _on_window_adjust,
        Msg.CHANNEL_DATA: _on_data,
        Msg.CHANNEL_EXTENDED_DATA: _on_extended_data,
        Msg.CHANNEL_EOF: _on_eof,
        Msg.CHANNEL_CLOSE: _on_close,
        Msg.CHANNEL_REQUEST: _on_channel_request,
        Msg.CHANNEL_SUCCESS: _on_channel_success,
        Msg.CHANNEL_FAILURE: _on_channel_failure,
    }
