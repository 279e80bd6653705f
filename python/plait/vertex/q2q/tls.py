"""TLS over any asyncio transport (TCP, PTCP, a relayed virtual channel), with memory BIOs.

Why not ``loop.start_tls``: uvloop only starts TLS on its own TCP and Unix transports, and
Q2Q must authenticate PTCP and relayed connections exactly as it does TCP. :class:`TLSLayer`
sits between a raw transport and the protocol above it and hands that protocol an ordinary
:class:`TLSTransport`. :class:`Relay` is the raw transport's protocol for the connection's
whole life, so the layer (and later the application protocol) can be slipped in without the
raw transport having to support ``set_protocol``.
"""
from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable
from typing import Any

from cryptography import x509

__all__ = [
    "READ_CHUNK",
    "Relay",
    "TLSLayer",
    "TLSTransport",
    "client_context",
    "feed",
    "peer_certificate",
    "server_context",
]

#: Most plaintext taken from the TLS object per read call.
READ_CHUNK = 256 * 1024


def feed(protocol: asyncio.BaseProtocol, data: bytes) -> None:
    """Deliver ``data`` to a stream protocol, buffered (``get_buffer``) or not."""
    if isinstance(protocol, asyncio.BufferedProtocol):
        view = memoryview(data)
        while view:
            buf = memoryview(protocol.get_buffer(len(view)))
            n = min(len(buf), len(view))
            if n == 0:
                raise RuntimeError(f"{protocol!r} gave an empty receive buffer")
            buf[:n] = view[:n]
            protocol.buffer_updated(n)
            view = view[n:]
    else:
        protocol.data_received(data)  # type: ignore[attr-defined]


class Relay(asyncio.Protocol):
    """A raw transport's protocol that forwards every event to ``target`` (swappable)."""

    def __init__(self, target: asyncio.BaseProtocol) -> None:
        self.target = target
        self.transport: asyncio.Transport | None = None
        #: Whether ``target`` still needs ``connection_made`` (set when it is swapped).
        self.made = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.made = True
        self.target.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        feed(self.target, data)

    def eof_received(self) -> bool | None:
        handler = getattr(self.target, "eof_received", None)
        return handler() if handler is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.target.connection_lost(exc)

    def pause_writing(self) -> None:
        self.target.pause_writing()

    def resume_writing(self) -> None:
        self.target.resume_writing()


def _context(protocol: int, cert_file: str | None, key_file: str | None,
             ca_pems: Iterable[bytes]) -> ssl.SSLContext:
    context = ssl.SSLContext(protocol)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False  # Q2Q checks the address a certificate names itself
    cadata = "".join(pem.decode("ascii") for pem in ca_pems)
    if cadata:
        context.load_verify_locations(cadata=cadata)
    if cert_file is not None:
        context.load_cert_chain(cert_file, key_file)
    return context


def client_context(cert_file: str | None, key_file: str | None,
                   ca_pems: Iterable[bytes]) -> ssl.SSLContext:
    """The connecting side: verifies the peer against ``ca_pems``, shows our certificate."""
    context = _context(ssl.PROTOCOL_TLS_CLIENT, cert_file, key_file, ca_pems)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def server_context(cert_file: str, key_file: str, ca_pems: Iterable[bytes], *,
                   require_client: bool = True) -> ssl.SSLContext:
    """The answering side; client certificates are required (or only checked if shown)."""
    context = _context(ssl.PROTOCOL_TLS_SERVER, cert_file, key_file, ca_pems)
    context.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return context


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> x509.Certificate | None:
    """The certificate the peer presented, or None."""
    if ssl_object is None:
        return None
    return certificate_from_der(ssl_object.getpeercert(binary_form=True))


def certificate_from_der(der: bytes | None) -> x509.Certificate | None:
    return None if not der else x509.load_der_x509_certificate(der)


class TLSTransport(asyncio.Transport):
    """The transport the protocol above a :class:`TLSLayer` writes to."""

    def __init__(self, layer: TLSLayer) -> None:
        super().__init__()
        self._layer = layer
        self.extra: dict[str, Any] = {}

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in self.extra:
            return self.extra[name]
        if name == "ssl_object":
            return self._layer.ssl_object
        if name == "peercert":
            return self._layer.ssl_object.getpeercert()
        if name == "cipher":
            return self._layer.ssl_object.cipher()
        return self._layer.raw.get_extra_info(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._layer.write(bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self._layer.write(b"".join(bytes(d) for d in list_of_data))

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:
        raise RuntimeError("a TLS stream cannot be half-closed: call close()")

    def close(self) -> None:
        self._layer.close()

    def abort(self) -> None:
        self._layer.abort()

    def is_closing(self) -> bool:
        return self._layer.closing

    def pause_reading(self) -> None:
        self._layer.pause_reading()

    def resume_reading(self) -> None:
        self._layer.resume_reading()

    def is_reading(self) -> bool:
        return not self._layer.paused

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._layer.app = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._layer.app

    def get_write_buffer_size(self) -> int:
        return int(self._layer.raw.get_write_buffer_size())

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._layer.raw.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._layer.raw.set_write_buffer_limits(high, low)


class TLSLayer(asyncio.Protocol):
    """TLS between ``raw`` and ``app``: becomes the :class:`Relay`'s target on start."""

    def __init__(self, raw: asyncio.Transport, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: str | None, app: asyncio.BaseProtocol) -> None:
        self.raw = raw
        self.app = app
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self.ssl_object = context.wrap_bio(self._incoming, self._outgoing,
                                           server_side=server_side,
                                           server_hostname=server_hostname)
        self.transport = TLSTransport(self)
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closing = False
        self.paused = False
        self._lost = False
        #: Called once the raw connection is gone (to release what carried it).
        self.on_lost: list[Callable[[], object]] = []
        #: The peer's certificate (DER) once the handshake is done.
        self.peer_der: bytes | None = None

    def start(self) -> None:
        """Begin the handshake (the client writes its hello now)."""
        self._handshake()

    def _flush(self) -> None:
        data = self._outgoing.read()
        if data and not self.raw.is_closing():
            self.raw.write(data)

    def _handshake(self) -> None:
        try:
            self.ssl_object.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, ssl.CertificateError, OSError) as exc:
            self._flush()
            self._fail(exc)
            return
        self._flush()
        # Kept now: a failure right after the handshake leaves the TLS object unusable.
        self.peer_der = self.ssl_object.getpeercert(binary_form=True)
        if not self.handshake.done():
            self.handshake.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(exc)
        self.closing = True
        self.raw.abort()

    # -- from the raw transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Not called: the layer is slipped in on a connection that is already made."""

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if not self.handshake.done():
            self._handshake()
            if not self.handshake.done() or self.handshake.exception() is not None:
                return
        if not self.paused:
            self._read()

    def _read(self) -> None:
        chunks: list[bytes] = []
        eof = False
        while not self.closing:
            try:
                data = self.ssl_object.read(READ_CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                eof = True
                break
            except (ssl.SSLError, OSError) as exc:
                self._flush()
                self._deliver(chunks)
                self._fail(exc)
                return
            if not data:
                eof = True
                break
            chunks.append(data)
        self._flush()
        self._deliver(chunks)
        if eof:
            self.close()

    def _deliver(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            if self._lost:
                return
            feed(self.app, chunk)

    def eof_received(self) -> bool | None:
        return False  # a TLS stream ends with close_notify; a bare EOF ends it all

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self.closing = True
        callbacks, self.on_lost = self.on_lost, []
        for callback in callbacks:
            callback()
        if not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionResetError(
                "the connection closed during the TLS handshake"))
            return
        self.app.connection_lost(exc)

    def pause_writing(self) -> None:
        self.app.pause_writing()

    def resume_writing(self) -> None:
        self.app.resume_writing()

    # -- from the protocol above

    def write(self, data: bytes) -> None:
        if self.closing or not data:
            return
        try:
            self.ssl_object.write(data)
        except (ssl.SSLError, OSError) as exc:
            self._fail(exc)
            return
        self._flush()

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        if self.handshake.done() and self.handshake.exception() is None:
            try:
                self.ssl_object.unwrap()
            except (ssl.SSLError, OSError):
                pass
            self._flush()
        self.raw.close()

    def abort(self) -> None:
        self.closing = True
        self.raw.abort()

    def pause_reading(self) -> None:
        if not self.paused:
            self.paused = True
            self.raw.pause_reading()

    def resume_reading(self) -> None:
        if self.paused:
            self.paused = False
            self.raw.resume_reading()
            if self.handshake.done() and self.handshake.exception() is None:
                self._read()
