"""A client's AMP connection to an identity server, and the calls made on it.

Why its own module: ``register``, ``request_cert``, ``connect`` and ``listen`` all start the
same way — reach the server, learn (or check) the domain's CA with ``identify``, secure the
connection anonymously or as an address — and all turn the same network failures into
one-line :class:`~.errors.Q2QError`\\ s.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from typing import TypeVar

from plait.vertex.juice import AmpError

from .address import Q2QAddress
from .ca import load_certificate
from .certs import CertStore
from .commands import Identify, Secure, WhoAmI, ask
from .errors import CertificateMismatch, ConnectionFailed, Q2QError
from .peer import Q2QProtocol, relayed, secure_as_caller
from .tls import client_context

__all__ = [
    "DEFAULT_PORT",
    "ServerConnection",
    "foreign_session",
    "open_server",
    "os_reason",
    "server_address",
    "server_errors",
    "udp_address",
]

#: The identity server's TCP port; its UDP port is the next one.
DEFAULT_PORT = 8788
#: Seconds to reach the identity server.
CONNECT_TIMEOUT = 10.0

S = TypeVar("S", bound="ServerConnection")


class ServerConnection(Q2QProtocol):
    """A client's connection to an identity server (it may carry virtual channels)."""


@contextlib.contextmanager
def server_errors(server: tuple[str, int]) -> Iterator[None]:
    """Failures of the identity server's connection as one-line :class:`ConnectionFailed`."""
    try:
        yield
    except Q2QError:
        raise
    except ConnectionError:
        raise ConnectionFailed(f"the identity server {server[0]}:{server[1]} closed the "
                               "connection") from None
    except AmpError as exc:
        raise ConnectionFailed(f"the identity server {server[0]}:{server[1]} failed: "
                               f"{str(exc).splitlines()[0] if str(exc) else exc!r}") from None


def os_reason(exc: OSError) -> str:
    """An OSError as its plain reason (``Connection refused``), without asyncio's wrapping."""
    return os.strerror(exc.errno) if exc.errno else str(exc)


def server_address(address: Q2QAddress, server: tuple[str, int] | None) -> tuple[str, int]:
    """Where the identity server of ``address``'s domain is: ``server``, or domain:8788."""
    return server if server is not None else (address.domain, DEFAULT_PORT)


def udp_address(server: tuple[str, int]) -> tuple[str, int]:
    """The identity server's UDP port: the one after its TCP port."""
    return server[0], server[1] + 1


async def open_server(server: tuple[str, int], proto: S, *,
                      timeout: float = CONNECT_TIMEOUT) -> S:
    """Connect ``proto`` to the identity server; ConnectionFailed with the reason."""
    loop = asyncio.get_running_loop()
    host, port = server
    try:
        await asyncio.wait_for(
            loop.create_connection(lambda: relayed(proto), host, port), timeout)
    except TimeoutError:
        raise ConnectionFailed(f"the identity server {host}:{port} did not answer in "
                               f"{timeout:g} s") from None
    except OSError as exc:
        raise ConnectionFailed(f"cannot reach the identity server {host}:{port}: "
                               f"{os_reason(exc)}") from None
    return proto


async def fetch_ca(proto: ServerConnection, address: Q2QAddress) -> bytes:
    """The domain's CA certificate, as the server gives it (``identify``)."""
    answer = await ask(proto, Identify, subject=address.claim())
    pem: bytes = answer["certificate"]
    try:
        load_certificate(pem)
    except ValueError:
        raise CertificateMismatch(f"the identity server of {address.domain} sent an "
                                  "unreadable CA certificate") from None
    return pem


async def secure_anonymously(proto: ServerConnection, domain: str, ca_pem: bytes) -> None:
    """TLS to the server checked against ``ca_pem``, showing no certificate of ours."""
    ca = load_certificate(ca_pem)
    proto.expected_peer = Q2QAddress(domain)
    proto.trusted = lambda _domain: ca
    try:
        await ask(proto, Secure, to=Q2QAddress(domain), authorize=False,
                  tls_context=client_context(None, None, [ca_pem]))
    except OSError as exc:
        raise CertificateMismatch(f"TLS with the identity server of {domain} failed: "
                                  f"{exc}") from None


async def foreign_session(peer: Q2QAddress, server: tuple[str, int] | None,
                          certs: CertStore) -> ServerConnection:
    """An anonymous TLS connection to the identity server of ``peer``'s (other) domain,
    checked against the CA ``certs`` trusts for it (learnt now if it trusts none yet)."""
    conn = await open_server(server_address(peer, server), ServerConnection())
    try:
        pem = await fetch_ca(conn, peer)
        await _check_or_keep_ca(certs, peer.domain, pem)
        await secure_anonymously(conn, peer.domain, pem)
    except BaseException:
        conn.close()
        raise
    return conn


async def _check_or_keep_ca(certs: CertStore, domain: str, pem: bytes) -> None:
    known = certs.ca_pem(domain)
    if known is None:
        certs.store_ca(domain, pem)
    elif load_certificate(known) != load_certificate(pem):
        raise CertificateMismatch(
            f"the identity server's CA for {domain} is not the one in "
            f"{certs.path} (a different server, or the CA was remade)")


async def server_session(address: Q2QAddress, server: tuple[str, int] | None,
                         certs: CertStore, proto: S) -> S:
    """``proto`` connected to ``address``'s identity server, secured as ``address``."""
    conn = await open_server(server_address(address, server), proto)
    try:
        await _check_or_keep_ca(certs, address.domain, await fetch_ca(conn, address))
        try:
            await secure_as_caller(conn, certs, address, Q2QAddress(address.domain))
            await ask(conn, WhoAmI)  # TLS 1.3: a refused certificate shows here
        except ConnectionError:
            raise CertificateMismatch(f"the identity server of {address.domain} refused "
                                      f"the certificate of {address.claim()}") from None
    except BaseException:
        conn.close()
        raise
    return conn
