"""Endpoints from strings, as Twisted's strports: ``tcp:8080:interface=127.0.0.1``.

Why strings: a service's address is configuration that lives in the site store and on
command lines; one short, printable syntax covers TCP, IPv6, UNIX sockets, TLS and UDP
for both listening and connecting.  A malformed description raises ``ValueError`` that
starts with the description and names the bad part.

Syntax: ``kind:arg:arg:key=value``; ``\\:`` escapes a colon (``interface=\\:\\:1``), and
for convenience an unescaped IPv6 address after ``key=`` is accepted too
(``tcp6:8080:interface=::1``).
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ClientEndpoint",
    "DatagramListeningPort",
    "ListeningPort",
    "ProtocolFactory",
    "ServerEndpoint",
    "StreamListeningPort",
    "TCPClientEndpoint",
    "TCPServerEndpoint",
    "UDPClientEndpoint",
    "UDPServerEndpoint",
    "UNIXClientEndpoint",
    "UNIXServerEndpoint",
    "client_endpoint",
    "parse_description",
    "quote",
    "server_endpoint",
]

ProtocolFactory = Callable[[], asyncio.BaseProtocol]
DEFAULT_CONNECT_TIMEOUT = 30.0
DEFAULT_BACKLOG = 100


# --------------------------------------------------------------------- parsing


def quote(value: str) -> str:
    """Escape a value for use inside a description (backslashes and colons)."""
    return value.replace("\\", "\\\\").replace(":", "\\:")


_ESCAPED_EQ = "\x00"
_HEXISH = set("0123456789abcdefABCDEF:")


def _split(description: str) -> list[str]:
    """Split on unescaped colons; an escaped '=' is kept as a sentinel until parsed."""
    parts: list[str] = []
    cur: list[str] = []
    it = iter(description)
    for ch in it:
        if ch == "\\":
            nxt = next(it, None)
            if nxt is None:
                raise ValueError(f"{description}: trailing backslash")
            cur.append(_ESCAPED_EQ if nxt == "=" else nxt)
        elif ch == ":":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _unescape(value: str) -> str:
    return value.replace(_ESCAPED_EQ, "=")


def _ipv6_fragment(value: str) -> bool:
    return all(c in _HEXISH for c in value)


def parse_description(description: str) -> tuple[str, list[str], dict[str, str]]:
    """Parse ``kind:a:b:k=v`` into ``(kind, [a, b], {k: v})``.

    A part without ``=`` that follows ``key=`` whose value so far looks like the start
    of an IPv6 address is glued back on with a colon, so ``interface=::1`` works
    without escapes.
    """
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"{description!r}: empty endpoint description")
    parts = _split(description.strip())
    kind = parts[0].lower()
    if not kind:
        raise ValueError(f"{description}: missing endpoint type before ':'")
    args: list[str] = []
    kwargs: dict[str, str] = {}
    last_key: str | None = None
    for text in parts[1:]:
        key, eq, value = text.partition("=")
        if eq:
            key = _unescape(key)
            if not key:
                raise ValueError(f"{description}: option with no name in {text!r}")
            if key in kwargs:
                raise ValueError(f"{description}: option {key!r} given twice")
            kwargs[key] = _unescape(value)
            last_key = key
        elif (
            last_key is not None
            and _ipv6_fragment(kwargs[last_key])
            and all(c in _HEXISH or c == "." or c == "%" or c.isalnum() for c in text)
        ):
            kwargs[last_key] += ":" + _unescape(text)
        else:
            last_key = None
            args.append(_unescape(text))
    return kind, args, kwargs


class _Spec:
    """Checks a parsed description against what an endpoint kind accepts."""

    def __init__(
        self,
        description: str,
        positional: tuple[str, ...],
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> None:
        self.description = description
        kind, args, kwargs = parse_description(description)
        if len(args) > len(positional):
            extra = args[len(positional)]
            raise ValueError(f"{description}: unexpected argument {extra!r}")
        values: dict[str, str] = {}
        for name, arg in zip(positional, args):
            values[name] = arg
        for key, value in kwargs.items():
            if key not in allowed:
                raise ValueError(
                    f"{description}: unknown option {key!r} for {kind} "
                    f"(expected one of {', '.join(allowed)})"
                )
            if key in values:
                raise ValueError(f"{description}: {key} given both by position and as {key}=")
            values[key] = value
        for name in required:
            if not values.get(name):
                raise ValueError(f"{description}: missing {name}")
        self.kind = kind
        self.values = values

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.description}: {problem}")

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def integer(self, name: str, default: int | None, lo: int, hi: int) -> int | None:
        raw = self.values.get(name)
        if raw is None:
            return default
        try:
            number = int(raw, 10)
        except ValueError:
            raise self.fail(f"{name} {raw!r} is not an integer") from None
        if not lo <= number <= hi:
            raise self.fail(f"{name} {raw!r} is out of range {lo}..{hi}")
        return number

    def number(self, name: str, default: float) -> float:
        raw = self.values.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self.fail(f"{name} {raw!r} is not a number") from None
        if not value > 0:
            raise self.fail(f"{name} {raw!r} must be positive")
        return value

    def port(self, *, server: bool) -> int:
        port = self.integer("port", None, 0 if server else 1, 65535)
        if port is None:
            raise self.fail("missing port")
        return port

    def mode(self) -> int | None:
        raw = self.values.get("mode")
        if raw is None:
            return None
        try:
            mode = int(raw, 8)
        except ValueError:
            raise self.fail(f"mode {raw!r} is not an octal number") from None
        if not 0 <= mode <= 0o7777:
            raise self.fail(f"mode {raw!r} is out of range")
        return mode

    def interface(self, family: int, default: str) -> str:
        raw = self.values.get("interface")
        if raw is None or raw == "":
            return default
        return _check_host(self, "interface", raw, family)

    def file(self, name: str) -> str | None:
        path = self.values.get(name)
        if path is None:
            return None
        if not path:
            raise self.fail(f"{name} is empty")
        if not os.path.exists(path):
            raise self.fail(f"{name} {path!r}: no such file")
        return path


def _check_host(spec: _Spec, name: str, raw: str, family: int) -> str:
    host = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    try:
        addr = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        if not host or any(c.isspace() for c in host) or ":" in host or "/" in host:
            raise spec.fail(f"{name} {raw!r} is not a valid address") from None
        return host  # a host name, resolved when used
    if family == socket.AF_INET and addr.version != 4:
        raise spec.fail(f"{name} {raw!r} is not an IPv4 address (use tcp6)")
    if family == socket.AF_INET6 and addr.version != 6:
        raise spec.fail(f"{name} {raw!r} is not an IPv6 address")
    return host


def _format_inet(kind: str, sockaddr: Any) -> str:
    host, port = sockaddr[0], sockaddr[1]
    if ":" in host:
        return f"{kind}:[{host}]:{port}"
    return f"{kind}:{host}:{port}"


# ----------------------------------------------------------- listening ports


class ListeningPort(Protocol):
    """What ``ServerEndpoint.listen`` returns."""

    @property
    def addresses(self) -> list[str]: ...

    @property
    def description(self) -> str: ...

    @property
    def connections(self) -> list[asyncio.BaseProtocol]: ...

    def transport_of(self, proto: asyncio.BaseProtocol) -> asyncio.BaseTransport | None: ...

    async def close(self) -> None: ...

    async def wait_idle(self) -> None: ...


class StreamListeningPort:
    """A listening stream server; tracks its live connections for a graceful stop."""

    def __init__(
        self,
        kind: str,
        server: asyncio.AbstractServer,
        describe: Callable[[int | None], str],
        unix_path: str | None = None,
    ) -> None:
        self.kind = kind
        self.server = server
        self._describe = describe
        self._unix_path = unix_path
        self._unix_ino: int | None = None
        if unix_path is not None:
            try:
                self._unix_ino = os.stat(unix_path).st_ino
            except OSError:  # pragma: no cover
                pass
        self._connections: dict[asyncio.BaseProtocol, asyncio.BaseTransport] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def wrap_factory(self, factory: ProtocolFactory) -> ProtocolFactory:
        """Return a factory whose protocols register themselves while connected."""

        def make() -> asyncio.BaseProtocol:
            proto = factory()
            made, lost = proto.connection_made, proto.connection_lost

            def connection_made(transport: asyncio.BaseTransport) -> None:
                self._connections[proto] = transport
                self._idle.clear()
                made(transport)

            def connection_lost(exc: Exception | None) -> None:
                self._connections.pop(proto, None)
                if not self._connections:
                    self._idle.set()
                lost(exc)

            # Instance attributes shadow the class's methods; the loop looks them up
            # by name, so this works for any protocol class.
            proto.connection_made = connection_made  # type: ignore[method-assign]
            proto.connection_lost = connection_lost  # type: ignore[method-assign]
            return proto

        return make

    @property
    def sockets(self) -> list[socket.socket]:
        return list(getattr(self.server, "sockets", None) or ())

    @property
    def port(self) -> int | None:
        """The bound port number (for TCP and SSL)."""
        for sock in self.sockets:
            name = sock.getsockname()
            if isinstance(name, tuple):
                return int(name[1])
        return None

    @property
    def addresses(self) -> list[str]:
        if self._unix_path is not None:
            return [f"unix:{self._unix_path}"]
        return [_format_inet(self.kind, s.getsockname()) for s in self.sockets]

    @property
    def description(self) -> str:
        return self._describe(self.port)

    @property
    def connections(self) -> list[asyncio.BaseProtocol]:
        return list(self._connections)

    def transport_of(self, proto: asyncio.BaseProtocol) -> asyncio.BaseTransport | None:
        """The transport a tracked connection was made with."""
        return self._connections.get(proto)

    async def wait_idle(self) -> None:
        """Return once no connection is live."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop accepting; live connections are left alone."""
        if self._closed:
            return
        self._closed = True
        self.server.close()
        await asyncio.sleep(0)
        if self._unix_path is not None and self._unix_ino is not None:
            try:
                if os.stat(self._unix_path).st_ino == self._unix_ino:
                    os.unlink(self._unix_path)
            except OSError:
                pass


class DatagramListeningPort:
    """A bound UDP socket; its one protocol is its one "connection"."""

    def __init__(
        self,
        transport: asyncio.DatagramTransport,
        protocol: asyncio.DatagramProtocol,
        describe: Callable[[int | None], str],
    ) -> None:
        self.transport = transport
        self.protocol = protocol
        self._describe = describe

    @property
    def port(self) -> int | None:
        name = self.transport.get_extra_info("sockname")
        return int(name[1]) if isinstance(name, tuple) else None

    @property
    def addresses(self) -> list[str]:
        return [_format_inet("udp", self.transport.get_extra_info("sockname"))]

    @property
    def description(self) -> str:
        return self._describe(self.port)

    @property
    def connections(self) -> list[asyncio.BaseProtocol]:
        return [] if self.transport.is_closing() else [self.protocol]

    def transport_of(self, proto: asyncio.BaseProtocol) -> asyncio.BaseTransport | None:
        return self.transport if proto is self.protocol else None

    async def close(self) -> None:
        self.transport.close()
        await asyncio.sleep(0)

    async def wait_idle(self) -> None:
        """A datagram port has nothing in flight once closed."""
        while not self.transport.is_closing():  # pragma: no cover - close() comes first
            await asyncio.sleep(0.05)


# ----------------------------------------------------------------- servers


class ServerEndpoint(Protocol):
    """Something that can listen: ``await endpoint.listen(factory)``."""

    description: str

    async def listen(self, protocol_factory: ProtocolFactory) -> ListeningPort: ...


class ClientEndpoint(Protocol):
    """Something that can connect: ``proto = await endpoint.connect(factory)``."""

    description: str

    async def connect(self, protocol_factory: Callable[[], Any]) -> Any: ...


@dataclass
class TCPServerEndpoint:
    """``tcp:PORT``, ``tcp6:PORT`` and ``ssl:PORT`` (when ``ssl_context`` is set)."""

    description: str
    port: int
    interface: str
    family: int = socket.AF_INET
    backlog: int = DEFAULT_BACKLOG
    ssl_context: ssl.SSLContext | None = None
    kind: str = "tcp"
    extra: str = ""  # options kept verbatim in the real description (certificates)

    def _describe(self, port: int | None) -> str:
        text = f"{self.kind}:{port if port is not None else self.port}"
        default = "0.0.0.0" if self.family == socket.AF_INET else "::"
        if self.interface != default:
            text += f":interface={quote(self.interface)}"
        if self.backlog != DEFAULT_BACKLOG:
            text += f":backlog={self.backlog}"
        return text + self.extra

    async def listen(self, protocol_factory: ProtocolFactory) -> StreamListeningPort:
        loop = asyncio.get_running_loop()
        holder: list[StreamListeningPort] = []

        def factory() -> asyncio.BaseProtocol:
            return holder[0].wrap_factory(protocol_factory)()

        server = await loop.create_server(
            factory,
            host=self.interface,
            port=self.port,
            family=self.family,
            backlog=self.backlog,
            ssl=self.ssl_context,
            reuse_address=True,
        )
        port = StreamListeningPort(self.kind, server, self._describe)
        holder.append(port)
        return port


@dataclass
class UNIXServerEndpoint:
    """``unix:PATH[:mode=0600][:backlog=N]``: the mode is set before ``listen()``."""

    description: str
    path: str
    mode: int | None = None
    backlog: int = DEFAULT_BACKLOG

    async def listen(self, protocol_factory: ProtocolFactory) -> StreamListeningPort:
        loop = asyncio.get_running_loop()
        path = os.path.abspath(self.path)
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)  # a stale socket, as asyncio does
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            if self.mode is not None:
                os.chmod(path, self.mode)  # before listen(): nobody can connect yet
            sock.listen(self.backlog)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        holder: list[StreamListeningPort] = []

        def factory() -> asyncio.BaseProtocol:
            return holder[0].wrap_factory(protocol_factory)()

        server = await loop.create_unix_server(factory, sock=sock)

        def describe(_port: int | None) -> str:
            return self.description

        port = StreamListeningPort("unix", server, describe, unix_path=path)
        holder.append(port)
        return port


@dataclass
class UDPServerEndpoint:
    """``udp:PORT[:interface=ADDR]``; ``listen`` takes a DatagramProtocol factory."""

    description: str
    port: int
    interface: str
    family: int = socket.AF_INET

    def _describe(self, port: int | None) -> str:
        text = f"udp:{port if port is not None else self.port}"
        if self.interface not in ("0.0.0.0", "::") or self.family == socket.AF_INET6:
            text += f":interface={quote(self.interface)}"
        return text

    async def listen(self, protocol_factory: Callable[[], Any]) -> DatagramListeningPort:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            protocol_factory, local_addr=(self.interface, self.port), family=self.family
        )
        return DatagramListeningPort(transport, protocol, self._describe)


def _server_tls_context(spec: _Spec) -> tuple[ssl.SSLContext, str]:
    key = spec.file("privateKey")
    cert = spec.file("certKey") or key
    if key is None:
        raise spec.fail("missing privateKey")
    assert cert is not None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise spec.fail(f"certKey {cert!r} / privateKey {key!r}: {exc}") from None
    ca = spec.file("caCertsFile")
    if ca is not None:  # require client certificates signed by this CA
        ctx.load_verify_locations(cafile=ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    extra = f":certKey={quote(cert)}:privateKey={quote(key)}"
    if ca is not None:
        extra += f":caCertsFile={quote(ca)}"
    return ctx, extra


def server_endpoint(description: str) -> ServerEndpoint:
    """Parse a server description: tcp, tcp6, unix, ssl or udp."""
    kind = parse_description(description)[0]
    if kind in ("tcp", "tcp6"):
        spec = _Spec(description, ("port",), ("port", "interface", "backlog"), ("port",))
        family = socket.AF_INET if kind == "tcp" else socket.AF_INET6
        return TCPServerEndpoint(
            description,
            spec.port(server=True),
            spec.interface(family, "0.0.0.0" if kind == "tcp" else "::"),
            family,
            spec.integer("backlog", DEFAULT_BACKLOG, 1, 65535) or DEFAULT_BACKLOG,
            kind=kind,
        )
    if kind == "ssl":
        allowed = ("port", "interface", "backlog", "certKey", "privateKey", "caCertsFile")
        spec = _Spec(description, ("port",), allowed, ("port",))
        port = spec.port(server=True)
        interface = spec.get("interface") or "0.0.0.0"
        family = socket.AF_INET
        if interface != "0.0.0.0":
            family = socket.AF_INET6 if ":" in interface.strip("[]") else socket.AF_INET
            interface = _check_host(spec, "interface", interface, family)
        ctx, extra = _server_tls_context(spec)
        return TCPServerEndpoint(
            description,
            port,
            interface,
            family,
            spec.integer("backlog", DEFAULT_BACKLOG, 1, 65535) or DEFAULT_BACKLOG,
            ssl_context=ctx,
            kind="ssl",
            extra=extra,
        )
    if kind == "unix":
        spec = _Spec(description, ("path",), ("path", "mode", "backlog"), ("path",))
        return UNIXServerEndpoint(
            description,
            spec.get("path") or "",
            spec.mode(),
            spec.integer("backlog", DEFAULT_BACKLOG, 1, 65535) or DEFAULT_BACKLOG,
        )
    if kind == "udp":
        spec = _Spec(description, ("port",), ("port", "interface"), ("port",))
        port = spec.port(server=True)
        interface = spec.get("interface") or "0.0.0.0"
        family = socket.AF_INET6 if ":" in interface.strip("[]") else socket.AF_INET
        interface = _check_host(spec, "interface", interface, family)
        return UDPServerEndpoint(description, port, interface, family)
    raise ValueError(
        f"{description}: unknown endpoint type {kind!r} (expected tcp, tcp6, unix, ssl or udp)"
    )


# ----------------------------------------------------------------- clients


@dataclass
class TCPClientEndpoint:
    """``tcp:host=H:port=P``, ``tcp6:`` and ``ssl:`` (when ``ssl_context`` is set)."""

    description: str
    host: str
    port: int
    timeout: float = DEFAULT_CONNECT_TIMEOUT
    family: int = socket.AF_UNSPEC
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    bind_address: tuple[str, int] | None = None

    async def connect(self, protocol_factory: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        kwargs: dict[str, Any] = {}
        if self.ssl_context is not None:
            kwargs["ssl"] = self.ssl_context
            kwargs["server_hostname"] = self.server_hostname or self.host
        if self.bind_address is not None:
            kwargs["local_addr"] = self.bind_address
        _, proto = await asyncio.wait_for(
            loop.create_connection(
                protocol_factory, self.host, self.port, family=self.family, **kwargs
            ),
            self.timeout,
        )
        return proto


@dataclass
class UNIXClientEndpoint:
    """``unix:path=P[:timeout=S]``."""

    description: str
    path: str
    timeout: float = DEFAULT_CONNECT_TIMEOUT

    async def connect(self, protocol_factory: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        _, proto = await asyncio.wait_for(
            loop.create_unix_connection(protocol_factory, self.path), self.timeout
        )
        return proto


@dataclass
class UDPClientEndpoint:
    """``udp:host=H:port=P``: a connected datagram socket."""

    description: str
    host: str
    port: int
    family: int = socket.AF_UNSPEC

    async def connect(self, protocol_factory: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(
            protocol_factory, remote_addr=(self.host, self.port), family=self.family
        )
        return proto


def _client_tls_context(spec: _Spec) -> ssl.SSLContext:
    ca_dir = spec.get("caCertsDir")
    if ca_dir is not None and not os.path.isdir(ca_dir):
        raise spec.fail(f"caCertsDir {ca_dir!r}: no such directory")
    roots = spec.file("trustRoots")
    if ca_dir is not None and roots is not None:
        raise spec.fail("give caCertsDir or trustRoots, not both")
    try:
        if ca_dir is not None:
            ctx = ssl.create_default_context(capath=ca_dir)
        elif roots is not None:
            ctx = ssl.create_default_context(cafile=roots)
        else:
            ctx = ssl.create_default_context()
    except (ssl.SSLError, OSError) as exc:
        raise spec.fail(f"trust roots: {exc}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    cert = spec.file("certificate")
    key = spec.file("privateKey")
    if key is not None and cert is None:
        raise spec.fail("privateKey given without certificate")
    if cert is not None:
        try:
            ctx.load_cert_chain(cert, key or cert)
        except (ssl.SSLError, OSError) as exc:
            raise spec.fail(f"certificate {cert!r}: {exc}") from None
    return ctx


def _client_host(spec: _Spec, family: int) -> str:
    raw = spec.get("host")
    if not raw:
        raise spec.fail("missing host")
    return _check_host(spec, "host", raw, family)


def _bind_address(spec: _Spec, family: int) -> tuple[str, int] | None:
    raw = spec.get("bindAddress")
    if raw is None:
        return None
    return (_check_host(spec, "bindAddress", raw, family), 0)


def client_endpoint(description: str) -> ClientEndpoint:
    """Parse a client description: tcp, tcp6, unix, ssl or udp."""
    kind = parse_description(description)[0]
    if kind in ("tcp", "tcp6"):
        allowed: tuple[str, ...] = ("host", "port", "timeout", "bindAddress")
        spec = _Spec(description, ("host", "port"), allowed, ("host", "port"))
        check_family = socket.AF_INET6 if kind == "tcp6" else socket.AF_UNSPEC
        family = socket.AF_INET6 if kind == "tcp6" else socket.AF_UNSPEC
        return TCPClientEndpoint(
            description,
            _client_host(spec, check_family),
            spec.port(server=False),
            spec.number("timeout", DEFAULT_CONNECT_TIMEOUT),
            family,
            bind_address=_bind_address(spec, check_family),
        )
    if kind == "ssl":
        allowed = (
            "host", "port", "timeout", "bindAddress", "caCertsDir", "trustRoots",
            "certificate", "privateKey", "hostname",
        )
        spec = _Spec(description, ("host", "port"), allowed, ("host", "port"))
        host = _client_host(spec, socket.AF_UNSPEC)
        return TCPClientEndpoint(
            description,
            host,
            spec.port(server=False),
            spec.number("timeout", DEFAULT_CONNECT_TIMEOUT),
            ssl_context=_client_tls_context(spec),
            server_hostname=spec.get("hostname") or host,
            bind_address=_bind_address(spec, socket.AF_UNSPEC),
        )
    if kind == "unix":
        spec = _Spec(description, ("path",), ("path", "timeout"), ("path",))
        return UNIXClientEndpoint(
            description, spec.get("path") or "", spec.number("timeout", DEFAULT_CONNECT_TIMEOUT)
        )
    if kind == "udp":
        spec = _Spec(description, ("host", "port"), ("host", "port"), ("host", "port"))
        host = _client_host(spec, socket.AF_UNSPEC)
        family = socket.AF_INET6 if ":" in host else socket.AF_UNSPEC
        return UDPClientEndpoint(description, host, spec.port(server=False), family)
    raise ValueError(
        f"{description}: unknown endpoint type {kind!r} (expected tcp, tcp6, unix, ssl or udp)"
    )
