"""The Q2Q client API: ``register``, ``request_cert``, ``listen`` and ``connect``.

``connect`` asks the identity server of the callee's domain how the callee can be reached
(``inbound``), then tries the methods in the order given — direct TCP, PTCP through a UDP
hole punch, reverse PTCP, a virtual connection relayed by the server — and returns the
first that gives an authenticated connection: an ordinary asyncio transport whose
``get_extra_info("q2q_method")`` says which method won (``q2q_peer``, ``q2q_local`` and
``q2q_protocol`` say who and what).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from plait.core.errors import ConnectionLost as CoreConnectionLost

from .address import Q2QAddress
from .certs import CertStore
from .commands import BindUDP, Inbound, Outbound, Register, Sign, Virtual, ask, parse_host_port
from .errors import CertificateMismatch, ConnectionFailed, PeerOffline, Q2QError
from .listener import Q2QListener, listen
from .peer import PeerProtocol, relayed, retrieve
from .ptcp_support import PtcpUnavailable, bind_ptcp, ptcp_errors, punch
from .session import (
    ServerConnection,
    fetch_ca,
    foreign_session,
    open_server,
    os_reason,
    secure_anonymously,
    server_address,
    server_errors,
    server_session,
    udp_address,
)
from .tls import Relay
from .udp import public_udp_address

__all__ = ["METHODS", "Q2QListener", "connect", "listen", "register", "request_cert"]

Factory = Callable[[], asyncio.BaseProtocol]
#: Every connection method, in the order ``connect`` tries them by default.
METHODS = ("tcp", "ptcp", "reverse-ptcp", "virtual")
#: Longest one method may take to reach the callee (a connection up, not yet
#: authenticated); the whole call is bounded by ``connect``'s ``timeout``.
METHOD_TIMEOUT = 10.0
#: Longest the mutual authentication may take on a connection that is up (a lossy PTCP
#: path may need several retransmissions per TLS flight).
HANDSHAKE_TIMEOUT = 30.0
#: Longest one TCP address may take to accept (a NAT may drop the SYN silently).
TCP_ATTEMPT_TIMEOUT = 4.0


@contextlib.asynccontextmanager
async def _anonymous(addr: Q2QAddress, server: tuple[str, int] | None,
                     certs: CertStore | None = None) -> AsyncIterator[tuple[ServerConnection, bytes]]:
    """A TLS connection to ``addr``'s identity server, as nobody; with the CA it showed
    (which must be the one ``certs`` already trusts for the domain, if any)."""
    where = server_address(addr, server)
    with server_errors(where):
        conn = await open_server(where, ServerConnection())
        try:
            ca_pem = await fetch_ca(conn, addr)
            known = None if certs is None else certs.ca_pem(addr.domain)
            if known is not None and known.strip() != ca_pem.strip():
                raise CertificateMismatch(
                    f"the identity server's CA for {addr.domain} is not the one in "
                    f"{certs.path if certs else ''} (a different server, or the CA was remade)")
            await secure_anonymously(conn, addr.domain, ca_pem)
            yield conn, ca_pem
        finally:
            conn.close()


async def register(address: Q2QAddress | str, password: str, *,
                   server: tuple[str, int] | None = None) -> None:
    """Create the account ``address`` with ``password`` on its domain's identity server."""
    addr = Q2QAddress.coerce(address)
    async with _anonymous(addr, server) as (conn, _):
        await ask(conn, Register, address=addr.claim(), password=password)


async def request_cert(address: Q2QAddress | str, password: str, certs: CertStore, *,
                       server: tuple[str, int] | None = None) -> bytes:
    """Have ``address``'s certificate signed (password checked) and keep it in ``certs``,
    with its key and the domain's CA certificate; returns the certificate (PEM)."""
    addr = Q2QAddress.coerce(address)
    async with _anonymous(addr, server, certs) as (conn, ca_pem):
        answer = await ask(conn, Sign, certificate_request=certs.request_for(addr),
                           password=password)
    certificate: bytes = answer["certificate"]
    certs.store_ca(addr.domain, ca_pem)
    try:
        certs.store_certificate(addr, certificate)
    except ValueError as exc:
        raise CertificateMismatch(f"the identity server signed a bad certificate: {exc}") from None
    return certificate


class _Attempt:
    """What one ``connect`` call shares between its methods."""

    def __init__(self, conn: ServerConnection, certs: CertStore, local: Q2QAddress,
                 peer: Q2QAddress, protocol: str, factory: Factory) -> None:
        self.conn = conn
        self.certs = certs
        self.local = local
        self.peer = peer
        self.protocol = protocol
        self.factory = factory
        self.offered: list[str] = []
        self.connection_id = ""
        self.ptcp: Any = None
        self.ptcp_public: tuple[str, int] | None = None
        self.keep_server = False

    async def handshake(self, proto: PeerProtocol) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        """Authenticate on a connection a method made (both ways), then switch it."""
        try:
            return await asyncio.wait_for(
                retrieve(proto, self.certs, self.local, self.peer, self.protocol,
                         self.connection_id, self.factory), HANDSHAKE_TIMEOUT)
        except BaseException:
            proto.abort()
            raise

    def offered_addresses(self, kind: str) -> list[tuple[str, int]]:
        prefix = kind + "@"
        found = []
        for method in self.offered:
            if method.startswith(prefix):
                with contextlib.suppress(ValueError):
                    found.append(parse_host_port(method[len(prefix):]))
        return found

    # Each method below reaches the callee: it returns the connected (not yet
    # authenticated) peer protocol, within METHOD_TIMEOUT.

    async def tcp(self) -> PeerProtocol:
        addresses = self.offered_addresses("tcp")
        if not addresses:
            raise PeerOffline(f"{self.peer} offers no TCP address")
        loop = asyncio.get_running_loop()
        errors = []
        for host, port in addresses:
            proto = PeerProtocol("tcp")
            relay = relayed(proto)
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda r=relay: r, host, port),  # type: ignore[misc]
                    TCP_ATTEMPT_TIMEOUT)
            except TimeoutError:
                errors.append(f"{host}:{port}: no answer in {TCP_ATTEMPT_TIMEOUT:g} s")
                continue
            except OSError as exc:
                errors.append(f"{host}:{port}: {os_reason(exc)}")
                continue
            return proto
        raise ConnectionFailed("; ".join(errors))

    def _need_ptcp(self) -> Any:
        if self.ptcp is None or self.ptcp_public is None:
            raise PtcpUnavailable("PTCP is not available here")
        return self.ptcp

    async def ptcp_method(self) -> PeerProtocol:
        sock = self._need_ptcp()
        addresses = self.offered_addresses("ptcp")
        if not addresses:
            raise PeerOffline(f"{self.peer} offers no PTCP address")
        target = addresses[0]
        await ask(self.conn, BindUDP, protocol=self.protocol, q2qsrc=self.local,
                  q2qdst=self.peer, udpsrc=self.ptcp_public, udpdst=target)
        punch(sock, target)
        proto = PeerProtocol("ptcp")
        await sock.connect(target, lambda: relayed(proto), timeout=METHOD_TIMEOUT)
        return proto

    async def reverse_ptcp(self) -> PeerProtocol:
        sock = self._need_ptcp()
        if "reverse-ptcp" not in self.offered:
            raise PeerOffline(f"{self.peer} does not offer reverse PTCP")
        arrived: asyncio.Future[PeerProtocol] = asyncio.get_running_loop().create_future()

        class _Accepted(Relay):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                super().connection_made(transport)
                if not arrived.done():
                    arrived.set_result(self.target)  # type: ignore[arg-type]

        def accept() -> Relay:
            proto = PeerProtocol("reverse-ptcp")
            relay = _Accepted(proto)
            proto.relay = relay
            return relay

        sock.listen(accept)
        for target in self.offered_addresses("ptcp"):
            punch(sock, target)  # opens our NAT to the callee's socket
        await ask(self.conn, Outbound, From=self.local, to=self.peer,
                  protocol=self.protocol, id=self.connection_id, udpdst=self.ptcp_public)
        return await arrived

    async def virtual(self) -> PeerProtocol:
        channel = self.conn.new_channel(extra={"q2q_method": "virtual"})
        proto = PeerProtocol("virtual")
        channel.start(relayed(proto))
        try:
            await ask(self.conn, Virtual, id=channel.channel_id, From=self.local,
                      to=self.peer, protocol=self.protocol)
        except BaseException:
            channel.close()
            raise
        return proto

    def keep_relay(self) -> None:
        """The server connection carries our virtual connection: it closes with it."""
        self.keep_server = True
        conn = self.conn
        conn.on_channel_closed = lambda _channel: None if conn.channels else conn.close()


async def _prepare_ptcp(attempt: _Attempt, wanted: Sequence[str]) -> None:
    if not {"ptcp", "reverse-ptcp"} & set(wanted):
        return
    try:
        attempt.ptcp = await bind_ptcp("0.0.0.0" if attempt.conn.host[0] != "127.0.0.1"
                                       else "127.0.0.1")
        server = attempt.conn.peer
        attempt.ptcp_public = await public_udp_address(
            attempt.ptcp, udp_address((str(server[0]), int(server[1]))))
    except ptcp_errors():
        if attempt.ptcp is not None:
            attempt.ptcp.close()
        attempt.ptcp = None


async def connect(from_address: Q2QAddress | str, to_address: Q2QAddress | str, protocol: str,
                  factory: Factory, *, certs: CertStore, methods: Sequence[str] = METHODS,
                  timeout: float = 30.0, server: tuple[str, int] | None = None
                  ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """Connect as ``from_address`` to ``to_address``'s ``protocol`` by the first of
    ``methods`` that works; ``(transport, protocol)`` as ``loop.create_connection`` gives.

    ``server`` is the identity server of ``to_address``'s domain (default: that domain,
    port 8788). Raises :class:`PeerOffline`, :class:`CertificateMismatch`, or
    :class:`ConnectionFailed` listing why each method failed.
    """
    local, peer = Q2QAddress.coerce(from_address), Q2QAddress.coerce(to_address)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown connection method(s) {unknown or methods!r}; "
                         f"choose from {', '.join(METHODS)}")
    try:
        with server_errors(server_address(peer, server)):
            return await asyncio.wait_for(
                _connect(local, peer, protocol, factory, certs, tuple(methods), server),
                timeout)
    except TimeoutError:
        raise ConnectionFailed(f"cannot connect to {peer} in {timeout:g} s") from None


async def _connect(local: Q2QAddress, peer: Q2QAddress, protocol: str, factory: Factory,
                   certs: CertStore, methods: tuple[str, ...], server: tuple[str, int] | None
                   ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    if local.domain == peer.domain:
        conn = await server_session(local, server, certs, ServerConnection())
    else:  # the callee's server cannot check our certificate: the callee will
        certs.files_for(local)  # ours must be there all the same
        conn = await foreign_session(peer, server, certs)
    attempt = _Attempt(conn, certs, local, peer, protocol, factory)
    try:
        await _prepare_ptcp(attempt, methods)
        answer = await ask(conn, Inbound, From=local, to=peer, protocol=protocol,
                           udp_source=attempt.ptcp_public)
        attempt.offered, attempt.connection_id = list(answer["methods"]), answer["id"]
        reachers = {"tcp": attempt.tcp, "ptcp": attempt.ptcp_method,
                    "reverse-ptcp": attempt.reverse_ptcp, "virtual": attempt.virtual}
        failures = []
        # What makes one method fail and the next one be tried (timeouts are OSErrors).
        retryable: tuple[type[BaseException], ...] = (Q2QError, CoreConnectionLost,
                                                      *ptcp_errors())
        mismatch: CertificateMismatch | None = None
        for method in methods:
            try:
                proto = await asyncio.wait_for(reachers[method](), METHOD_TIMEOUT)
                result = await attempt.handshake(proto)
            except CertificateMismatch as exc:  # maybe a stale address: try the others
                mismatch = mismatch or exc
                failures.append(f"{method}: {_reason(exc)}")
                continue
            except retryable as exc:
                failures.append(f"{method}: {_reason(exc)}")
                continue
            if method == "virtual":
                attempt.keep_relay()
            _keep_ptcp_open(attempt, result[0])
            return result
        if mismatch is not None:  # what the user must hear about, whatever else failed
            raise CertificateMismatch(str(mismatch))
        raise ConnectionFailed(f"cannot connect to {peer} ({'; '.join(failures)})")
    finally:
        if not attempt.keep_server:
            conn.close()
        if attempt.ptcp is not None:  # not handed to a PTCP connection
            attempt.ptcp.close()


def _keep_ptcp_open(attempt: _Attempt, transport: asyncio.Transport) -> None:
    """The caller's PTCP socket lives as long as the connection (closed with it)."""
    sock, attempt.ptcp = attempt.ptcp, None
    if sock is None:
        return
    if transport.get_extra_info("q2q_method") not in ("ptcp", "reverse-ptcp"):
        sock.close()
        return
    layer = getattr(transport, "_layer", None)
    if layer is not None:
        layer.on_lost.append(sock.close)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]
