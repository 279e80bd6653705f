"""`vertex tunnel`: TCP connections carried over another stream transport (Q2Q in the CLI).

Two halves.  The exposing side accepts tunnel streams and connects each to a fixed local TCP
port (only ports the user exposed: a peer cannot pick arbitrary targets).  The opening side
listens on a local TCP port and, per accepted connection, opens a stream to the peer.  Bytes
flow both ways with backpressure (a side that cannot keep up pauses the other's reading) and
half-close: an EOF on one side becomes ``write_eof`` on the other, and the pair closes once
both directions have ended.  On the carried stream data and EOF travel as small frames
(``FramedPipe``), because a Q2Q stream is TLS, which cannot half-close by itself.

The transport-neutral pieces are here (``Pipe``, ``splice``, ``TunnelListener``,
``expose_factory``); the CLI supplies a function that opens a Q2Q stream.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import cast

__all__ = [
    "MAX_FRAME",
    "MAX_PENDING",
    "FramedPipe",
    "Pipe",
    "TunnelListener",
    "expose_factory",
    "protocol_for_port",
    "splice",
]

log = logging.getLogger(__name__)

#: Bytes a pipe holds for its partner before it is linked (or while the partner's transport
#: is not writable yet); past it, reading pauses.
MAX_PENDING = 256 * 1024
#: Largest data frame on the carried stream.
MAX_FRAME = 64 * 1024
#: Seconds to wait for the far side of a new tunnel connection.
CONNECT_TIMEOUT = 30.0

Opener = Callable[[Callable[[], asyncio.Protocol]], Awaitable[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]]


def protocol_for_port(port: int) -> str:
    """The Q2Q protocol name under which a local TCP port is exposed."""
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is not between 1 and 65535")
    return f"tunnel-{port}"


class Pipe(asyncio.Protocol):
    """One end of a spliced pair: what it reads, its partner writes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.partner: Pipe | None = None
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.pending_eof = False
        self.eof = False  # this side has sent EOF to us
        loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._reading_paused = False

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if not self.connected.done():
            self.connected.set_result(None)

    # -- what the partner calls to write to this side ---------------------------------------
    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def send_eof(self) -> bool:
        """Half-close towards this side; False if this transport cannot."""
        assert self.transport is not None
        if not self.transport.can_write_eof():
            return False
        self.transport.write_eof()
        return True

    def data_received(self, data: bytes) -> None:
        partner = self.partner
        if partner is not None and partner.transport is not None:
            partner.send(data)
            return
        self.pending.append(data)
        self.pending_size += len(data)
        if self.pending_size > MAX_PENDING:
            self._pause_reading()

    def eof_received(self) -> bool | None:
        self.eof = True
        partner = self.partner
        if partner is None or partner.transport is None:
            self.pending_eof = True
            return True
        self._forward_eof(partner)
        return True  # keep our transport open: the other direction may still be flowing

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.connected.done():
            self.connected.set_result(None)
        partner = self.partner
        if partner is not None and partner.transport is not None:
            partner.transport.close()  # flushes what is buffered first

    def pause_writing(self) -> None:
        if self.partner is not None:
            self.partner._pause_reading()

    def resume_writing(self) -> None:
        if self.partner is not None:
            self.partner._resume_reading()

    # -- linking ----------------------------------------------------------------------------
    def _pause_reading(self) -> None:
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            with contextlib.suppress(RuntimeError, AttributeError):
                self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.transport is not None and self._reading_paused:
            self._reading_paused = False
            with contextlib.suppress(RuntimeError, AttributeError):
                self.transport.resume_reading()

    def _forward_eof(self, partner: Pipe) -> None:
        assert partner.transport is not None
        if partner.eof or not partner.send_eof():
            partner.transport.close()  # both directions done, or no half-close to offer
            if self.transport is not None:
                self.transport.close()

    def flush_to(self, partner: Pipe) -> None:
        assert partner.transport is not None
        if self.pending:
            for chunk in self.pending:
                partner.send(chunk)
            self.pending.clear()
            self.pending_size = 0
        self._resume_reading()
        if self.pending_eof:
            self.pending_eof = False
            self._forward_eof(partner)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class FramedPipe(Pipe):
    """The carried end: data and EOF travel as frames (type, length, payload), so half-close
    crosses transports that cannot half-close themselves (a TLS stream, a relayed channel).
    A raw EOF, a bad frame type or an oversized frame ends the stream."""

    _HEADER = struct.Struct("!BI")
    DATA, EOF = 0, 1

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        view = memoryview(data)
        for start in range(0, len(view), MAX_FRAME):
            chunk = view[start : start + MAX_FRAME]
            self.transport.writelines([self._HEADER.pack(self.DATA, len(chunk)), chunk])

    def send_eof(self) -> bool:
        assert self.transport is not None
        self.transport.write(self._HEADER.pack(self.EOF, 0))
        return True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        header = self._HEADER
        while len(self._buffer) >= header.size:
            kind, length = header.unpack_from(self._buffer)
            if kind not in (self.DATA, self.EOF) or length > MAX_FRAME or (
                    kind == self.EOF and length):
                log.warning("tunnel: bad frame (type %d, %d bytes); closing", kind, length)
                self._buffer.clear()
                self.close()
                return
            if len(self._buffer) < header.size + length:
                return
            payload = bytes(self._buffer[header.size : header.size + length])
            del self._buffer[: header.size + length]
            if kind == self.EOF:
                super().eof_received()
            elif payload:
                super().data_received(payload)

    def eof_received(self) -> bool | None:
        if not self.eof:
            super().eof_received()
        return False  # the carrier itself ended: nothing more can come either way


def splice(a: Pipe, b: Pipe) -> None:
    """Link two connected pipes and deliver what each had buffered (a side that already
    went away hands over what it had, then its partner is closed)."""
    if a.transport is None or b.transport is None:
        raise RuntimeError("splice needs two connected pipes")
    a.partner, b.partner = b, a
    for src, dst in ((a, b), (b, a)):
        if not dst.closed.done():
            src.flush_to(dst)
    for p, other in ((a, b), (b, a)):
        if p.closed.done():
            other.close()


def expose_factory(host: str, port: int, *, on_error: Callable[[str], None] | None = None,
                   check: Callable[[asyncio.Transport], str | None] | None = None,
                   ) -> Callable[[], Pipe]:
    """A protocol factory for incoming tunnel streams: each is spliced to a new TCP
    connection to ``host:port`` (closed if that connection cannot be made).  ``check``
    may refuse a stream by returning a reason (it sees the stream's transport)."""

    def factory() -> Pipe:
        far = FramedPipe()
        loop = asyncio.get_running_loop()

        async def attach() -> None:
            try:
                await asyncio.wait_for(far.connected, CONNECT_TIMEOUT)
            except TimeoutError:
                far.close()
                return
            if far.transport is None or far.closed.done():
                return
            reason = check(far.transport) if check is not None else None
            if reason is not None:
                if on_error is not None:
                    on_error(reason)
                far.close()
                return
            try:
                _, near = await asyncio.wait_for(
                    loop.create_connection(Pipe, host, port), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError) as e:
                if on_error is not None:
                    on_error(f"cannot connect to {host}:{port}: {getattr(e, 'strerror', None) or e}")
                far.close()
                return
            if far.closed.done():
                near.close()
                return
            splice(far, near)

        task = loop.create_task(attach())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        return far

    return factory


_tasks: set[asyncio.Task[None]] = set()


class TunnelListener:
    """Listens on a local TCP port; each connection is carried through ``opener`` (a function
    that opens a stream to the peer with a protocol factory)."""

    def __init__(self, opener: Opener, *, on_error: Callable[[str], None] | None = None) -> None:
        self.opener = opener
        self.on_error = on_error
        self.server: asyncio.Server | None = None
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._accept, host, port)
        sockname = self.server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    def _accept(self) -> Pipe:
        near = Pipe()
        self.connections += 1
        task = asyncio.get_running_loop().create_task(self._attach(near))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return near

    async def _attach(self, near: Pipe) -> None:
        try:
            _, far = await asyncio.wait_for(self.opener(FramedPipe), CONNECT_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - any failure to reach the peer ends this connection only
            if self.on_error is not None:
                self.on_error(f"tunnel connection failed: {e}")
            near.close()
            return
        far_pipe = cast(Pipe, far)
        if near.closed.done():
            far_pipe.close()
            return
        splice(near, far_pipe)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
