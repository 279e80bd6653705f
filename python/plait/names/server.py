"""The DNS server: thin asyncio adapters around the native authority, on UDP and TCP.

Why so thin: :meth:`Authority.answer` turns query bytes into response bytes in one native
call, so a UDP datagram is answered without building a Python message at all. Only what
the authority hands back as :attr:`Authority.PASS` is parsed here and dispatched: NOTIFY to
``notify_handler``, AXFR/IXFR to :class:`~plait.names.xfr_server.XfrServer`, and recursive
queries for names outside our zones to ``resolver.resolve_message``.

UDP, on Linux: a native thread (``plait._native.DnsUdpPump``) reads the socket in batches of
up to 64 datagrams (``recvmmsg``), answers them from the same native catalog and writes the
answers with one ``sendmmsg``: no Python per query, and a few system calls per batch instead
of two per query (the kernel's per-call cost was most of the server's time). What the
authority passes comes back to the loop through the pump's queue and is handled here as on
the asyncio path. ``PLAIT_DNS_UDP_PUMP=0`` (or ``serve(udp_pump=False)``, or another OS)
keeps the plain asyncio datagram endpoint. Either way the socket asks for
:data:`UDP_BUFFER_SIZE` bytes of kernel buffer, so bursts are queued rather than dropped.

TCP (RFC 7766): two-byte length framing, queries pipelined and answered as they come (a
slow one does not hold back the ones after it), at most :data:`MAX_IN_FLIGHT` passed queries
per connection, an idle timeout, at most ``max_tcp_connections`` connections. A frame
shorter than a header or not a query closes that connection only. A handler that raises
answers SERVFAIL; nothing a client sends stops the server.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from plait import _native

from .catalog import ZoneCatalog
from .constants import Opcode, Rcode, RRType
from .errors import DNSFormatError
from .message import Message
from .xfr_server import DEFAULT_ALLOW, XfrServer, error_response

__all__ = ["MAX_IN_FLIGHT", "MAX_UDP_PENDING", "UDP_BUFFER_SIZE", "DNSServer", "pump_available",
           "serve"]

log = logging.getLogger(__name__)

NotifyHandler = Callable[[Message, tuple[str, int]], Awaitable[Message | None]]

MAX_IN_FLIGHT = 32        # passed queries being handled on one TCP connection
MAX_UDP_PENDING = 1024    # passed UDP queries being handled at once; more are dropped
PUMP_QUEUE = 1024         # passed UDP queries the native pump holds for the loop; more dropped
UDP_BUFFER_SIZE = 4 << 20  # SO_RCVBUF / SO_SNDBUF asked for (the kernel may cap it)
MAX_MESSAGE = 65535
_HEADER = 12
_BIND_ATTEMPTS = 20


def pump_available() -> bool:
    """Whether UDP is answered by the native pump: on Linux unless PLAIT_DNS_UDP_PUMP=0."""
    return (getattr(_native, "DnsUdpPump", None) is not None
            and os.environ.get("PLAIT_DNS_UDP_PUMP", "1").strip() != "0")


def _raw_error(data: bytes, rcode: int) -> bytes | None:
    """A header-only reply with ``rcode`` to a query that cannot be parsed (None if it
    is too short to have an id or is itself a response)."""
    if len(data) < _HEADER or data[2] & 0x80:
        return None
    flags = 0x8000 | ((data[2] << 8) & 0x7900)   # QR, opcode and RD kept
    return data[:2] + (flags | rcode).to_bytes(2, "big") + bytes(8)


class DNSServer:
    """A running server; ``serve()`` makes one. ``port`` is the bound port."""

    def __init__(self, catalog: ZoneCatalog, host: str, *, transfer_allow: Sequence[str],
                 notify_handler: NotifyHandler | None, resolver: Any | None,
                 tcp_idle_timeout: float, max_tcp_connections: int) -> None:
        self.catalog = catalog
        self.host = host
        self.port = 0
        self.xfr = XfrServer(catalog, transfer_allow)
        self.notify_handler = notify_handler
        self.resolver = resolver
        self.tcp_idle_timeout = tcp_idle_timeout
        self.max_tcp_connections = max_tcp_connections
        self._udp: asyncio.DatagramTransport | _UDPPump | None = None
        self._tcp: asyncio.Server | None = None
        self._connections: set[_TCPProtocol] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._udp_pending = 0
        self.closed = False

    # ------------------------------------------------------------- passed queries

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def handle_passed(self, data: bytes, peer: Any, tcp: bool,
                            send: Callable[[bytes], Awaitable[None]]) -> None:
        """Answer a query the authority passed to Python; errors answer SERVFAIL."""
        try:
            query = Message.from_wire(data)
        except DNSFormatError:
            reply = _raw_error(data, Rcode.FORMERR)
            if reply is not None:
                await send(reply)
            return
        try:
            await self._dispatch(query, peer, tcp, send)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("DNS handler failed for %s from %s", query.questions[:1], peer)
            await send(error_response(query, Rcode.SERVFAIL).to_wire())

    async def _dispatch(self, query: Message, peer: Any, tcp: bool,
                        send: Callable[[bytes], Awaitable[None]]) -> None:
        if query.opcode == Opcode.NOTIFY:
            if self.notify_handler is None:
                await send(error_response(query, Rcode.NOTIMP).to_wire())
                return
            reply = await self.notify_handler(query, (str(peer[0]), int(peer[1])))
            if reply is not None:
                await send(reply.to_wire())
            return
        if not query.questions:
            await send(error_response(query, Rcode.FORMERR).to_wire())
            return
        if query.questions[0].rtype in (RRType.AXFR, RRType.IXFR):
            for wire in self.xfr.responses(query, peer, tcp):
                await send(wire)
            return
        if self.resolver is None:
            await send(error_response(query, Rcode.REFUSED).to_wire())
            return
        try:
            answer = await self.resolver.resolve_message(query)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any resolver failure is SERVFAIL
            log.info("resolver failed for %s: %s", query.questions[0], exc)
            await send(error_response(query, Rcode.SERVFAIL).to_wire())
            return
        answer = answer.with_flags(qr=True, ra=True, rd=query.rd, aa=False)
        if answer.id != query.id:
            answer = Message(query.id, answer.flags, answer.rcode, answer.questions,
                             answer.answers, answer.authority, answer.additional, answer.edns)
        await send(answer.to_wire(MAX_MESSAGE if tcp else self._udp_size(query)))

    def udp_passed(self, data: bytes, addr: Any,
                   sendto: Callable[[bytes, Any], None]) -> None:
        """Handle a UDP query the authority passed, unless MAX_UDP_PENDING are already
        being handled (then it is dropped: the client will retry)."""
        if self._udp_pending >= MAX_UDP_PENDING:
            return
        self._udp_pending += 1
        self.spawn(self._udp_passed(data, addr, sendto))

    async def _udp_passed(self, data: bytes, addr: Any,
                          sendto: Callable[[bytes, Any], None]) -> None:
        async def send(wire: bytes) -> None:
            sendto(wire, addr)

        try:
            await self.handle_passed(data, addr, False, send)
        finally:
            self._udp_pending -= 1

    def _udp_size(self, query: Message) -> int:
        if query.edns is None:
            return 512
        limit = getattr(self.catalog.authority, "max_udp_payload", 1232)
        return max(512, min(query.edns.udp_size, int(limit)))

    # ------------------------------------------------------------------- lifecycle

    async def close(self) -> None:
        """Stop listening, close every connection, cancel queries being handled."""
        if self.closed:
            return
        self.closed = True
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
        for conn in list(self._connections):
            conn.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._tcp is not None:
            await self._tcp.wait_closed()

    @property
    def udp_pump(self) -> Any | None:
        """The native ``DnsUdpPump`` answering UDP (its ``stats()`` count what it did), or
        None when UDP runs on the asyncio datagram endpoint."""
        return self._udp.pump if isinstance(self._udp, _UDPPump) else None

    def endpoints(self) -> list[str]:
        """Where it listens, as ``udp:HOST:PORT`` / ``tcp:HOST:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        out = []
        if self._udp is not None:
            out.append(f"udp:{host}:{self.port}")
        if self._tcp is not None:
            out.append(f"tcp:{host}:{self.port}")
        return out

    def __repr__(self) -> str:
        return f"<DNSServer {' '.join(self.endpoints()) or 'closed'}>"


class _UDPProtocol(asyncio.DatagramProtocol):
    """One socket; every datagram answered natively unless the authority passes it."""

    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.answer = server.catalog.authority.answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            r = self.answer(data, False)
        except Exception:
            log.exception("authority failed on a UDP query from %s", addr)
            r = _raw_error(data, Rcode.SERVFAIL)
        if r is None:
            return
        if r.__class__ is bytes:
            self.transport.sendto(r, addr)  # type: ignore[union-attr]
            return
        self.server.udp_passed(data, addr, self._sendto)

    def _sendto(self, wire: bytes, addr: Any) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(wire, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class _UDPPump:
    """The native batched UDP path: the pump's thread answers; the loop drains what it
    passes (NOTIFY, IXFR/AXFR over UDP, recursion) and replies with the socket's sendto."""

    def __init__(self, server: DNSServer, sock: socket.socket, catalog: Any) -> None:
        self.server = server
        self.sock = sock
        self.pump = _native.DnsUdpPump(sock.fileno(), catalog, max_queue=PUMP_QUEUE)
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.loop.add_reader(self.pump.wakeup_fd, self._drain)

    def _drain(self) -> None:
        # At most a queue's worth per wakeup, so a flood of passed queries cannot starve
        # the loop; the pump re-arms the wakeup while more wait.
        for data, addr in self.pump.drain(PUMP_QUEUE):
            if self.closed:
                return
            self.server.udp_passed(data, addr, self._sendto)

    def _sendto(self, wire: bytes, addr: Any) -> None:
        if self.closed:
            return
        try:
            self.sock.sendto(wire, addr)
        except OSError as exc:   # a full send buffer or an unreachable client: UDP, drop it
            log.debug("UDP reply to %s not sent: %s", addr, exc)

    def stats(self) -> dict[str, int]:
        """The pump's counters (see ``DnsUdpPump.stats``)."""
        return self.pump.stats()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.loop.remove_reader(self.pump.wakeup_fd)
        self.pump.close()
        self.sock.close()


def _udp_socket(host: str, port: int) -> socket.socket:
    """A bound, non-blocking UDP socket with large kernel buffers (as big as allowed)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, UDP_BUFFER_SIZE)
            except OSError as exc:
                log.debug("cannot set UDP buffer size: %s", exc)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _TCPProtocol(asyncio.Protocol):
    """One TCP client: frames in, answers out in the order they are ready."""

    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.answer = server.catalog.authority.answer
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self.buffer = bytearray()
        self.in_flight = 0
        self.pauses: set[str] = set()   # why reading is paused: "in-flight", "write"
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.timer: asyncio.TimerHandle | None = None
        self.stall: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self.server
        self.transport = transport  # type: ignore[assignment]
        if server.closed or len(server._connections) >= server.max_tcp_connections:
            log.warning("too many DNS TCP connections (%d); closing a new one",
                        len(server._connections))
            transport.abort()  # type: ignore[attr-defined]
            return
        self.peer = transport.get_extra_info("peername")
        server._connections.add(self)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self.transport = None
        self.can_write.set()
        for timer in (self.timer, self.stall):
            if timer is not None:
                timer.cancel()
        self.timer = self.stall = None
        for task in list(self.tasks):
            task.cancel()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None and self.in_flight == 0:
            self.timer = asyncio.get_running_loop().call_later(
                self.server.tcp_idle_timeout, self._idle)

    def _idle(self) -> None:
        self.timer = None
        if self.transport is not None and self.in_flight == 0:
            log.debug("DNS TCP connection from %s idle; closing", self.peer)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        # The idle timer restarts when a frame starts or completes, not on every byte: a
        # frame must arrive whole within the timeout (a trickling client is dropped).
        restart = not buf
        buf += data
        while len(buf) >= 2 and self.transport is not None:
            size = (buf[0] << 8) | buf[1]
            if size < _HEADER:
                self._bad("frame shorter than a DNS header")
                return
            if len(buf) < 2 + size:
                break
            frame = bytes(buf[2:2 + size])
            del buf[:2 + size]
            restart = True
            self._query(frame)
            if self.pauses:
                break
        if restart:
            self._arm()

    def _bad(self, why: str) -> None:
        log.info("closing DNS TCP connection from %s: %s", self.peer, why)
        self.buffer.clear()
        if self.transport is not None:
            self.transport.abort()

    def _query(self, frame: bytes) -> None:
        try:
            r = self.answer(frame, True)
        except Exception:
            log.exception("authority failed on a TCP query from %s", self.peer)
            r = _raw_error(frame, Rcode.SERVFAIL)
        if r is None:
            self._bad("not a DNS query")
            return
        if r.__class__ is bytes:
            self._write(r)  # type: ignore[arg-type]
            return
        self.in_flight += 1
        if self.in_flight >= MAX_IN_FLIGHT:
            self._pause("in-flight")
        task = self.server.spawn(self._passed(frame))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _passed(self, frame: bytes) -> None:
        async def send(wire: bytes) -> None:
            await self.can_write.wait()
            if self.transport is None or self.transport.is_closing():
                raise ConnectionResetError("DNS TCP client went away")
            self._write(wire)

        try:
            await self.server.handle_passed(frame, self.peer, True, send)
        except ConnectionResetError:
            pass
        finally:
            self.in_flight -= 1
            if self.in_flight <= MAX_IN_FLIGHT // 2:
                self._resume("in-flight")
            self._arm()

    def _write(self, wire: bytes) -> None:
        if self.transport is not None and len(wire) <= MAX_MESSAGE:
            self.transport.write(len(wire).to_bytes(2, "big") + wire)

    def _pause(self, why: str) -> None:
        if not self.pauses and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self.pauses.add(why)

    def _resume(self, why: str) -> None:
        if why not in self.pauses:
            return
        self.pauses.discard(why)
        if not self.pauses and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
            if self.buffer:
                self.data_received(b"")   # frames that arrived before the pause

    def pause_writing(self) -> None:
        # A client that does not read its answers gets no more queries read, and is
        # dropped if it stays stalled for the idle timeout.
        self.can_write.clear()
        self._pause("write")
        if self.stall is None:
            self.stall = asyncio.get_running_loop().call_later(
                self.server.tcp_idle_timeout, self._stalled)

    def resume_writing(self) -> None:
        self.can_write.set()
        if self.stall is not None:
            self.stall.cancel()
            self.stall = None
        self._resume("write")

    def _stalled(self) -> None:
        self.stall = None
        self._bad("client not reading its answers")


async def serve(catalog: ZoneCatalog, host: str = "127.0.0.1", port: int = 53, *,
                udp: bool = True, tcp: bool = True,
                transfer_allow: Sequence[str] = DEFAULT_ALLOW,
                notify_handler: NotifyHandler | None = None,
                resolver: Any | None = None,
                tcp_idle_timeout: float = 10.0,
                max_tcp_connections: int = 256,
                udp_pump: bool = True) -> DNSServer:
    """Answer DNS for ``catalog`` on ``host``:``port`` (UDP and TCP on one port number;
    with port 0 a free one is picked, see :attr:`DNSServer.port`). ``udp_pump``: answer
    UDP on the native batched path when :func:`pump_available` (see the module docstring)."""
    if not udp and not tcp:
        raise ValueError("serve() needs UDP, TCP or both")
    if tcp_idle_timeout <= 0 or max_tcp_connections < 1:
        raise ValueError("tcp_idle_timeout must be > 0 and max_tcp_connections >= 1")
    server = DNSServer(catalog, host, transfer_allow=transfer_allow,
                       notify_handler=notify_handler, resolver=resolver,
                       tcp_idle_timeout=tcp_idle_timeout,
                       max_tcp_connections=max_tcp_connections)
    loop = asyncio.get_running_loop()
    attempts = _BIND_ATTEMPTS if port == 0 and udp and tcp else 1
    for attempt in range(attempts):
        try:
            if tcp:
                server._tcp = await loop.create_server(lambda: _TCPProtocol(server), host,
                                                       port, reuse_address=True)
                server.port = server._tcp.sockets[0].getsockname()[1]
            if udp:
                sock = _udp_socket(host, server.port or port)
                server.port = sock.getsockname()[1]
                native = getattr(catalog.authority, "native", None)
                if udp_pump and pump_available() and isinstance(native, _native.DnsCatalog):
                    try:
                        server._udp = _UDPPump(server, sock, native)
                    except BaseException:
                        sock.close()
                        raise
                else:
                    server._udp, _ = await loop.create_datagram_endpoint(
                        lambda: _UDPProtocol(server), sock=sock)
            break
        except OSError:
            # With port 0 the TCP port picked may be taken on UDP: try another.
            if server._tcp is not None:
                server._tcp.close()
                await server._tcp.wait_closed()
                server._tcp = None
            if attempt == attempts - 1:
                raise
    log.info("DNS server for %d zone(s) on %s", len(catalog), " ".join(server.endpoints()))
    return server
