"""Q2Q's client-side AMP connections: TLS over any transport, and the peer handshake.

Why here: a connection a method produced (TCP, PTCP, a relayed channel) is made a Q2Q
connection the same way whatever carried it. The caller sends ``secure`` (both ends show a
certificate; each checks that the other's is signed by the CA of the other's domain and
names the address it expected), then ``retrieve-connection``; the answer switches both ends
to the application protocol. So that no application byte is mistaken for an AMP box, the
listener starts its protocol only when the caller's first byte (:data:`START`) arrives,
which the caller sends once it has the answer.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from cryptography import x509

from plait.core.errors import ConnectionLost as CoreConnectionLost
from plait.vertex.juice import TLSError

from .address import Q2QAddress
from .ca import address_of, verify_certificate
from .certs import CertStore
from .commands import RetrieveConnection, Secure, ask
from .errors import CertificateMismatch, PeerOffline
from .tls import Relay, TLSLayer, TLSTransport, certificate_from_der, client_context, feed
from .virtual import ChannelMux

__all__ = ["START", "TLS_HANDSHAKE_TIMEOUT", "PeerProtocol", "Q2QProtocol", "relayed",
           "secure_as_caller"]

log = logging.getLogger(__name__)

#: The caller's first application-phase byte: the listener's protocol starts on it.
START = b"\x01"
#: How long a TLS handshake may take.
TLS_HANDSHAKE_TIMEOUT = 30.0

Factory = Callable[[], asyncio.BaseProtocol]


def relayed(protocol: Q2QProtocol) -> Relay:
    """The raw transport's protocol for ``protocol`` (so TLS can be slipped in later)."""
    relay = Relay(protocol)
    protocol.relay = relay
    return relay


class Q2QProtocol(ChannelMux):
    """AMP whose StartTLS runs :class:`TLSLayer` on the raw transport and then checks that
    the peer's certificate names ``expected_peer`` and is signed by its domain's CA."""

    relay: Relay | None = None
    tls_layer: TLSLayer | None = None
    #: Whom the peer must prove to be, and the CA certificate of each domain we trust.
    expected_peer: Q2QAddress | None = None
    trusted: Callable[[str], x509.Certificate] | None = None

    async def start_tls(self, context: ssl.SSLContext, *, server_side: bool,
                        server_hostname: str | None = None,
                        handshake_timeout: float | None = None) -> None:
        if self.transport is None or self._closing or self.relay is None:
            raise CoreConnectionLost("connection lost")
        self.flush()
        raw = self.transport
        layer = TLSLayer(raw, context, server_side=server_side,  # type: ignore[arg-type]
                         server_hostname=server_hostname, app=self)
        self.tls_layer = layer
        self.relay.target = layer
        self._tls_switching = True
        try:
            layer.start()
            await asyncio.wait_for(asyncio.shield(layer.handshake),
                                   handshake_timeout or TLS_HANDSHAKE_TIMEOUT)
            self._check_peer(layer, server_side)
        except BaseException:
            self._tls_switching = False
            self._discard_writes()
            layer.abort()
            raise
        self._tls_switching = False
        self._bind(layer.transport)
        self.flush()

    def _check_peer(self, layer: TLSLayer, server_side: bool) -> None:
        expected = self.expected_peer
        if expected is None:
            return
        try:
            if layer.closing:
                raise ConnectionResetError(f"{expected} closed the connection during TLS")
            cert = certificate_from_der(layer.peer_der)
            if cert is None:
                raise CertificateMismatch(f"{expected} showed no certificate")
            if self.trusted is None:
                raise CertificateMismatch(f"no CA certificate to check {expected} with")
            verify_certificate(cert, self.trusted(expected.domain), expected)
        except CertificateMismatch as exc:
            if server_side:  # the responder: AMP logs an OSError and drops the connection
                raise ConnectionAbortedError(str(exc)) from None
            raise


class Answering(Protocol):
    """What the answering side of a peer connection needs (a listener)."""

    address: Q2QAddress
    certs: CertStore

    def server_context(self) -> ssl.SSLContext: ...
    def factory_for(self, protocol: str) -> Factory | None: ...


class _StartGate(asyncio.Protocol):
    """Holds a switched connection until the caller's :data:`START` byte, then starts the
    application protocol on it."""

    def __init__(self, transport: TLSTransport, factory: Factory) -> None:
        self.transport = transport
        self.factory = factory
        self.app: asyncio.BaseProtocol | None = None
        self.paused_writing = False

    def data_received(self, data: bytes) -> None:
        if self.app is not None:
            feed(self.app, data)
            return
        if data[:1] != START:
            log.warning("Q2Q peer sent %r instead of the start byte; closing", data[:8])
            self.transport.abort()
            return
        self.app = self.factory()
        self.transport.set_protocol(self.app)
        self.app.connection_made(self.transport)
        if self.paused_writing:
            self.app.pause_writing()
        if len(data) > 1:
            feed(self.app, data[1:])

    def connection_lost(self, exc: Exception | None) -> None:
        if self.app is not None:
            self.app.connection_lost(exc)

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False


class PeerProtocol(Q2QProtocol):
    """One end of a peer connection: the caller drives it with :func:`secure_as_caller`;
    the answering side responds with its listener's certificate and protocols."""

    def __init__(self, method: str, answering: Answering | None = None) -> None:
        super().__init__()
        self.method = method
        self.answering = answering
        self.switched: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @Secure.responder
    def _secure(self, to: Q2QAddress, authorize: bool, From: Q2QAddress | None = None
                ) -> dict[str, Any]:
        me = self.answering
        if me is None:
            raise TLSError("this end does not answer Q2Q calls")
        if From is None:
            raise CertificateMismatch("a Q2Q peer must say who it is (From)")
        if to.claim() != me.address.claim():
            raise CertificateMismatch(f"this is {me.address.claim()}, not {to.claim()}")
        if me.certs.ca_pem(From.domain) is None:
            raise CertificateMismatch(f"{me.address.claim()} has no CA certificate for "
                                      f"{From.domain}")
        self.expected_peer = From
        self.trusted = me.certs.ca_certificate
        return {"tls_context": me.server_context()}

    @RetrieveConnection.responder
    def _retrieve(self, protocol: str, id: str) -> dict[str, Any]:
        me = self.answering
        layer = self.tls_layer
        if me is None or layer is None or self.expected_peer is None:
            raise CertificateMismatch("secure the connection before retrieving a protocol")
        factory = me.factory_for(protocol)
        if factory is None:
            raise PeerOffline(f"{me.address.claim()} does not listen for {protocol!r}")
        transport = layer.transport
        transport.extra.update(q2q_method=self.method, q2q_peer=str(self.expected_peer),
                               q2q_local=str(me.address), q2q_protocol=protocol)
        layer.app = _StartGate(transport, factory)
        return {}


async def secure_as_caller(proto: Q2QProtocol, certs: CertStore, local: Q2QAddress,
                           peer: Q2QAddress) -> None:
    """``secure`` as ``local`` towards ``peer``: mutual TLS, the peer's name checked."""
    cert_file, key_file = certs.files_for(local)
    named = address_of(certs.certificate(local))
    if named != local.claim():
        raise CertificateMismatch(f"the certificate kept for {local.claim()} in {certs.path} "
                                  f"is for {named}")
    ca = certs.ca_pem(peer.domain)
    if ca is None:
        raise CertificateMismatch(f"no CA certificate for {peer.domain} in {certs.path}")
    context = client_context(cert_file, key_file, [ca])
    proto.expected_peer = peer
    proto.trusted = certs.ca_certificate
    try:
        await ask(proto, Secure, From=local, to=peer, authorize=True, tls_context=context)
    except ssl.SSLCertVerificationError as exc:
        raise CertificateMismatch(f"{peer}'s certificate is not signed by the CA of "
                                  f"{peer.domain} ({exc.verify_message})") from None
    except ssl.SSLError as exc:
        raise CertificateMismatch(f"TLS with {peer} failed: {exc.reason or exc}") from None
    except ConnectionError:
        raise CertificateMismatch(f"{peer} closed the connection during TLS (does it trust "
                                  f"the CA of {local.domain}?)") from None


async def retrieve(proto: PeerProtocol, certs: CertStore, local: Q2QAddress, peer: Q2QAddress,
                   protocol: str, connection_id: str, factory: Factory
                   ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """The caller's whole handshake on a fresh peer connection; the application's
    ``(transport, protocol)``."""
    await secure_as_caller(proto, certs, local, peer)
    try:
        await ask(proto, RetrieveConnection, protocol=protocol, id=connection_id)
    except CoreConnectionLost:
        raise CertificateMismatch(f"{peer} closed the connection after TLS (does it trust "
                                  f"the CA of {local.domain}?)") from None
    layer = proto.tls_layer
    assert layer is not None
    transport = layer.transport
    transport.extra.update(q2q_method=proto.method, q2q_peer=str(peer),
                           q2q_local=str(local), q2q_protocol=protocol)
    app = factory()
    layer.app = app
    transport.write(START)
    app.connection_made(transport)
    return transport, app


def factories_from(protocols: Mapping[str, Factory] | list[str] | tuple[str, ...],
                   factory: Factory | None) -> dict[str, Factory]:
    """``listen``'s protocols argument as a name -> factory mapping."""
    if isinstance(protocols, Mapping):
        if factory is not None:
            raise TypeError("give protocols as a mapping or a list with factory, not both")
        result = dict(protocols)
    else:
        if factory is None:
            raise TypeError("a list of protocols needs factory=")
        result = {name: factory for name in protocols}
    if not result:
        raise ValueError("listen needs at least one protocol")
    for name in result:
        if not isinstance(name, str) or not 0 < len(name) <= 64:
            raise ValueError(f"bad protocol name {name!r} (1-64 characters)")
    return result
