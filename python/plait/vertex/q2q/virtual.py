"""Virtual connections: streams carried as ``write`` boxes on an AMP connection.

Why: when neither TCP nor PTCP gets through, the identity server relays. Each end sees an
ordinary :class:`VirtualTransport`; :class:`ChannelMux` (mixed into the AMP protocol that
carries the channels) routes ``write``/``close``/``choke``/``unchoke`` boxes by channel id.
Flow control: a reader that pauses sends ``choke``, and the writer's protocol gets
``pause_writing`` until ``unchoke`` (the server chokes a sender itself when the receiver's
connection backs up); a writer is also paused while the AMP connection below is.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from plait.vertex.juice import AMP

from .commands import MAX_WRITE, Choke, Close, Unchoke, Write
from .tls import feed

__all__ = ["MAX_CHANNELS", "MAX_INBOX", "ChannelMux", "VirtualTransport"]

log = logging.getLogger(__name__)

#: Most virtual channels one AMP connection carries at once.
MAX_CHANNELS = 256
#: Most bytes held for a reader that paused (what was in flight when it choked).
MAX_INBOX = 16 * 1024 * 1024


class VirtualTransport(asyncio.Transport):
    """One relayed stream; its protocol is set with :meth:`start`."""

    def __init__(self, mux: ChannelMux, channel_id: int, extra: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.extra: dict[str, Any] = dict(extra or {})
        self._mux = mux
        self.channel_id = channel_id
        self._protocol: asyncio.BaseProtocol | None = None
        self._closed = False
        self._reading = True
        self._inbox: list[bytes] = []
        self._inbox_size = 0
        self._choked = False
        self._told_paused = False

    # -- life

    def start(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol
        protocol.connection_made(self)
        self._update_pause()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in self.extra:
            return self.extra[name]
        transport = self._mux.transport
        return default if transport is None else transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def is_closing(self) -> bool:
        return self._closed

    # -- writing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            return
        view = memoryview(bytes(data))
        for start in range(0, len(view), MAX_WRITE):
            self._mux.call_remote(Write, id=self.channel_id, body=bytes(view[start:start + MAX_WRITE]))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(bytes(d) for d in list_of_data))

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:
        raise RuntimeError("a virtual connection cannot be half-closed: call close()")

    def get_write_buffer_size(self) -> int:
        transport = self._mux.transport
        return 0 if transport is None else int(transport.get_write_buffer_size())

    def close(self) -> None:
        if self._closed:
            return
        self._mux.call_remote(Close, id=self.channel_id)
        self._finish(None)

    def abort(self) -> None:
        self.close()

    # -- reading

    def pause_reading(self) -> None:
        if self._reading and not self._closed:
            self._reading = False
            self._mux.call_remote(Choke, id=self.channel_id)

    def resume_reading(self) -> None:
        if self._reading or self._closed:
            return
        self._reading = True
        inbox, self._inbox, self._inbox_size = self._inbox, [], 0
        for chunk in inbox:
            self._deliver(chunk)
        if self._reading and not self._closed:
            self._mux.call_remote(Unchoke, id=self.channel_id)

    def is_reading(self) -> bool:
        return self._reading

    # -- from the mux

    def _deliver(self, body: bytes) -> None:
        if self._closed or self._protocol is None:
            return
        if not self._reading:
            self._inbox.append(body)
            self._inbox_size += len(body)
            if self._inbox_size > MAX_INBOX:
                log.warning("virtual channel %d: peer kept sending %d bytes after choke; "
                            "closing", self.channel_id, self._inbox_size)
                self.close()
            return
        feed(self._protocol, body)

    def _remote_closed(self) -> None:
        if self._closed:
            return
        self._finish(None)

    def _choke(self, choked: bool) -> None:
        self._choked = choked
        self._update_pause()

    def _update_pause(self) -> None:
        if self._protocol is None or self._closed:
            return
        want = self._choked or self._mux.writing_paused
        if want != self._told_paused:
            self._told_paused = want
            if want:
                self._protocol.pause_writing()
            else:
                self._protocol.resume_writing()

    def _finish(self, exc: Exception | None) -> None:
        self._closed = True
        self._mux.channels.pop(self.channel_id, None)
        self._mux.channel_closed(self)
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.connection_lost(exc)


class ChannelMux(AMP):
    """An AMP connection that carries virtual channels (mixed into Q2Q's client protocols)."""

    channels: dict[int, VirtualTransport]
    _next_channel: int

    def _mux_init(self) -> None:
        if "channels" not in self.__dict__:
            self.channels = {}
            self._next_channel = 0
            self.on_channel_closed: Callable[[VirtualTransport], None] | None = None

    def new_channel(self, channel_id: int | None = None,
                    extra: dict[str, Any] | None = None) -> VirtualTransport:
        """Reserve a channel (ours when ``channel_id`` is None); ValueError when full."""
        self._mux_init()
        if len(self.channels) >= MAX_CHANNELS:
            raise ValueError(f"this connection already carries {MAX_CHANNELS} virtual channels")
        if channel_id is None:
            self._next_channel += 1
            channel_id = self._next_channel
        if channel_id in self.channels:
            raise ValueError(f"virtual channel {channel_id} is in use")
        channel = VirtualTransport(self, channel_id, extra)
        self.channels[channel_id] = channel
        return channel

    def channel_closed(self, channel: VirtualTransport) -> None:
        callback = getattr(self, "on_channel_closed", None)
        if callback is not None:
            callback(channel)

    def _channel(self, channel_id: int) -> VirtualTransport | None:
        self._mux_init()
        return self.channels.get(channel_id)

    @Write.responder
    def _write(self, id: int, body: bytes) -> dict[str, Any]:
        channel = self._channel(id)
        if channel is not None:
            channel._deliver(body)
        return {}

    @Close.responder
    def _close(self, id: int) -> dict[str, Any]:
        channel = self._channel(id)
        if channel is not None:
            channel._remote_closed()
        return {}

    @Choke.responder
    def _choke(self, id: int) -> dict[str, Any]:
        channel = self._channel(id)
        if channel is not None:
            channel._choke(True)
        return {}

    @Unchoke.responder
    def _unchoke(self, id: int) -> dict[str, Any]:
        channel = self._channel(id)
        if channel is not None:
            channel._choke(False)
        return {}

    def pause_writing(self) -> None:
        super().pause_writing()
        self._mux_init()
        for channel in list(self.channels.values()):
            channel._update_pause()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._mux_init()
        for channel in list(self.channels.values()):
            channel._update_pause()

    def stream_ended(self, exc: BaseException | None) -> None:
        super().stream_ended(exc)
        self._mux_init()
        lost = ConnectionResetError("the relay connection to the identity server was lost")
        for channel in list(self.channels.values()):
            channel._finish(lost)
