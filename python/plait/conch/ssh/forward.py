"""TCP port forwarding over SSH channels (RFC 4254 §7): a :class:`TCPBridge` joins one
channel to one TCP connection both ways; the client and server protocols use it for
direct-tcpip (local forwarding, ``ssh -L``) and forwarded-tcpip (remote forwarding,
``ssh -R``), and :class:`Listener` is a forwarded port that is being listened on.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .constants import ChannelOpenFailure
from .errors import ChannelOpenError, ConnectionLost
from .protocol import Channel

if TYPE_CHECKING:
    from .protocol import SSHProtocol

__all__ = ["Listener", "TCPBridge", "accept_to", "bridge_incoming"]

log = logging.getLogger("plait.conch.ssh.forward")

CONNECT_TIMEOUT = 15.0


class TCPBridge(Channel):
    """A channel carrying one TCP connection: socket data goes out as channel data (paced by
    the window), channel data goes to the socket; EOF and close follow both ways."""

    def __init__(self, proto: SSHProtocol, channel: int) -> None:
        super().__init__(proto, channel)
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self._early: list[bytes] = []

    def attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        for data in self._early:
            writer.write(data)
        self._early.clear()
        self._pump = self.proto.loop.create_task(self._copy_out(reader))

    async def _copy_out(self, reader: asyncio.StreamReader) -> None:
        try:
            while chunk := await reader.read(65536):
                if self.closed:
                    return
                self.write(chunk)
                await self.drain()
            self.write_eof()
        except (ConnectionError, ConnectionLost, OSError):
            self.close()

    def on_data(self, data: bytes, ext: int | None) -> None:
        if self._writer is None:
            self._early.append(data)
        elif not self._writer.is_closing():
            self._writer.write(data)

    def on_eof(self) -> None:
        if self._writer is not None and self._writer.can_write_eof() \
                and not self._writer.is_closing():
            with contextlib.suppress(OSError):
                self._writer.write_eof()

    def on_close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()


async def accept_to(proto: SSHProtocol, channel: int, host: str, port: int) -> None:
    """Answer an incoming channel open by connecting to ``host:port``: accept and bridge,
    or refuse with CONNECT_FAILED."""
    conn = proto.conn
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                CONNECT_TIMEOUT)
    except (TimeoutError, OSError) as exc:
        if proto.conn is conn and conn is not None and not proto.ssh.closed:
            conn.reject_channel(channel, ChannelOpenFailure.CONNECT_FAILED,
                                f"cannot connect to {host}:{port}: {exc}")
            proto.flush()
        return
    if proto.conn is not conn or conn is None or proto.ssh.closed:
        writer.close()
        return
    bridge = TCPBridge(proto, channel)
    proto.channels[channel] = bridge
    conn.accept_channel(channel)
    bridge.open = True
    bridge.opened.set_result(b"")
    bridge.attach(reader, writer)
    proto.flush()


async def bridge_incoming(proto: SSHProtocol, kind: str, extra: bytes,
                          reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A TCP connection came in on a forwarded port: open a channel for it and bridge."""
    if proto.conn is None or proto.ssh.closed:
        writer.close()
        return
    channel = proto.conn.open_channel(kind, extra)
    bridge = TCPBridge(proto, channel)
    proto.channels[channel] = bridge
    proto.flush()
    try:
        await bridge.opened
    except ChannelOpenError as exc:
        log.info("forwarded connection refused by the peer: %s", exc)
        writer.close()
        return
    bridge.attach(reader, writer)


class Listener:
    """A forwarded port being listened on; ``port`` is the bound port."""

    def __init__(self, server: asyncio.Server | None, port: int,
                 on_close: Callable[[], Awaitable[Any] | None] | None = None) -> None:
        self._server = server
        self.port = port
        self._on_close = on_close

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._on_close is not None:
            result = self._on_close()
            self._on_close = None
            if asyncio.iscoroutine(result):
                asyncio.get_running_loop().create_task(result)

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
