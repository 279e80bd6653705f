"""The identity server of one domain (Vertex's ``q2qstandalone``).

It registers users (in the Axiom userbase), signs their certificate requests after the
password check, tells a caller its address, keeps who listens for which protocols, brokers
calls to listeners (``inbound``, ``bind-udp``, ``outbound``) and relays ``virtual``
connections with flow control. Every command acting for an address needs a connection
secured with that address's certificate; passwords are only taken over TLS.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from cryptography import x509

from plait.axiom.userbase import (
    BadAddress,
    DisabledAccount,
    DuplicateUser,
    LoginSystem,
    UserbaseError,
)
from plait.core.cred import UnauthorizedLogin
from plait.core.cred.credentials import UsernamePassword
from plait.vertex.juice import AMP, AmpError

from .address import Q2QAddress
from .ca import DomainCA, address_of, address_of_subject, generate_key, key_pem, write_private
from .commands import (
    BindUDP,
    Choke,
    Close,
    Identify,
    Inbound,
    Listen,
    Outbound,
    Register,
    Secure,
    Sign,
    SourceIP,
    Unchoke,
    Virtual,
    WhoAmI,
    Write,
    ask,
)
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
from .tls import peer_certificate, server_context

__all__ = ["IdentityProtocol", "IdentityServer", "ServerLimits"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ServerLimits:
    """Every bound the identity server enforces."""

    forward_timeout: float = 10.0        # seconds a listener has to answer a forwarded call
    max_protocols: int = 64              # protocols in one ``listen``
    max_listeners_per_address: int = 16  # listening connections per address
    max_relays_per_connection: int = 256  # virtual channels one connection may hold
    max_password_failures: int = 5       # wrong passwords before a connection is dropped
    max_password_length: int = 1024
    max_accounts: int = 100_000          # registrations stop here
    max_methods: int = 16                # methods a listener may advertise


@dataclass(eq=False)
class Listening:
    proto: IdentityProtocol
    address: Q2QAddress
    protocols: frozenset[str]
    description: str


@dataclass(eq=False)
class _Pipe:
    """One direction of a relayed channel: ``src`` sends on ``src_id``, ``dst`` gets it on
    ``dst_id``. ``src`` is choked while the reader asks it or ``dst`` is backed up."""

    src: IdentityProtocol
    src_id: int
    dst: IdentityProtocol
    dst_id: int
    reverse: _Pipe | None = None
    reader_choked: bool = False
    backlogged: bool = False
    told: bool = False

    def update(self) -> None:
        want = self.reader_choked or self.backlogged
        if want != self.told:
            self.told = want
            self.src.call_remote(Choke if want else Unchoke, id=self.src_id)


@dataclass
class IdentityServer:
    """The state shared by every connection to one domain's identity server."""

    domain: str
    ca: DomainCA
    login_system: LoginSystem | None
    directory: Path
    allow_registration: bool = True
    limits: ServerLimits = field(default_factory=ServerLimits)
    listeners: dict[Q2QAddress, list[Listening]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.domain = Q2QAddress.parse(self.domain).domain
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = generate_key()
        self.key_file = self.directory / "server-key.pem"
        self.cert_file = self.directory / "server-cert.pem"
        write_private(self.key_file, key_pem(key))
        write_private(self.cert_file, self.ca.issue(Q2QAddress(self.domain), key.public_key()))
        self.tls_context = server_context(str(self.cert_file), str(self.key_file),
                                          [self.ca.certificate_pem], require_client=False)

    @classmethod
    def for_directory(cls, directory: Path, domain: str, login_system: LoginSystem | None,
                      **kwargs: Any) -> IdentityServer:
        """The server whose CA lives in ``directory`` (made there on first use)."""
        return cls(domain, DomainCA.load_or_create(directory, domain), login_system, directory,
                   **kwargs)

    def build_protocol(self) -> IdentityProtocol:
        return IdentityProtocol(self)

    def check_domain(self, address: Q2QAddress) -> None:
        if address.domain != self.domain:
            raise WrongDomain(f"this identity server serves {self.domain}, not {address.domain}")

    def _accounts(self) -> LoginSystem:
        if self.login_system is None:
            raise RegistrationClosed(f"the identity server of {self.domain} has no userbase")
        return self.login_system

    def register(self, address: Q2QAddress, password: str) -> None:
        self.check_domain(address)
        if not self.allow_registration:
            raise RegistrationClosed(f"{self.domain} does not take registrations")
        accounts = self._accounts()
        if sum(1 for _ in accounts.accounts()) >= self.limits.max_accounts:
            raise RegistrationClosed(f"{self.domain} has as many accounts as it allows")
        self._check_password_shape(password)
        if address.user is None:
            raise WrongDomain(f"{address} is a domain; register user@{self.domain}")
        try:
            accounts.add_account(address.user, address.domain, password, protocol="q2q")
        except DuplicateUser:
            raise AddressTaken(f"{address.claim()} is already registered") from None
        except BadAddress as exc:
            raise WrongDomain(f"cannot register {address.claim()}: {exc}") from None
        except UserbaseError as exc:
            raise RegistrationClosed(f"cannot register {address.claim()}: {exc}") from None

    def _check_password_shape(self, password: str) -> None:
        if not password:
            raise BadPassword("the password is empty")
        if len(password) > self.limits.max_password_length:
            raise BadPassword(f"the password is longer than "
                              f"{self.limits.max_password_length} characters")

    async def check_password(self, address: Q2QAddress, password: str) -> None:
        """NoSuchUser / BadPassword / NotAuthorized (disabled) unless the password is right."""
        self.check_domain(address)
        self._check_password_shape(password)
        accounts = self._accounts()
        if accounts.account_by_address(str(address.claim())) is None:
            raise NoSuchUser(f"{address.claim()} has no account on {self.domain}")
        try:
            await accounts.request_avatar_id(UsernamePassword(str(address.claim()), password))
        except DisabledAccount:
            raise NotAuthorized(f"the account {address.claim()} is disabled") from None
        except UnauthorizedLogin:
            raise BadPassword(f"wrong password for {address.claim()}") from None

    def listener_for(self, address: Q2QAddress, protocol: str) -> Listening:
        for entry in reversed(self.listeners.get(address.claim(), [])):
            if protocol in entry.protocols:
                return entry
        raise PeerOffline(f"{address.claim()} is not online for {protocol!r}")

    def add_listener(self, entry: Listening) -> None:
        entries = self.listeners.setdefault(entry.address, [])
        entries[:] = [e for e in entries if e.proto is not entry.proto]
        if len(entries) >= self.limits.max_listeners_per_address:
            raise NotAuthorized(f"{entry.address} already listens on "
                                f"{self.limits.max_listeners_per_address} connections")
        entries.append(entry)

    def drop_listener(self, proto: IdentityProtocol) -> None:
        for address, entries in list(self.listeners.items()):
            entries[:] = [e for e in entries if e.proto is not proto]
            if not entries:
                del self.listeners[address]


class IdentityProtocol(AMP):
    """One client's connection to the identity server."""

    close_on_unknown_error: ClassVar[bool] = False

    def __init__(self, server: IdentityServer) -> None:
        super().__init__()
        self.server = server
        self.failures = 0
        self.pipes: dict[int, _Pipe] = {}      # by our channel id: we send, they receive
        self.backlogged: set[_Pipe] = set()    # pipes into us choked because we backed up
        self._next_relay = 0

    # -- who is calling

    def authenticated(self) -> Q2QAddress | None:
        if self.transport is None:
            return None
        cert: x509.Certificate | None = peer_certificate(
            self.transport.get_extra_info("ssl_object"))
        return None if cert is None else address_of(cert)

    def require(self, address: Q2QAddress) -> None:
        proven = self.authenticated()
        if proven is None:
            raise NotAuthorized(f"secure the connection as {address.claim()} first")
        if proven != address.claim():
            raise NotAuthorized(f"this connection is secured as {proven}, not {address.claim()}")

    def require_caller(self, address: Q2QAddress) -> None:
        """A caller of this domain must have proven its address; one of another domain
        cannot (this server does not know its CA), and is proven to the callee instead,
        end to end, before any application byte flows."""
        if address.domain == self.server.domain:
            self.require(address)

    def require_tls(self) -> None:
        if self.transport is None or self.transport.get_extra_info("ssl_object") is None:
            raise NotAuthorized("passwords are only taken over a secured connection")

    async def _forward(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self.server.limits.forward_timeout)
        except TimeoutError:
            raise PeerOffline("the listener did not answer in "
                              f"{self.server.limits.forward_timeout:g} s") from None
        except AmpError as exc:  # lost, or failed with an undeclared error
            raise PeerOffline(f"the listener failed to answer ({exc})") from None

    def _password_failed(self) -> None:
        self.failures += 1
        if self.failures >= self.server.limits.max_password_failures:
            log.warning("Q2Q: %s gave %d wrong passwords; closing", self.peer, self.failures)
            asyncio.get_running_loop().call_soon(self.close)

    # -- identity and accounts

    @Identify.responder
    def identify(self, subject: Q2QAddress) -> dict[str, Any]:
        self.server.check_domain(subject)
        return {"certificate": self.server.ca.certificate_pem}

    @Secure.responder
    def secure(self, to: Q2QAddress, authorize: bool, From: Q2QAddress | None = None
               ) -> dict[str, Any]:
        if to.claim() != Q2QAddress(self.server.domain):
            raise WrongDomain(f"this is the identity server of {self.server.domain}, "
                              f"not {to.claim()}")
        if From is not None and From.domain != self.server.domain:
            raise CertificateMismatch(f"this server only knows the CA of {self.server.domain}")
        return {"tls_context": self.server.tls_context}

    @Register.responder
    async def register(self, address: Q2QAddress, password: str) -> dict[str, Any]:
        self.require_tls()
        self.server.register(address, password)
        return {}

    @Sign.responder
    async def sign(self, certificate_request: bytes, password: str) -> dict[str, Any]:
        self.require_tls()
        try:
            csr = x509.load_pem_x509_csr(certificate_request)
            address = address_of_subject(csr.subject)
        except (ValueError, CertificateMismatch) as exc:
            raise BadCertificateRequest(f"unreadable certificate request: {exc}") from None
        try:
            await self.server.check_password(address, password)
        except (BadPassword, NoSuchUser):
            self._password_failed()
            raise
        return {"certificate": self.server.ca.sign_request(certificate_request, address)}

    @WhoAmI.responder
    def who_am_i(self) -> dict[str, Any]:
        peer = self.peer
        return {"address": (str(peer[0]), int(peer[1]))}

    @SourceIP.responder
    def source_ip(self) -> dict[str, Any]:
        return {"ip": str(self.peer[0])}

    # -- listeners and the calls brokered to them

    @Listen.responder
    def listen(self, From: Q2QAddress, protocols: list[str],
               description: str) -> dict[str, Any]:
        self.require(From)
        if not protocols or len(protocols) > self.server.limits.max_protocols:
            raise NotAuthorized(f"listen for 1 to {self.server.limits.max_protocols} protocols")
        self.server.add_listener(Listening(self, From.claim(), frozenset(protocols), description))
        return {}

    @Inbound.responder
    async def inbound(self, From: Q2QAddress, to: Q2QAddress, protocol: str,
                      udp_source: tuple[str, int] | None = None) -> dict[str, Any]:
        self.require_caller(From)
        self.server.check_domain(to)
        target = self.server.listener_for(to, protocol)
        answer = await self._forward(ask(
            target.proto, Inbound, From=From, to=to, protocol=protocol, udp_source=udp_source))
        methods = [m for m in answer["methods"] if m != "virtual"]
        methods = methods[: self.server.limits.max_methods] + ["virtual"]
        return {"methods": methods, "id": answer["id"]}

    @BindUDP.responder
    async def bind_udp(self, protocol: str, q2qsrc: Q2QAddress, q2qdst: Q2QAddress,
                       udpsrc: tuple[str, int], udpdst: tuple[str, int]) -> dict[str, Any]:
        self.require_caller(q2qsrc)
        target = self.server.listener_for(q2qdst, protocol)
        await self._forward(ask(
            target.proto, BindUDP, protocol=protocol, q2qsrc=q2qsrc, q2qdst=q2qdst, udpsrc=udpsrc,
            udpdst=udpdst))
        return {}

    @Outbound.responder
    async def outbound(self, From: Q2QAddress, to: Q2QAddress, protocol: str,
                       id: str, udpdst: tuple[str, int]) -> dict[str, Any]:
        self.require_caller(From)
        target = self.server.listener_for(to, protocol)
        await self._forward(ask(
            target.proto, Outbound, From=From, to=to, protocol=protocol, id=id, udpdst=udpdst))
        return {}

    # -- relayed (virtual) connections

    @Virtual.responder
    async def virtual(self, id: int, From: Q2QAddress, to: Q2QAddress,
                      protocol: str) -> dict[str, Any]:
        self.require_caller(From)
        limit = self.server.limits.max_relays_per_connection
        if id in self.pipes:
            raise NotAuthorized(f"virtual channel {id} is already in use")
        target = self.server.listener_for(to, protocol).proto
        if len(self.pipes) >= limit or len(target.pipes) >= limit:
            raise PeerOffline(f"too many relayed connections (at most {limit} a connection)")
        target._next_relay += 1
        their_id = target._next_relay
        ours = _Pipe(self, id, target, their_id)
        theirs = _Pipe(target, their_id, self, id, reverse=ours)
        ours.reverse = theirs
        self.pipes[id] = ours
        target.pipes[their_id] = theirs
        try:
            await self._forward(ask(
                target, Virtual, id=their_id, From=From, to=to, protocol=protocol))
        except BaseException:
            self.pipes.pop(id, None)
            target.pipes.pop(their_id, None)
            raise
        return {}

    @Write.responder
    def write_box(self, id: int, body: bytes) -> dict[str, Any]:
        pipe = self.pipes.get(id)
        if pipe is not None:
            dst = pipe.dst
            dst.call_remote(Write, id=pipe.dst_id, body=body)
            if dst.writing_paused and not pipe.backlogged:
                pipe.backlogged = True
                dst.backlogged.add(pipe)
                pipe.update()
        return {}

    @Close.responder
    def close_box(self, id: int) -> dict[str, Any]:
        pipe = self.pipes.pop(id, None)
        if pipe is not None:
            pipe.dst.pipes.pop(pipe.dst_id, None)
            pipe.dst.call_remote(Close, id=pipe.dst_id)
        return {}

    @Choke.responder
    def choke(self, id: int) -> dict[str, Any]:
        self._reader(id, True)
        return {}

    @Unchoke.responder
    def unchoke(self, id: int) -> dict[str, Any]:
        self._reader(id, False)
        return {}

    def _reader(self, channel_id: int, choked: bool) -> None:
        pipe = self.pipes.get(channel_id)
        if pipe is not None and pipe.reverse is not None:
            pipe.reverse.reader_choked = choked  # the stream coming to us on that channel
            pipe.reverse.update()

    def resume_writing(self) -> None:
        super().resume_writing()
        backlogged, self.backlogged = self.backlogged, set()
        for pipe in backlogged:
            pipe.backlogged = False
            pipe.update()

    def stream_ended(self, exc: BaseException | None) -> None:
        super().stream_ended(exc)
        self.server.drop_listener(self)
        pipes, self.pipes = self.pipes, {}
        for pipe in pipes.values():
            pipe.dst.pipes.pop(pipe.dst_id, None)
            pipe.dst.backlogged.discard(pipe)
            pipe.dst.call_remote(Close, id=pipe.dst_id)
