"""The Q2Q commands, declared on plait's AMP as Vertex declared them on Twisted's.

Between a client and its domain's identity server:

* ``identify``: the domain's CA certificate (trusted on first use, then kept).
* ``secure``: StartTLS, each side showing a certificate its domain's CA signed; the caller
  says who it is (``From``, absent for the anonymous ``register``/``sign``) and whom it
  expects (``to``).
* ``register`` (for ``vertex register``) and ``sign`` (a CSR, after the password check).
* ``who-am-i`` / ``source-ip``: the caller's address as the server sees it.
* ``listen``: this (secured) connection receives calls to ``From`` for these protocols.
* ``inbound``: caller -> server -> listener: "From wants To for Protocol"; the listener
  answers the methods it can be reached by (``tcp@h:p``, ``ptcp@h:p``, ``reverse-ptcp``);
  the server adds ``virtual``.
* ``bind-udp``: caller -> server -> listener: send UDP from your PTCP socket to ``udpdst``
  (opens the listener's NAT for the caller's PTCP connect).
* ``outbound``: caller -> server -> listener: connect over PTCP to ``udpdst`` yourself
  (reverse PTCP, when the caller's NAT is the one that must be opened from inside).
* ``virtual`` / ``write`` / ``close`` / ``choke`` / ``unchoke``: a stream relayed through the
  server, with flow control: ``choke`` asks the other end to stop sending on a channel.

Between two peers, on the connection a method produced: ``secure`` (mutual TLS), then
``retrieve-connection`` switches both ends to the application protocol.
"""
from __future__ import annotations

from typing import Any, ClassVar

from plait.vertex.juice import (
    AMP,
    Argument,
    Boolean,
    Command,
    Integer,
    ListOf,
    StartTLS,
    String,
    TLSError,
    Unicode,
)
from plait.vertex.juice.errors import TLS_ERROR_CODE

from .address import Q2QAddress
from .errors import (
    AddressTaken,
    BadCertificateRequest,
    BadPassword,
    CertificateMismatch,
    NoSuchUser,
    NotAuthorized,
    PeerOffline,
    RegistrationClosed,
    WrongDomain,
)

__all__ = [
    "MAX_WRITE",
    "BindUDP",
    "Choke",
    "Close",
    "HostPort",
    "Identify",
    "Inbound",
    "Listen",
    "Outbound",
    "Password",
    "Q2QAddressArgument",
    "Register",
    "RetrieveConnection",
    "Secure",
    "Sign",
    "SourceIP",
    "Unchoke",
    "Virtual",
    "WhoAmI",
    "Write",
    "ask",
]

#: Most payload bytes in one ``write`` box (AMP values stop at 65,535).
MAX_WRITE = 60_000


class Q2QAddressArgument(Argument):
    """A :class:`Q2QAddress` as its text."""

    def to_bytes(self, value: Q2QAddress | str) -> bytes:
        return str(Q2QAddress.coerce(value)).encode("utf-8")

    def from_bytes(self, data: bytes) -> Q2QAddress:
        return Q2QAddress.parse(data.decode("utf-8"))


class HostPort(Argument):
    """``(host, port)`` as ``host:port`` (``[v6]:port`` for IPv6)."""

    def to_bytes(self, value: tuple[str, int]) -> bytes:
        host, port = value[0], int(value[1])
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} out of range")
        text = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return text.encode("ascii")

    def from_bytes(self, data: bytes) -> tuple[str, int]:
        return parse_host_port(data.decode("ascii"))


class Password(Unicode):
    """A password as UTF-8; a value that does not decode fails without its bytes in the
    error (AMP logs decoding errors, and secrets never reach a log)."""

    def from_bytes(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("the password is not UTF-8") from None


def parse_host_port(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``; ValueError if it is neither."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bad host:port {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


_ERRORS: dict[type[BaseException], bytes | str] = {
    NoSuchUser: "NoSuchUser",
    BadPassword: "BadPassword",
    AddressTaken: "AddressTaken",
    RegistrationClosed: "RegistrationClosed",
    WrongDomain: "WrongDomain",
    BadCertificateRequest: "BadCertificateRequest",
    NotAuthorized: "NotAuthorized",
    PeerOffline: "PeerOffline",
    CertificateMismatch: "CertificateMismatch",
}


class _Q2QCommand(Command):
    """Every Q2Q command may fail with any Q2Q error (the same class on both ends)."""

    errors: ClassVar[Any] = dict(_ERRORS)
    fatal_errors: ClassVar[Any] = {}


class Identify(_Q2QCommand):
    command_name = b"identify"
    arguments = [("subject", Q2QAddressArgument())]
    response = [("certificate", String())]


class Secure(StartTLS):
    """StartTLS with mutual certificate validation (see the module docstring)."""

    command_name = b"secure"
    arguments: ClassVar[Any] = [("From", Q2QAddressArgument(optional=True)),
                                ("to", Q2QAddressArgument()),
                                ("authorize", Boolean())]
    response: ClassVar[Any] = []
    errors: ClassVar[Any] = {**_ERRORS, TLSError: TLS_ERROR_CODE}


class Register(_Q2QCommand):
    command_name = b"register"
    arguments = [("address", Q2QAddressArgument()), ("password", Password())]
    response = []


class Sign(_Q2QCommand):
    command_name = b"sign"
    arguments = [("certificate_request", String()), ("password", Password())]
    response = [("certificate", String())]


class WhoAmI(_Q2QCommand):
    command_name = b"Who-Am-I"
    arguments = []
    response = [("address", HostPort())]


class SourceIP(_Q2QCommand):
    command_name = b"source-ip"
    arguments = []
    response = [("ip", Unicode())]


class Listen(_Q2QCommand):
    command_name = b"listen"
    arguments = [("From", Q2QAddressArgument()), ("protocols", ListOf(Unicode())),
                 ("description", Unicode())]
    response = []


class Inbound(_Q2QCommand):
    command_name = b"inbound"
    arguments = [("From", Q2QAddressArgument()), ("to", Q2QAddressArgument()),
                 ("protocol", Unicode()), ("udp_source", HostPort(optional=True))]
    response = [("methods", ListOf(Unicode())), ("id", Unicode())]


class BindUDP(_Q2QCommand):
    command_name = b"bind-udp"
    arguments = [("protocol", Unicode()), ("q2qsrc", Q2QAddressArgument()),
                 ("q2qdst", Q2QAddressArgument()), ("udpsrc", HostPort()),
                 ("udpdst", HostPort())]
    response = []


class Outbound(_Q2QCommand):
    command_name = b"outbound"
    arguments = [("From", Q2QAddressArgument()), ("to", Q2QAddressArgument()),
                 ("protocol", Unicode()), ("id", Unicode()), ("udpdst", HostPort())]
    response = []


class Virtual(_Q2QCommand):
    command_name = b"virtual"
    arguments = [("id", Integer()), ("From", Q2QAddressArgument()),
                 ("to", Q2QAddressArgument()), ("protocol", Unicode())]
    response = []


class Write(_Q2QCommand):
    command_name = b"write"
    arguments = [("id", Integer()), ("body", String())]
    requires_answer = False


class Close(_Q2QCommand):
    command_name = b"close"
    arguments = [("id", Integer())]
    requires_answer = False


class Choke(_Q2QCommand):
    command_name = b"Choke"
    arguments = [("id", Integer())]
    requires_answer = False


class Unchoke(_Q2QCommand):
    command_name = b"Unchoke"
    arguments = [("id", Integer())]
    requires_answer = False


class RetrieveConnection(_Q2QCommand):
    command_name = b"retrieve-connection"
    arguments = [("protocol", Unicode()), ("id", Unicode())]
    response = []


async def ask(proto: AMP, command: type[Command], **kwargs: Any) -> dict[str, Any]:
    """Call a command that has an answer and wait for it."""
    answer = proto.call_remote(command, **kwargs)
    if answer is None:
        raise TypeError(f"{command.__name__} has no answer to wait for")
    result: dict[str, Any] = await answer
    return result
