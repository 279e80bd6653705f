"""The stream base class every plait protocol builds on.

Why not plain ``asyncio.Protocol``: a protocol that answers with many small writes
(AMP boxes, SSH packets, IRC lines) pays a system call per ``transport.write``.  Like
Twisted, :class:`StreamProtocol` coalesces the writes made during one loop iteration
and hands them to the transport in a single ``write`` from a ``loop.call_soon``
callback.  Reads go into one reused ``bytearray`` (``asyncio.BufferedProtocol``), so
receiving allocates nothing per read.  The hot path is compiled (``_stream.pyx``).
"""
from __future__ import annotations

import asyncio
import ssl
from typing import Any

from plait.core._stream import StreamCore
from plait.core.errors import ConnectionLost

__all__ = ["Address", "StreamProtocol"]

#: What ``peer`` and ``host`` return: the socket address as the transport reports it,
#: a ``(host, port)`` or ``(host, port, flowinfo, scope_id)`` tuple, or a path string.
Address = Any



class StreamProtocol(StreamCore, asyncio.BufferedProtocol):
    """A buffered stream protocol with coalesced writes, flow control and STARTTLS.

    Writes made inside :meth:`stream_received` go out in one ``transport.write`` when
    it returns; writes made elsewhere (tasks, timers) go out in one write from a
    ``loop.call_soon`` callback, i.e. once per loop iteration.  The read and write hot
    paths (``get_buffer``, ``buffer_updated``, ``write``, ``flush``) are compiled, in
    :mod:`plait.core._stream`.

    Subclasses override :meth:`stream_started`, :meth:`stream_received` and
    :meth:`stream_ended`; they write with :meth:`write` / :meth:`writelines` and may
    ``await self.drain()`` to respect the peer's pace.  Subclasses need not call
    ``super().__init__()``.
    """

    #: Size of the one reused receive buffer.
    read_buffer_size: int = 65536
    #: Writes at least this large bypass the coalescing buffer (after flushing it), and
    #: the buffer is flushed at once when it grows past this size.
    write_coalesce_limit: int = 65536

    _write_paused: bool = False
    _lost_exc: BaseException | None = None

    # ------------------------------------------------------------------ hooks

    def stream_started(self) -> None:
        """Called once the connection is made and ``self.transport`` is set."""

    def stream_received(self, data: memoryview) -> None:
        """Called with bytes received; ``data`` is only valid during the call (copy it to keep it)."""

    def stream_ended(self, exc: BaseException | None) -> None:
        """Called once when the connection is gone; ``exc`` is ``None`` on a clean close."""

    # ------------------------------------------------------- asyncio protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._bind(transport)
        self.stream_started()

    def eof_received(self) -> bool | None:
        """The peer finished sending; by default the transport then closes itself."""
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lost = True
        self._lost_exc = exc
        self._discard_writes()
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
        self.__dict__.setdefault("_drain_waiters", []).append(waiter)
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
        self._discard_writes()
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

    def _wake_drainers(self) -> None:
        waiters = self.__dict__.pop("_drain_waiters", [])
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
            self._discard_writes()
            raise
        self._tls_switching = False
        if new is None or self._lost:  # pragma: no cover - closed during the handshake
            raise ConnectionLost("connection lost during TLS handshake")
        self._bind(new)
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
