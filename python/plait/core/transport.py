"""The stream base class every plait protocol builds on.

Why not plain ``asyncio.Protocol``: a protocol that answers with many small writes
(AMP boxes, SSH packets, IRC lines) pays a system call per ``transport.write``.  Like
Twisted, :class:`StreamProtocol` coalesces the writes made during one loop iteration
and hands them to the transport in a single ``write`` from a ``loop.call_soon``
callback.  Reads go into one reused ``bytearray`` (``asyncio.BufferedProtocol``), so
receiving allocates nothing per read.
"""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

from plait.core.errors import ConnectionLost

__all__ = ["Address", "StreamProtocol"]

#: What ``peer`` and ``host`` return: the socket address as the transport reports it,
#: a ``(host, port)`` or ``(host, port, flowinfo, scope_id)`` tuple, or a path string.
Address = Any

BytesLike = bytes | bytearray | memoryview


class StreamProtocol(asyncio.BufferedProtocol):
    """A buffered stream protocol with coalesced writes, flow control and STARTTLS.

    Writes made inside :meth:`stream_received` go out in one ``transport.write`` when
    it returns; writes made elsewhere (tasks, timers) go out in one write from a
    ``loop.call_soon`` callback, i.e. once per loop iteration.

    Subclasses override :meth:`stream_started`, :meth:`stream_received` and
    :meth:`stream_ended`; they write with :meth:`write` / :meth:`writelines` and may
    ``await self.drain()`` to respect the peer's pace.
    """

    transport: asyncio.Transport | None = None
    #: Size of the one reused receive buffer.
    read_buffer_size: int = 65536
    #: Writes at least this large bypass the coalescing buffer (after flushing it), and
    #: the buffer is flushed at once when it grows past this size.
    write_coalesce_limit: int = 65536

    # Instance state is created lazily in _init_stream so that subclasses need not
    # call super().__init__().
    _stream_ready: bool = False
    _closing: bool = False
    _lost: bool = False
    _write_paused: bool = False
    _tls_switching: bool = False
    _in_read: bool = False

    def _init_stream(self) -> None:
        self._wbuf = bytearray()
        self._flush_handle: asyncio.Handle | None = None
        self._closing = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._lost = False
        self._lost_exc: BaseException | None = None
        self._rbuf = bytearray(self.read_buffer_size)
        self._rview = memoryview(self._rbuf)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stream_ready = True

    # ------------------------------------------------------------------ hooks

    def stream_started(self) -> None:
        """Called once the connection is made and ``self.transport`` is set."""

    def stream_received(self, data: memoryview) -> None:
        """Called with bytes received; ``data`` is only valid during the call (copy it to keep it)."""

    def stream_ended(self, exc: BaseException | None) -> None:
        """Called once when the connection is gone; ``exc`` is ``None`` on a clean close."""

    # ------------------------------------------------------- asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._stream_ready:
            self._init_stream()
        self.transport = transport  # type: ignore[assignment]
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - transports call us from the loop
            self._loop = asyncio.get_event_loop()
        self.stream_started()

    def get_buffer(self, sizehint: int) -> memoryview:
        if not self._stream_ready:  # pragma: no cover - connection_made comes first
            self._init_stream()
        return self._rview

    def buffer_updated(self, nbytes: int) -> None:
        # Writes made while handling this read are flushed as one write when the
        # handler returns: a request/response pair costs no extra loop iteration.
        view = self._rview[:nbytes]
        self._in_read = True
        try:
            self.stream_received(view)
        finally:
            self._in_read = False
            view.release()
        if self._wbuf and not self._tls_switching and self.transport is not None:
            data = self._wbuf
            self._wbuf = bytearray()
            self.transport.write(data)

    def eof_received(self) -> bool | None:
        """The peer finished sending; by default the transport then closes itself."""
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self._stream_ready:
            self._init_stream()
        self._lost = True
        self._lost_exc = exc
        self._cancel_flush()
        self._wbuf = bytearray()
        self.transport = None
        self._wake_drainers()
        self.stream_ended(exc)

    def pause_writing(self) -> None:
        """The transport's buffer is above its high-water mark: ``drain()`` now waits."""
        self._write_paused = True

    def resume_writing(self) -> None:
        """The transport's buffer has drained below its low-water mark."""
        self._write_paused = False
        self._wake_drainers()

    # ----------------------------------------------------------------- writing

    def write(self, data: BytesLike) -> None:
        """Queue ``data``; everything written in this loop iteration goes out in one write."""
        if self.transport is None or self._closing:
            return  # like Twisted: writes after close are dropped silently
        buf = self._wbuf
        if len(data) >= self.write_coalesce_limit and not self._tls_switching:
            if buf:
                self._flush_now()
            if self.transport is not None:
                self.transport.write(data)
            return
        buf += data
        if self._tls_switching:
            return  # held until the TLS transport exists
        if len(buf) >= self.write_coalesce_limit:
            self._flush_now()
        elif self._flush_handle is None and not self._in_read:
            self._flush_handle = self._loop.call_soon(self._scheduled_flush)  # type: ignore[union-attr]

    def writelines(self, chunks: Iterable[BytesLike]) -> None:
        """Queue each chunk, as :meth:`write` does."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Hand whatever is buffered to the transport now."""
        self._cancel_flush()
        if self._stream_ready and self._wbuf and not self._tls_switching:
            self._flush_now()

    async def drain(self) -> None:
        """Flush, then wait while the transport asks us to pause writing.

        Raises :class:`~plait.core.errors.ConnectionLost` (a ``ConnectionResetError``)
        if the connection is (or becomes) lost.
        """
        self.flush()
        if self._lost:
            raise ConnectionLost("connection lost") from self._lost_exc
        if not self._write_paused:
            return
        assert self._loop is not None
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter

    def close(self) -> None:
        """Flush what is buffered, then close the transport (it finishes sending first)."""
        if self.transport is None or self._closing:
            return
        self.flush()
        self._closing = True
        self.transport.close()

    def abort(self) -> None:
        """Drop buffered data and close the connection at once."""
        self._cancel_flush()
        if self._stream_ready:
            self._wbuf = bytearray()
        self._closing = True
        if self.transport is not None:
            self.transport.abort()

    @property
    def writing_paused(self) -> bool:
        """True while the transport has asked us to stop writing (see :meth:`drain`)."""
        return self._write_paused

    @property
    def closing(self) -> bool:
        """True once :meth:`close` or :meth:`abort` was called or the connection is gone."""
        return self._closing or self.transport is None

    def _scheduled_flush(self) -> None:
        self._flush_handle = None
        if self._wbuf and not self._tls_switching:
            self._flush_now()

    def _flush_now(self) -> None:
        data = self._wbuf
        self._wbuf = bytearray()  # the transport may keep a reference to ``data``
        if self.transport is not None:
            self.transport.write(data)

    def _cancel_flush(self) -> None:
        handle = getattr(self, "_flush_handle", None)
        if handle is not None:
            handle.cancel()
            self._flush_handle = None

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if waiter.done():
                continue
            if self._lost:
                err = ConnectionLost("connection lost")
                err.__cause__ = self._lost_exc
                waiter.set_exception(err)
            else:
                waiter.set_result(None)

    # ------------------------------------------------------------- reading

    def pause_reading(self) -> None:
        """Stop receiving until :meth:`resume_reading` (e.g. before a STARTTLS switch)."""
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Undo :meth:`pause_reading`."""
        if self.transport is not None:
            self.transport.resume_reading()

    # ----------------------------------------------------------------- TLS

    async def start_tls(
        self,
        context: ssl.SSLContext,
        *,
        server_side: bool,
        server_hostname: str | None = None,
        handshake_timeout: float | None = None,
    ) -> None:
        """Upgrade this connection to TLS in place, keeping this protocol object.

        Buffered writes are flushed first, so they go out in the clear before the
        handshake; writes made during the handshake are held and sent encrypted once
        it completes.  Bytes the peer sends before the switch are the caller's protocol
        to prevent (call :meth:`pause_reading` synchronously if in doubt).
        """
        if self.transport is None or self._closing:
            raise ConnectionLost("connection lost")
        self.flush()
        assert self._loop is not None
        old = self.transport
        self._tls_switching = True
        try:
            new = await self._loop.start_tls(
                old,
                self,
                context,
                server_side=server_side,
                server_hostname=server_hostname,
                ssl_handshake_timeout=handshake_timeout,
            )
        except BaseException:
            self._tls_switching = False
            self._wbuf = bytearray()
            raise
        self._tls_switching = False
        if new is None or self._lost:  # pragma: no cover - closed during the handshake
            raise ConnectionLost("connection lost during TLS handshake")
        self.transport = new
        self.flush()

    # ------------------------------------------------------------ addresses

    @property
    def peer(self) -> Address:
        """The remote address (``peername``), or ``None`` when not connected."""
        if self.transport is None:
            return None
        return self.transport.get_extra_info("peername")

    @property
    def host(self) -> Address:
        """The local address (``sockname``), or ``None`` when not connected."""
        if self.transport is None:
            return None
        return self.transport.get_extra_info("sockname")
