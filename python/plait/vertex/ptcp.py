"""PTCP: reliable byte streams over one UDP socket, for asyncio protocols.

The protocol engine is Rust (``native/ptcp``, wrapped as ``plait._native.PtcpEndpoint``):
handshake, sequence numbers, SACK, retransmission, congestion control, flow control and
keepalive all happen there. This module is the thin adapter: it owns the UDP socket, feeds
the engine what arrives, sends what it produces, re-arms its one timer, and turns its
events into ``connection_made`` / ``data_received`` / ``eof_received`` /
``connection_lost`` calls on ordinary asyncio protocols behind a :class:`PtcpTransport`.

On Linux the socket is read and written in batches by the engine itself
(``recvmmsg``/``sendmmsg``, one Python call per batch); elsewhere, or with
``batch_io=False``, an asyncio ``DatagramProtocol`` carries the datagrams one by one.
Datagrams that are not PTCP (Q2Q's hole punching shares the socket) go to
:attr:`PtcpSocket.on_foreign_datagram`; :meth:`PtcpSocket.send_datagram` sends raw ones.
"""
from __future__ import annotations

import asyncio
import ipaddress
import secrets
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from plait import _native
from plait._native import PtcpError

__all__ = [
    "PtcpConfig", "PtcpError", "PtcpResetError", "PtcpSocket", "PtcpTimeoutError",
    "PtcpTransport", "connect", "listen",
]

Address = tuple[str, int]
ProtocolFactory = Callable[[], asyncio.BaseProtocol]

#: Socket buffer size asked for (the kernel may cap it): a window's worth of datagrams
#: must fit, or loopback drops them.
SOCKET_BUFFER = 8 << 20
#: How long ``PtcpTransport.close()`` waits for the peer's FIN before it resets.
CLOSE_LINGER = 30.0


class PtcpResetError(PtcpError, ConnectionResetError):
    """The peer reset the connection (or refused it)."""


class PtcpTimeoutError(PtcpError, TimeoutError):
    """The peer stopped answering (retransmissions or keepalive probes went unanswered)."""


@dataclass(frozen=True)
class PtcpConfig:
    """The engine's limits (times in seconds); see ``plait_ptcp::Config`` for each."""

    mtu: int = 1400
    max_connections: int = 1024
    max_half_open: int = 128
    send_buffer: int = 2 << 20
    recv_buffer: int = 2 << 20
    initial_rto: float = 1.0
    min_rto: float = 0.2
    max_rto: float = 10.0
    user_timeout: float = 60.0
    keepalive_interval: float | None = 15.0
    keepalive_probes: int = 4
    time_wait: float = 2.0
    ack_delay: float = 0.005
    initial_window: int = 10
    pacing: bool = True
    max_foreign: int = 1024


def _close_error(reason: str) -> Exception | None:
    if reason == "finished":
        return None
    if reason == "timed out":
        return PtcpTimeoutError("PTCP connection timed out: the peer stopped answering")
    if reason == "refused":
        return PtcpResetError("PTCP connection refused")
    return PtcpResetError("PTCP connection reset by peer")


def _grow_buffers(sock: socket.socket) -> None:
    """Asks for big socket buffers (the FORCE variants work as root, past rmem_max)."""
    for force, plain in ((33, socket.SO_RCVBUF), (32, socket.SO_SNDBUF)):
        for opt in (force, plain):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER)
                break
            except OSError:
                continue


class _Datagrams(asyncio.DatagramProtocol):
    """The non-batched path: asyncio delivers datagrams one by one."""

    def __init__(self, owner: PtcpSocket) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.owner._endpoint.receive(data, (addr[0], addr[1]))
        self.owner._kick()

    def error_received(self, exc: Exception) -> None:
        """ICMP errors (port unreachable...): the engine's timers handle the silence."""


class PtcpSocket:
    """One UDP socket, one native endpoint, many PTCP connections."""

    #: Called with ``(data, addr)`` for each datagram that is not PTCP; None drops them.
    on_foreign_datagram: Callable[[bytes, Address], None] | None

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 endpoint: _native.PtcpEndpoint, batch_io: bool) -> None:
        self._loop = loop
        self._sock = sock
        self._endpoint = endpoint
        self._batch = batch_io
        self._dgram: asyncio.DatagramTransport | None = None
        self._conns: dict[int, PtcpTransport] = {}
        self._connecting: dict[int, tuple[asyncio.Future[tuple[PtcpTransport, Any]], ProtocolFactory]] = {}
        self._factory: ProtocolFactory | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._scheduled = False
        self._processing = False
        self._writer = False
        self._closed = False
        self._closed_event = asyncio.Event()
        self._owner_transport: PtcpTransport | None = None
        self.on_foreign_datagram = None
        self.local_address: Address = sock.getsockname()[:2]

    @classmethod
    async def bind(cls, host: str = "127.0.0.1", port: int = 0, *,
                   config: PtcpConfig | None = None, batch_io: bool | None = None) -> PtcpSocket:
        """Binds a UDP socket on ``(host, port)`` (port 0: any free one)."""
        loop = asyncio.get_running_loop()
        cfg = asdict(config or PtcpConfig())
        if batch_io is None:
            batch_io = bool(_native.PTCP_BATCH_IO)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            _grow_buffers(sock)
            sock.bind((host, port))
            endpoint = _native.PtcpEndpoint(sock.fileno() if batch_io else None,
                                            seed=secrets.randbits(64), **cfg)
        except BaseException:
            sock.close()
            raise
        self = cls(loop, sock, endpoint, batch_io)
        if batch_io:
            loop.add_reader(sock.fileno(), self._on_readable)
        else:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=sock)
            self._dgram = transport
        return self

    # ---------------------------------------------------------------- public API

    def listen(self, factory: ProtocolFactory) -> None:
        """Accepts incoming connections, each with a protocol from ``factory()``."""
        self._factory = factory
        self._endpoint.listen(True)

    async def connect(self, addr: Address, factory: ProtocolFactory, *,
                      timeout: float = 10.0) -> tuple[PtcpTransport, Any]:
        """Opens a connection to ``addr``; returns ``(transport, protocol)`` once it is up."""
        if self._closed:
            raise PtcpError("PTCP socket is closed")
        host, port = await self._resolve(addr)
        handle = self._endpoint.connect(host, port)
        fut: asyncio.Future[tuple[PtcpTransport, Any]] = self._loop.create_future()
        self._connecting[handle] = (fut, factory)
        self._kick()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            self._connecting.pop(handle, None)
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                fut.result()[0].abort()
            else:
                self._reset(handle)
            raise PtcpTimeoutError(f"PTCP connect to {host}:{port} timed out after {timeout}s") from None

    def send_datagram(self, addr: Address, data: bytes) -> None:
        """Sends one raw UDP datagram from this socket (hole punching); dropped if the
        socket buffer is full."""
        if self._closed:
            raise PtcpError("PTCP socket is closed")
        try:
            self._sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        """Closes the socket: every connection is reset and its protocol told."""
        if self._closed:
            return
        self._closed = True
        for handle in list(self._conns):
            self._reset(handle)
        for handle, (fut, _) in list(self._connecting.items()):
            self._reset(handle)
            if not fut.done():
                fut.set_exception(PtcpError("PTCP socket closed"))
        self._connecting.clear()
        try:
            self._flush()
        except OSError:
            pass
        if self._timer is not None:
            self._timer.cancel()
        if self._batch:
            self._loop.remove_reader(self._sock.fileno())
            if self._writer:
                self._loop.remove_writer(self._sock.fileno())
            self._sock.close()
        elif self._dgram is not None:
            self._dgram.close()
        self._closed_event.set()

    async def wait_closed(self) -> None:
        """Waits until :meth:`close` has finished."""
        await self._closed_event.wait()

    @property
    def connection_count(self) -> int:
        """Connections in the engine, every state included."""
        return int(self._endpoint.connection_count)

    def stats(self) -> dict[str, int]:
        """The engine's counters (packets in/out, invalid, foreign, resets, ...)."""
        return dict(self._endpoint.stats())

    # ---------------------------------------------------------------- engine driving

    async def _resolve(self, addr: Address) -> Address:
        host, port = addr[0], int(addr[1])
        try:
            ipaddress.ip_address(host)
            return host, port
        except ValueError:
            pass
        family = self._sock.family
        infos = await self._loop.getaddrinfo(host, port, family=family, type=socket.SOCK_DGRAM)
        if not infos:
            raise OSError(f"cannot resolve {host!r}")
        return str(infos[0][4][0]), port

    def _reset(self, handle: int) -> None:
        transport = self._conns.pop(handle, None)
        try:
            self._endpoint.reset(handle)
        except PtcpError:
            pass
        if transport is not None:
            transport._lost(ConnectionAbortedError("PTCP socket closed"))
        self._kick()

    def _kick(self) -> None:
        """Processes events and sends packets soon (once per loop iteration)."""
        if not self._scheduled and not self._processing and not self._closed:
            self._scheduled = True
            self._loop.call_soon(self._process)

    def _on_readable(self) -> None:
        try:
            self._endpoint.pump()
        except OSError as exc:
            self._loop.call_exception_handler({"message": "PTCP socket read failed", "exception": exc})
        self._process()

    def _on_writable(self) -> None:
        self._loop.remove_writer(self._sock.fileno())
        self._writer = False
        self._process()

    def _on_timer(self) -> None:
        self._timer = None
        self._endpoint.handle_timeout()
        self._process()

    def _process(self) -> None:
        """Delivers the engine's events, then sends and re-arms the timer. What protocols
        write meanwhile goes out in the same flush (no extra loop iteration)."""
        self._scheduled = False
        if self._closed:
            return
        self._processing = True
        try:
            for _ in range(64):
                events = self._endpoint.events()
                if not events:
                    break
                for event in events:
                    try:
                        self._dispatch(event)
                    except Exception as exc:  # noqa: BLE001 - a protocol callback failed
                        self._protocol_failed(event, exc)
                if self._closed:
                    return
        finally:
            self._processing = False
        self._flush()
        self._arm_timer()

    def _protocol_failed(self, event: tuple[Any, ...], exc: Exception) -> None:
        """A protocol raised from a callback: report it and abort that connection only."""
        self._loop.call_exception_handler({"message": f"PTCP protocol failed on {event[0]!r}",
                                           "exception": exc})
        transport = self._conns.get(event[1]) if isinstance(event[1], int) else None
        if transport is not None:
            transport.abort()

    def _flush(self) -> None:
        if self._batch:
            try:
                blocked = self._endpoint.flush()
            except OSError as exc:
                self._loop.call_exception_handler({"message": "PTCP socket write failed", "exception": exc})
                return
            if blocked and not self._writer and not self._closed:
                self._writer = True
                self._loop.add_writer(self._sock.fileno(), self._on_writable)
        elif self._dgram is not None:
            for data, addr in self._endpoint.datagrams_to_send():
                self._dgram.sendto(data, addr)

    def _arm_timer(self) -> None:
        delay = self._endpoint.timeout()
        if delay is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return
        at = self._loop.time() + delay
        if self._timer is not None:
            if abs(self._timer_at - at) < 0.0005:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._on_timer)

    def _dispatch(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "data":
            transport = self._conns.get(event[1])
            if transport is not None:
                transport._data(event[2])
        elif kind == "eof":
            transport = self._conns.get(event[1])
            if transport is not None:
                transport._eof()
        elif kind == "writable":
            transport = self._conns.get(event[1])
            if transport is not None:
                transport._writable()
        elif kind == "closed":
            transport = self._conns.pop(event[1], None)
            pending = self._connecting.pop(event[1], None)
            exc = _close_error(event[2])
            if transport is not None:
                transport._lost(exc)
            if pending is not None and not pending[0].done():
                pending[0].set_exception(exc or PtcpResetError("PTCP connection closed during the handshake"))
        elif kind == "connected":
            pending = self._connecting.pop(event[1], None)
            if pending is None:
                self._reset(event[1])
                return
            fut, factory = pending
            if fut.done():
                self._reset(event[1])
                return
            try:
                transport = self._start(event[1], self._endpoint.remote(event[1]), factory)
            except Exception as exc:  # noqa: BLE001 - the factory or connection_made failed
                self._reset(event[1])
                fut.set_exception(exc)
                return
            fut.set_result((transport, transport.get_protocol()))
        elif kind == "incoming":
            if self._factory is None:
                self._reset(event[1])
                return
            try:
                self._start(event[1], event[2], self._factory)
            except Exception as exc:  # noqa: BLE001 - reported, the socket keeps serving
                self._reset(event[1])
                self._loop.call_exception_handler({"message": "PTCP protocol factory failed", "exception": exc})
        elif kind == "foreign":
            callback = self.on_foreign_datagram
            if callback is not None:
                try:
                    callback(event[1], event[2])
                except Exception as exc:  # noqa: BLE001 - reported, the socket keeps serving
                    self._loop.call_exception_handler({"message": "on_foreign_datagram failed", "exception": exc})

    def _start(self, handle: int, peer: Address, factory: ProtocolFactory) -> PtcpTransport:
        protocol = factory()
        transport = PtcpTransport(self, handle, (str(peer[0]), int(peer[1])), protocol)
        self._conns[handle] = transport
        protocol.connection_made(transport)
        return transport


class PtcpTransport(asyncio.Transport):
    """One PTCP connection as an asyncio transport (stream semantics, like TCP's)."""

    def __init__(self, owner: PtcpSocket, handle: int, peer: Address, protocol: asyncio.BaseProtocol) -> None:
        super().__init__()
        self._owner = owner
        self._ep = owner._endpoint
        self._handle = handle
        self._peer = peer
        self._protocol = protocol
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._high = 64 * 1024
        self._low = 16 * 1024
        self._protocol_paused = False
        self._reading = True
        self._eof_requested = False
        self._eof_sent = False
        self._closing = False
        self._lost_called = False
        self._linger: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ writing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._eof_requested:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._lost_called or not data:
            return
        data = bytes(data)
        if self._pending:
            self._pending.append(data)
            self._pending_size += len(data)
        else:
            try:
                taken = self._ep.write(self._handle, data)
            except PtcpError:
                return
            if taken < len(data):
                self._pending.append(data[taken:])
                self._pending_size += len(data) - taken
        self._owner._kick()
        self._maybe_pause()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def write_eof(self) -> None:
        """Sends FIN once everything written has gone (a half-close)."""
        if self._eof_requested:
            return
        self._eof_requested = True
        self._send_eof_if_drained()

    def can_write_eof(self) -> bool:
        return True

    def _send_eof_if_drained(self) -> None:
        if self._eof_requested and not self._pending and not self._eof_sent and not self._lost_called:
            self._eof_sent = True
            try:
                self._ep.close(self._handle)
            except PtcpError:
                pass
            self._owner._kick()

    def _writable(self) -> None:
        while self._pending:
            chunk = self._pending[0]
            try:
                taken = self._ep.write(self._handle, chunk)
            except PtcpError:
                return
            self._pending_size -= taken
            if taken < len(chunk):
                self._pending[0] = chunk[taken:]
                break
            self._pending.pop(0)
        self._send_eof_if_drained()
        if self._protocol_paused and self._pending_size <= self._low:
            self._protocol_paused = False
            self._protocol.resume_writing()

    def _maybe_pause(self) -> None:
        if not self._protocol_paused and self._pending_size > self._high:
            self._protocol_paused = True
            self._protocol.pause_writing()

    def get_write_buffer_size(self) -> int:
        """Bytes waiting in Python for room in the engine's send buffer."""
        return self._pending_size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._low, self._high

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low
        self._maybe_pause()

    # ------------------------------------------------------------------ reading

    def pause_reading(self) -> None:
        if self._reading and not self._lost_called:
            self._reading = False
            self._ep.pause_reading(self._handle)

    def resume_reading(self) -> None:
        if not self._reading and not self._lost_called:
            self._reading = True
            self._ep.resume_reading(self._handle)
            self._owner._kick()

    def is_reading(self) -> bool:
        return self._reading and not self._lost_called

    def _data(self, data: bytes) -> None:
        if self._closing or self._lost_called:
            return  # closed by us: the rest is discarded, as TCP does
        if self._buffered:
            protocol: Any = self._protocol
            view = memoryview(data)
            while view:
                buf = memoryview(protocol.get_buffer(len(view)))
                n = min(len(buf), len(view))
                if n == 0:
                    raise RuntimeError("get_buffer() returned an empty buffer")
                buf[:n] = view[:n]
                protocol.buffer_updated(n)
                view = view[n:]
        else:
            self._protocol.data_received(data)  # type: ignore[attr-defined]

    def _eof(self) -> None:
        if self._closing or self._lost_called:
            return
        keep_open = self._protocol.eof_received()  # type: ignore[attr-defined]
        if not keep_open:
            self.close()

    # ------------------------------------------------------------------ closing

    def is_closing(self) -> bool:
        return self._closing or self._lost_called

    def close(self) -> None:
        """Sends what is buffered, then FIN; the protocol's ``connection_lost`` follows once
        the peer has finished too (or after :data:`CLOSE_LINGER` seconds, with a reset)."""
        if self._closing or self._lost_called:
            return
        self._closing = True
        self.write_eof()
        self._linger = self._owner._loop.call_later(CLOSE_LINGER, self.abort)

    def abort(self) -> None:
        """Resets the connection at once; ``connection_lost(None)`` follows."""
        if self._lost_called:
            return
        self._owner._conns.pop(self._handle, None)
        try:
            self._ep.reset(self._handle)
        except PtcpError:
            pass
        self._owner._kick()
        self._lost(None)

    def _lost(self, exc: Exception | None) -> None:
        if self._lost_called:
            return
        self._lost_called = True
        self._closing = True
        if self._linger is not None:
            self._linger.cancel()
        self._pending.clear()
        self._pending_size = 0
        self._owner._loop.call_soon(self._protocol.connection_lost, exc)
        owner = self._owner
        if owner._owner_transport is self:
            owner._loop.call_soon(owner.close)

    # ------------------------------------------------------------------ info

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return self._peer
        if name == "sockname":
            return self._owner.local_address
        if name == "socket":
            return self._owner._sock
        if name == "ptcp_socket":
            return self._owner
        if name == "ptcp_state":
            try:
                return self._ep.state(self._handle)
            except PtcpError:
                return "CLOSED"
        if name == "ptcp_path":
            try:
                return self._ep.path_stats(self._handle)
            except PtcpError:
                return default
        return default

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)


async def listen(port: int, factory: ProtocolFactory, *, host: str = "127.0.0.1",
                 config: PtcpConfig | None = None, batch_io: bool | None = None) -> PtcpSocket:
    """Binds ``(host, port)`` and accepts PTCP connections with ``factory``."""
    sock = await PtcpSocket.bind(host, port, config=config, batch_io=batch_io)
    sock.listen(factory)
    return sock


async def connect(addr: Address, factory: ProtocolFactory, *, host: str = "127.0.0.1", port: int = 0,
                  timeout: float = 10.0, config: PtcpConfig | None = None,
                  batch_io: bool | None = None) -> tuple[PtcpTransport, Any]:
    """Connects to ``addr`` from a socket of its own (closed with the connection)."""
    sock = await PtcpSocket.bind(host, port, config=config, batch_io=batch_io)
    try:
        transport, protocol = await sock.connect(addr, factory, timeout=timeout)
    except BaseException:
        sock.close()
        raise
    sock._owner_transport = transport
    return transport, protocol
