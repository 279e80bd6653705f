"""The asyncio adapter: one :class:`SSHProtocol` per TCP connection owns the sans-IO
:class:`~plait.conch.ssh.transport.Transport` and, above it, user authentication and the
:class:`~plait.conch.ssh.connection.Connection`; it moves payloads between them, writes what
they produce, keeps the one timer armed, and hands channel events to :class:`Channel`
objects. The client and server sides (``client.py``, ``server.py``) subclass it.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from .connection import (
    ChannelClosed,
    ChannelData,
    ChannelEOF,
    ChannelOpened,
    ChannelOpenFailed,
    ChannelOpenRequested,
    ChannelRequest,
    ChannelRequestReply,
    Connection,
    GlobalRequest,
    GlobalRequestReply,
    WindowOpened,
)
from .constants import ChannelOpenFailure, DisconnectReason, ExtendedData
from .errors import ChannelOpenError, ConnectionLost, ProtocolError
from .transport import (
    Disconnected,
    KexCompleted,
    PayloadReceived,
    ServiceAccepted,
    ServiceRequested,
    Transport,
)

__all__ = ["Channel", "SSHProtocol"]

log = logging.getLogger("plait.conch.ssh")

HIGH_WATER = 1 << 20          # bytes held for a channel before drain() waits


class Channel:
    """One channel seen from the application: write to it, and get its events through the
    ``on_*`` methods, which subclasses override."""

    def __init__(self, proto: SSHProtocol, channel: int) -> None:
        self.proto = proto
        self.id = channel
        self.open = False
        self.closed = False
        self.eof_sent = False
        self.eof_received = False
        self.opened: asyncio.Future[bytes] = proto.loop.create_future()
        self.close_waiter: asyncio.Future[None] = proto.loop.create_future()
        self._replies: list[asyncio.Future[bool]] = []
        self._drain: asyncio.Future[None] | None = None
        self._in_request = False      # a close asked for inside on_request waits for the reply
        self._after_request: list[Callable[[], None]] = []
        self._pauses: set[object] = set()   # readers that want no more data for now
        self._unconsumed = 0                # received bytes not yet given back as window

    # -- flow control: received data re-opens the peer's window once it is consumed ------

    def throttle(self, reader: asyncio.StreamReader) -> None:
        """Tie a StreamReader fed by this channel to its window: when the application
        falls behind (the reader holds more than twice its limit), the window stays shut."""
        reader.set_transport(_Throttle(self, reader))  # type: ignore[arg-type]

    def _received(self, n: int) -> None:
        if self._pauses:
            self._unconsumed += n
        elif self.proto.conn is not None:
            self.proto.conn.consumed(self.id, n)

    def _pause(self, who: object) -> None:
        self._pauses.add(who)

    def _resume(self, who: object) -> None:
        self._pauses.discard(who)
        if not self._pauses and self._unconsumed and self.proto.conn is not None:
            n, self._unconsumed = self._unconsumed, 0
            self.proto.conn.consumed(self.id, n)
            self.proto.flush()

    # -- writing ---------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.closed or self.eof_sent:
            raise ConnectionLost("channel is closed for writing")
        assert self.proto.conn is not None
        self.proto.conn.send_data(self.id, data)
        self.proto.flush()

    def write_stderr(self, data: bytes) -> None:
        assert self.proto.conn is not None
        if self.closed or self.eof_sent:
            raise ConnectionLost("channel is closed for writing")
        self.proto.conn.send_data(self.id, data, ExtendedData.STDERR)
        self.proto.flush()

    def write_eof(self) -> None:
        if self.closed or self.eof_sent or self.proto.conn is None:
            return
        self.eof_sent = True
        self.proto.conn.send_eof(self.id)
        self.proto.flush()

    def can_write_eof(self) -> bool:
        return True

    def close(self) -> None:
        conn = self.proto.conn
        if self.closed or conn is None or not self.open:
            return
        if self._in_request:
            self._after_request.append(self.close)
            return
        try:
            conn.close_channel(self.id)
        except ValueError:
            return
        self.proto.flush()

    async def drain(self) -> None:
        """Wait while the peer's window (or the socket) holds back too much of our data."""
        while not self.closed:
            conn = self.proto.conn
            if conn is None or self.id not in conn.channels():
                return
            if conn.buffered(self.id) < HIGH_WATER and not self.proto.write_paused:
                return
            if self._drain is None or self._drain.done():
                self._drain = self.proto.loop.create_future()
            await self._drain
        if self.proto.error is not None:
            raise ConnectionLost(str(self.proto.error))

    async def wait_closed(self) -> None:
        await asyncio.shield(self.close_waiter)

    def send_request(self, name: str, data: bytes = b"", want_reply: bool = False
                     ) -> asyncio.Future[bool] | None:
        assert self.proto.conn is not None
        self.proto.conn.send_request(self.id, name, data, want_reply)
        self.proto.flush()
        if not want_reply:
            return None
        fut: asyncio.Future[bool] = self.proto.loop.create_future()
        self._replies.append(fut)
        return fut

    def _wake_writer(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- events (override) -----------------------------------------------------------------

    def on_data(self, data: bytes, ext: int | None) -> None:
        """Data arrived; the default discards it."""

    def on_eof(self) -> None:
        """The peer sent EOF."""

    def on_request(self, name: str, want_reply: bool, data: bytes) -> bool:
        """A channel request; return whether it succeeded (the reply, if one is wanted)."""
        return False

    def on_close(self) -> None:
        """The channel is closed both ways (or the connection went)."""

    # -- dispatch from the protocol --------------------------------------------------------

    def _closed(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.open = False
        for fut in self._replies:
            if not fut.done():
                fut.set_result(False)
        self._replies.clear()
        self._wake_writer()
        if not self.opened.done():
            self.opened.set_exception(ChannelOpenError(ChannelOpenFailure.CONNECT_FAILED,
                                                       "connection closed"))
            self.opened.exception()
        try:
            self.on_close()
        finally:
            if not self.close_waiter.done():
                self.close_waiter.set_result(None)


class _Throttle:
    """What a StreamReader takes for its transport: its pause/resume become window credit."""

    def __init__(self, channel: Channel, reader: asyncio.StreamReader) -> None:
        self._channel = channel
        self._reader = reader

    def pause_reading(self) -> None:
        self._channel._pause(self._reader)

    def resume_reading(self) -> None:
        self._channel._resume(self._reader)


class SSHProtocol(asyncio.Protocol):
    """What the client and server adapters share: pumping bytes, payloads and events."""

    def __init__(self, transport: Transport, *, loop: asyncio.AbstractEventLoop | None = None,
                 window: int = 2 * 1024 * 1024, max_packet: int = 32768) -> None:
        self.loop = loop or asyncio.get_running_loop()
        self.ssh = transport
        self.conn: Connection | None = None
        self.window = window
        self.max_packet = max_packet
        self.sock: asyncio.Transport | None = None
        self.channels: dict[int, Channel] = {}
        self.write_paused = False
        self.error: BaseException | None = None
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.peername: Any = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._processing = False
        self._global_replies: list[asyncio.Future[tuple[bool, bytes]]] = []
        self._global_answers: list[asyncio.Future[tuple[bool, bytes]]] = []

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sock = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        self.peername = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.ssh.handle_timer(self.loop.time())
        self.process()

    def data_received(self, data: bytes) -> None:
        self.ssh.receive_data(data)
        self.process()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.sock = None
        self.ssh.connection_lost()
        self.process()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        for chan in list(self.channels.values()):
            chan._wake_writer()

    # -- the pump --------------------------------------------------------------------------

    def process(self) -> None:
        """Handle every pending event, then write what is to be written."""
        if self._processing:
            return
        self._processing = True
        try:
            while True:
                ev = self.ssh.next_event()
                if ev is None:
                    break
                try:
                    self._transport_event(ev)
                except ProtocolError as exc:
                    self.ssh.disconnect(int(exc.reason), exc.description)
                except Exception:
                    log.exception("SSH connection %s: error in a handler", self.peername)
                    self.ssh.disconnect(DisconnectReason.BY_APPLICATION, "internal error")
                self._move_payloads()
            self._move_payloads()
        finally:
            self._processing = False
        self._write()

    def flush(self) -> None:
        """Upper layers produced payloads outside of process(): send them."""
        if self._processing:
            return
        self._move_payloads()
        self._write()
        if self.ssh.next_event() is not None:   # pragma: no cover - defensive
            self.process()

    def _move_payloads(self) -> None:
        for source in self._payload_sources():
            if source is self.conn and self.conn is not None:
                self.ssh.send_batch(self.conn.output())
                continue
            for payload in source.payloads_to_send():
                self.ssh.send_payload(payload)

    def _payload_sources(self) -> list[Any]:
        return [self.conn] if self.conn is not None else []

    def _write(self) -> None:
        data = self.ssh.data_to_send()
        if data and self.sock is not None and not self.sock.is_closing():
            self.sock.write(data)
        if self.ssh.closed and self.sock is not None and not self.sock.is_closing():
            self.sock.close()
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self._next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None and not self.ssh.closed:
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _next_deadline(self) -> float | None:
        return self.ssh.get_timer()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self._handle_timer(self.loop.time())
        self.process()

    def _handle_timer(self, now: float) -> None:
        self.ssh.handle_timer(now)

    # -- events ----------------------------------------------------------------------------

    def _transport_event(self, ev: object) -> None:
        if isinstance(ev, PayloadReceived):
            msg = ev.payload[0]
            if msg < 80:
                self._userauth_payload(ev.payload)
            elif self.conn is None:
                raise ProtocolError(DisconnectReason.PROTOCOL_ERROR,
                                    f"message {msg} before authentication")
            else:
                self.conn.receive_payload(ev.payload)
                self._connection_events()
        elif isinstance(ev, KexCompleted):
            self._kex_completed(ev)
        elif isinstance(ev, ServiceRequested):
            self._service_requested(ev.name)
        elif isinstance(ev, ServiceAccepted):
            self._service_accepted(ev.name)
        elif isinstance(ev, Disconnected):
            self._disconnected(ev)

    def _connection_events(self) -> None:
        assert self.conn is not None
        while (ev := self.conn.next_event()) is not None:
            if isinstance(ev, ChannelData):
                chan = self.channels.get(ev.channel)
                if chan is not None:
                    chan.on_data(ev.data, ev.ext)
                    chan._received(len(ev.data))
                else:
                    self.conn.consumed(ev.channel, len(ev.data))
            elif isinstance(ev, ChannelOpenRequested):
                self._channel_open_requested(ev.channel, ev.kind, ev.extra)
            elif isinstance(ev, ChannelOpened):
                chan = self.channels.get(ev.channel)
                if chan is not None:
                    chan.open = True
                    if not chan.opened.done():
                        chan.opened.set_result(ev.extra)
            elif isinstance(ev, ChannelOpenFailed):
                chan = self.channels.pop(ev.channel, None)
                if chan is not None and not chan.opened.done():
                    chan.opened.set_exception(ChannelOpenError(ev.code, ev.description))
                    chan.closed = True
                    if not chan.close_waiter.done():
                        chan.close_waiter.set_result(None)
            elif isinstance(ev, ChannelEOF):
                chan = self.channels.get(ev.channel)
                if chan is not None:
                    chan.eof_received = True
                    chan.on_eof()
            elif isinstance(ev, ChannelClosed):
                chan = self.channels.pop(ev.channel, None)
                if chan is not None:
                    chan._closed()
            elif isinstance(ev, ChannelRequest):
                chan = self.channels.get(ev.channel)
                ok = False
                if chan is not None:
                    chan._in_request = True
                    try:
                        ok = chan.on_request(ev.name, ev.want_reply, ev.data)
                    finally:
                        chan._in_request = False
                if ev.want_reply and ev.channel in self.conn.channels():
                    self.conn.reply_request(ev.channel, bool(ok))
                if chan is not None and chan._after_request:
                    actions, chan._after_request = chan._after_request, []
                    for action in actions:
                        action()
            elif isinstance(ev, ChannelRequestReply):
                chan = self.channels.get(ev.channel)
                if chan is not None and chan._replies:
                    fut = chan._replies.pop(0)
                    if not fut.done():
                        fut.set_result(ev.ok)
            elif isinstance(ev, WindowOpened):
                chan = self.channels.get(ev.channel)
                if chan is not None:
                    chan._wake_writer()
            elif isinstance(ev, GlobalRequest):
                answer = self._global_request(ev.name, ev.data)
                pending: asyncio.Future[tuple[bool, bytes]]
                if isinstance(answer, tuple):
                    pending = self.loop.create_future()
                    pending.set_result(answer)
                else:
                    pending = asyncio.ensure_future(answer)
                if ev.want_reply:
                    self._global_answers.append(pending)
                    pending.add_done_callback(self._answer_globals)
                    self._answer_globals()
            elif isinstance(ev, GlobalRequestReply) and self._global_replies:
                reply = self._global_replies.pop(0)
                if not reply.done():
                    reply.set_result((ev.ok, ev.data))
        for chan in list(self.channels.values()):
            if chan._drain is not None and not chan._drain.done() and chan.id in \
                    self.conn.channels() and self.conn.buffered(chan.id) < HIGH_WATER:
                chan._wake_writer()

    def _global_request(self, name: str, data: bytes
                        ) -> tuple[bool, bytes] | Awaitable[tuple[bool, bytes]]:
        """Answer a global request: (ok, reply data), or an awaitable of it."""
        return False, b""

    def _answer_globals(self, _: object = None) -> None:
        """Send the answers of global requests in the order the requests came."""
        if self.conn is None:
            return
        sent = False
        while self._global_answers and self._global_answers[0].done():
            fut = self._global_answers.pop(0)
            ok, data = (False, b"") if fut.cancelled() or fut.exception() else fut.result()
            self.conn.reply_global(ok, data)
            sent = True
        if sent and not self._processing:
            self.flush()

    def _disconnected(self, ev: Disconnected) -> None:
        if self.error is None:
            self.error = ConnectionLost(ev.description, ev.reason)
        level = logging.DEBUG if ev.reason in (DisconnectReason.BY_APPLICATION,
                                               DisconnectReason.CONNECTION_LOST) \
            else logging.INFO
        log.log(level, "SSH connection %s ended: %s (%s, %s)", self.peername, ev.description,
                ev.reason, "by peer" if ev.by_peer else "by us")
        for chan in list(self.channels.values()):
            chan._closed()
        self.channels.clear()
        for fut in self._global_replies:
            if not fut.done():
                fut.set_result((False, b""))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._connection_closed()
        if not self.closed.done():
            self.closed.set_result(None)

    def global_request(self, name: str, data: bytes = b"") -> asyncio.Future[tuple[bool, bytes]]:
        """Send a global request wanting a reply; the future gives (ok, reply data)."""
        if self.conn is None or self.ssh.closed:
            raise ConnectionLost("the connection is closed")
        fut: asyncio.Future[tuple[bool, bytes]] = self.loop.create_future()
        self._global_replies.append(fut)
        self.conn.global_request(name, data, want_reply=True)
        self.flush()
        return fut

    def close(self, reason: int = DisconnectReason.BY_APPLICATION,
              description: str = "closed by application") -> None:
        self.ssh.disconnect(reason, description)
        self.process()

    # -- hooks for the two sides -----------------------------------------------------------

    def _userauth_payload(self, payload: bytes) -> None:
        raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "unexpected user-auth message")

    def _kex_completed(self, ev: KexCompleted) -> None:
        pass

    def _service_requested(self, name: str) -> None:
        raise ProtocolError(DisconnectReason.SERVICE_NOT_AVAILABLE, f"no service {name!r}")

    def _service_accepted(self, name: str) -> None:
        raise ProtocolError(DisconnectReason.PROTOCOL_ERROR, "unexpected SERVICE_ACCEPT")

    def _channel_open_requested(self, channel: int, kind: str, extra: bytes) -> None:
        assert self.conn is not None
        self.conn.reject_channel(channel, ChannelOpenFailure.UNKNOWN_CHANNEL_TYPE,
                                 f"channel type {kind!r} not supported")

    def _connection_closed(self) -> None:
        pass

    def _start_connection(self) -> None:
        self.conn = Connection(server=self.ssh.server, window=self.window,
                               max_packet=self.max_packet)
