"""Listening at a Q2Q address (``listenQ2Q``): be reachable by every method at once.

A :class:`Q2QListener` keeps one secured connection to its identity server (which brokers
calls to it and relays virtual connections), a TCP server for direct connections, and —
when PTCP is available — one PTCP socket that answers hole-punched connections and makes
reverse ones. Whatever the method, the caller's connection is authenticated (mutual TLS)
before the application protocol sees a byte.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any, Self

from .address import Q2QAddress
from .certs import CertStore
from .commands import BindUDP, Inbound, Listen, Outbound, Virtual, ask
from .errors import PeerOffline, Q2QError
from .peer import PeerProtocol, factories_from, relayed
from .ptcp_support import bind_ptcp, ptcp_errors, punch
from .session import ServerConnection, server_address, server_session, udp_address
from .tls import server_context
from .udp import public_udp_address

__all__ = ["Q2QListener", "listen"]

log = logging.getLogger(__name__)

Factory = Callable[[], asyncio.BaseProtocol]
#: Seconds a reverse PTCP connection may take to come up.
REVERSE_TIMEOUT = 10.0
#: Waits before each attempt to rejoin a lost identity server (then ``lost`` is resolved).
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 30.0, 30.0, 30.0)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ListenerConnection(ServerConnection):
    """The listener's connection to its identity server: answers the brokered calls."""

    def __init__(self, listener: Q2QListener) -> None:
        super().__init__()
        self.listener = listener

    @Inbound.responder
    def _inbound(self, From: Q2QAddress, to: Q2QAddress, protocol: str,
                 udp_source: tuple[str, int] | None = None) -> dict[str, Any]:
        me = self.listener
        if me.factory_for(protocol) is None:
            raise PeerOffline(f"{me.address.claim()} does not listen for {protocol!r}")
        if udp_source is not None and me.ptcp is not None:
            punch(me.ptcp, udp_source)
        return {"methods": me.methods(), "id": os.urandom(8).hex()}

    @BindUDP.responder
    def _bind_udp(self, protocol: str, q2qsrc: Q2QAddress, q2qdst: Q2QAddress,
                  udpsrc: tuple[str, int], udpdst: tuple[str, int]) -> dict[str, Any]:
        me = self.listener
        if me.ptcp is None:
            raise PeerOffline(f"{me.address.claim()} has no PTCP socket")
        punch(me.ptcp, udpsrc)
        return {}

    @Outbound.responder
    async def _outbound(self, From: Q2QAddress, to: Q2QAddress, protocol: str,
                        id: str, udpdst: tuple[str, int]) -> dict[str, Any]:
        me = self.listener
        if me.ptcp is None:
            raise PeerOffline(f"{me.address.claim()} has no PTCP socket")
        if me.factory_for(protocol) is None:
            raise PeerOffline(f"{me.address.claim()} does not listen for {protocol!r}")
        try:
            await me.ptcp.connect(udpdst, lambda: relayed(PeerProtocol("reverse-ptcp", me)),
                                  timeout=REVERSE_TIMEOUT)
        except ptcp_errors() as exc:
            raise PeerOffline(f"{me.address.claim()} could not reach {udpdst[0]}:"
                              f"{udpdst[1]} over PTCP: {exc}") from None
        return {}

    @Virtual.responder
    def _virtual(self, id: int, From: Q2QAddress, to: Q2QAddress,
                 protocol: str) -> dict[str, Any]:
        me = self.listener
        if me.factory_for(protocol) is None:
            raise PeerOffline(f"{me.address.claim()} does not listen for {protocol!r}")
        channel = self.new_channel(id, {"q2q_method": "virtual"})
        channel.start(relayed(PeerProtocol("virtual", me)))
        return {}

    def stream_ended(self, exc: BaseException | None) -> None:
        super().stream_ended(exc)
        self.listener._server_lost(exc)


class Q2QListener:
    """Reachable as ``address`` for ``factories``' protocols until :meth:`close`."""

    def __init__(self, address: Q2QAddress, factories: Mapping[str, Factory], certs: CertStore,
                 server: tuple[str, int] | None, description: str = "") -> None:
        self.address = address
        self.factories = dict(factories)
        self.certs = certs
        self.server = server
        self.description = description
        self.connection: ListenerConnection | None = None
        self.tcp_server: asyncio.Server | None = None
        self.ptcp: Any = None
        self.ptcp_public: tuple[str, int] | None = None
        self.closed = asyncio.get_running_loop().create_future()
        #: Resolved (with the last failure, or None) if the server stays unreachable.
        self.lost: asyncio.Future[BaseException | None] = (
            asyncio.get_running_loop().create_future())
        self._reconnecting: asyncio.Task[None] | None = None

    # -- what PeerProtocol asks of its answering side

    def server_context(self) -> ssl.SSLContext:
        """Made per connection: CA certificates added to the store since count at once."""
        cert_file, key_file = self.certs.files_for(self.address)
        return server_context(cert_file, key_file, self.certs.ca_pems())

    def factory_for(self, protocol: str) -> Factory | None:
        return self.factories.get(protocol)

    # -- life

    async def start(self, host: str, use_ptcp: bool) -> None:
        self.server_context()  # fails now, with a clear error, if the certificate is missing
        loop = asyncio.get_running_loop()
        self.tcp_server = await loop.create_server(
            lambda: relayed(PeerProtocol("tcp", self)), host, 0)
        if use_ptcp:
            try:
                server = await self._server_ip()
                # A loopback socket cannot reach a server elsewhere: use every interface.
                remote = _is_loopback(host) and not _is_loopback(server[0])
                self.ptcp = await bind_ptcp("0.0.0.0" if remote else host)
                self.ptcp.listen(lambda: relayed(PeerProtocol("ptcp", self)))
                self.ptcp_public = await public_udp_address(self.ptcp, udp_address(server))
            except ptcp_errors() as exc:
                log.info("Q2Q listener %s: no PTCP (%s)", self.address, exc)
                if self.ptcp is not None:
                    self.ptcp.close()
                self.ptcp = None
        await self._join_server()

    async def _server_ip(self) -> tuple[str, int]:
        """The identity server's address as connected (its name resolved)."""
        host, port = server_address(self.address, self.server)
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"cannot resolve {host}")
        resolved = infos[0][4]
        return str(resolved[0]), int(resolved[1])

    def methods(self) -> list[str]:
        """How callers can reach us, best first (the server adds ``virtual``)."""
        found = []
        if self.tcp_server is not None:
            for sock in self.tcp_server.sockets:
                host, port = sock.getsockname()[:2]
                towards_server = None if self.connection is None else self.connection.host
                if towards_server is not None:
                    if host in ("0.0.0.0", "::"):
                        host = str(towards_server[0])  # our address towards the server
                    elif _is_loopback(host) and not _is_loopback(str(towards_server[0])):
                        continue  # callers elsewhere cannot reach our loopback
                found.append(f"tcp@{host}:{port}" if ":" not in host else f"tcp@[{host}]:{port}")
        if self.ptcp is not None and self.ptcp_public is not None:
            found.append(f"ptcp@{self.ptcp_public[0]}:{self.ptcp_public[1]}")
            found.append("reverse-ptcp")
        return found

    def _server_lost(self, exc: BaseException | None) -> None:
        if self.closed.done() or self._reconnecting is not None:
            return
        log.warning("Q2Q listener %s lost its identity server (%s); reconnecting",
                    self.address, exc or "closed")
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        """Back to the server after :data:`RECONNECT_DELAYS`; gives up (``lost``) after."""
        failure: BaseException | None = None
        try:
            for delay in RECONNECT_DELAYS:
                await asyncio.sleep(delay)
                if self.closed.done():
                    return
                try:
                    await self._join_server()
                except (Q2QError, OSError) as exc:
                    failure = exc
                    continue
                log.info("Q2Q listener %s is back on its identity server", self.address)
                return
        finally:
            self._reconnecting = None
        if not self.lost.done():
            self.lost.set_result(failure)

    async def _join_server(self) -> None:
        conn = await server_session(self.address, self.server, self.certs,
                                    ListenerConnection(self))
        try:
            await ask(conn, Listen, From=self.address.claim(),
                      protocols=sorted(self.factories), description=self.description)
        except BaseException:
            conn.close()
            raise
        self.connection = conn

    async def close(self) -> None:
        """Stop listening: the server forgets us; established connections stay up."""
        if not self.closed.done():
            self.closed.set_result(None)
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self.connection is not None:
            self.connection.close()
        if self.tcp_server is not None:
            self.tcp_server.close()
        if self.ptcp is not None:
            self.ptcp.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def listen(from_address: Q2QAddress | str,
                 protocols: Mapping[str, Factory] | list[str] | tuple[str, ...],
                 factory: Factory | None = None, *, certs: CertStore,
                 server: tuple[str, int] | None = None, host: str = "127.0.0.1",
                 description: str = "", ptcp: bool = True) -> Q2QListener:
    """Listen at ``from_address`` (its certificate must be in ``certs``) for ``protocols``.

    ``protocols`` maps protocol names to factories, or lists names served by ``factory``.
    ``server`` is the identity server (default: the address's domain, port 8788).
    """
    address = Q2QAddress.coerce(from_address)
    listener = Q2QListener(address, factories_from(protocols, factory), certs, server,
                           description)
    try:
        await listener.start(host, ptcp)
    except BaseException:
        await listener.close()
        raise
    return listener

