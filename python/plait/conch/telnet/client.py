"""A telnet client: ``await open_connection(host, port)`` -> :class:`TelnetClient`.

Why a stream API: most telnet clients are scripts (read a prompt, write a line), so the
client hides negotiation behind ``read()``/``write()`` in the manner of asyncio streams,
while it reports its window (NAWS) and terminal type (TTYPE, cycling RFC 1091's list) and
follows the server's ECHO/SGA/LINEMODE choices. Incoming data is bounded: the client stops
reading the socket while more than ``limit`` bytes wait to be read.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Self, cast

from plait.conch.telnet import constants as c
from plait.conch.telnet.errors import TelnetError
from plait.conch.telnet.events import (
    CommandReceived,
    DataReceived,
    Event,
    LinemodeChanged,
    OptionDisabled,
    OptionEnabled,
    ProtocolViolation,
)
from plait.conch.telnet.protocol import TelnetConnection

__all__ = ["DEFAULT_LIMIT", "TelnetClient", "open_connection"]

log = logging.getLogger(__name__)

#: Bytes buffered for the reader before the client stops reading from the socket.
DEFAULT_LIMIT = 1 << 16
#: Events kept in ``TelnetClient.events`` (oldest dropped first).
MAX_EVENTS = 1000


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, client: TelnetClient) -> None:
        self.client = client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.client._connected(cast(asyncio.Transport, transport))  # uvloop: not a subclass

    def data_received(self, data: bytes) -> None:
        self.client._received(data)

    def eof_received(self) -> bool:
        return False

    def pause_writing(self) -> None:
        self.client._writable.clear()

    def resume_writing(self) -> None:
        self.client._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client._lost(exc)


class TelnetClient:
    """One telnet connection from the client side.

    ``read()``, ``read_until()`` and ``write()`` carry the data; ``conn`` is the sans-IO
    core (option states: ``conn.remote_enabled(ECHO)``...), ``events`` the last option
    and command events seen.
    """

    def __init__(self, *, term: str | Sequence[str], size: tuple[int, int] | None,
                 limit: int = DEFAULT_LIMIT, binary: bool = False) -> None:
        names = (term,) if isinstance(term, str) else tuple(term)
        self.conn = TelnetConnection(server=False, terminal_types=names, window_size=size)
        self.limit = limit
        self.events: list[Event] = []
        self._binary = binary
        self._buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.Transport | None = None
        self._paused = False
        self._eof = False
        self._error: Exception | None = None
        self._closed = asyncio.get_running_loop().create_future()
        self._changed = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    # -- negotiation-facing API

    @property
    def server_echoes(self) -> bool:
        """True when the server does the echoing (it said WILL ECHO)."""
        return self.conn.remote_enabled(c.ECHO)

    @property
    def linemode(self) -> int | None:
        """The LINEMODE MODE the server set (None if LINEMODE is off)."""
        return self.conn.linemode.mode if self.conn.local_enabled(c.LINEMODE) else None

    def set_size(self, width: int, height: int) -> None:
        """A new window size; sent as NAWS when the server asked for it."""
        self.conn.set_window_size(width, height)
        self._flush()

    async def wait_for_option(self, option: int, *, local: bool = False,
                              timeout: float = 10.0) -> bool:
        """Wait (bounded) until ``option`` is on; False if it is refused or time runs out."""
        async def settled() -> bool:
            while True:
                st = self.conn.options.state(option)
                side = st.us if local else st.him
                if side.name == "YES":
                    return True
                if self._eof:
                    return False
                self._changed.clear()
                await self._changed.wait()
        try:
            return await asyncio.wait_for(settled(), timeout)
        except TimeoutError:
            return False

    # -- stream API

    def write(self, data: bytes | str) -> None:
        """Send application data (``str`` as UTF-8); IAC and CR are escaped as RFC 854 says."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self._transport is None or self._transport.is_closing():
            raise TelnetError("the connection is closed")
        self.conn.send_data(data)
        self._flush()

    def write_line(self, line: str) -> None:
        """``line`` followed by the NVT newline (CR LF)."""
        self.write(line + "\r\n")

    def send_command(self, command: int) -> None:
        """``IAC <command>``, for example IP (interrupt) or AYT."""
        self.conn.send_command(command)
        self._flush()

    async def drain(self) -> None:
        """Wait while the socket's write buffer is over its high-water mark."""
        await self._writable.wait()
        if self._error is not None:
            raise self._error

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes once some arrive; with ``n`` < 0 everything until EOF (as
        ``asyncio.StreamReader.read``); b"" at EOF."""
        if n < 0:
            while not self._eof:
                self._resume_for_search()
                await self._wait()
        while not self._buffer and not self._eof:
            await self._wait()
        if self._error is not None and not self._buffer:
            raise self._error
        size = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._maybe_resume()
        return data

    async def read_until(self, separator: bytes, *, max_bytes: int | None = None) -> bytes:
        """Everything up to and including ``separator``; ``TelnetError`` at EOF or when
        more than ``max_bytes`` (default ``limit``) arrive without it."""
        bound = self.limit if max_bytes is None else max_bytes
        while True:
            at = self._buffer.find(separator)
            if at >= 0:
                end = at + len(separator)
                data = bytes(self._buffer[:end])
                del self._buffer[:end]
                self._maybe_resume()
                return data
            if len(self._buffer) > bound:
                raise TelnetError(f"{separator!r} not found in {bound} bytes")
            if self._eof:
                raise TelnetError(f"connection closed before {separator!r}")
            self._resume_for_search()
            await self._wait()

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default) if self._transport else default

    # -- protocol callbacks

    def _connected(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        if self.conn.window_size is not None:
            self.conn.enable_local(c.NAWS)
        self.conn.enable_local(c.TTYPE)
        self.conn.enable_remote(c.SGA)
        if self._binary:
            self.conn.enable_local(c.BINARY)
            self.conn.enable_remote(c.BINARY)
        self._flush()

    def _received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        while (event := self.conn.next_event()) is not None:
            if isinstance(event, DataReceived):
                self._buffer += event.data
                continue
            if isinstance(event, ProtocolViolation):
                log.debug("telnet server: %s", event.reason)
                if event.fatal:
                    self._error = TelnetError(event.reason)
                    self.close()
            elif isinstance(event, OptionEnabled | OptionDisabled | LinemodeChanged
                            | CommandReceived):
                self._changed.set()
            self.events.append(event)
            del self.events[:-MAX_EVENTS]
        self._flush()
        if len(self._buffer) > self.limit and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def _lost(self, exc: Exception | None) -> None:
        self._eof = True
        if exc is not None and self._error is None:
            self._error = TelnetError(f"connection lost: {exc}")
        self._changed.set()
        self._writable.set()
        self._wake()
        if not self._closed.done():
            self._closed.set_result(None)

    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(out)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _maybe_resume(self) -> None:
        if self._paused and len(self._buffer) <= self.limit and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    def _resume_for_search(self) -> None:
        # read_until may need more than ``limit`` to find its separator (bounded by
        # max_bytes); read() reads to EOF
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()


async def open_connection(host: str, port: int = 23, *, term: str | Sequence[str] = "xterm",
                          size: tuple[int, int] | None = (80, 24), binary: bool = False,
                          limit: int = DEFAULT_LIMIT, timeout: float = 10.0) -> TelnetClient:
    """Connect to a telnet server and start negotiating (NAWS, TTYPE, SGA; ECHO if offered).

    ``term`` is the terminal type, or a list of them to cycle (RFC 1091); ``size`` the
    window reported by NAWS (None: do not offer NAWS); ``binary`` asks for 8-bit clean
    BINARY both ways.
    """
    if size is not None:
        width, height = size
        if not (0 <= width <= 0xFFFF and 0 <= height <= 0xFFFF):
            raise ValueError(f"window size {width}x{height} does not fit NAWS (0..65535)")
    client = TelnetClient(term=term, size=size, limit=limit, binary=binary)
    if size is None:
        client.conn.options.accept_local.discard(c.NAWS)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(
            loop.create_connection(lambda: _ClientProtocol(client), host, port), timeout)
    except (OSError, TimeoutError) as exc:
        raise TelnetError(f"cannot connect to {host}:{port}: {exc}") from exc
    return client
