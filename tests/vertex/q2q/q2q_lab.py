"""An identity server on 127.0.0.1 (port 0) with a real userbase, and users with certificates."""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher

from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.vertex.q2q import CertStore, Q2QAddress, register, request_cert
from plait.vertex.q2q.identity import IdentityServer, ServerLimits
from plait.vertex.q2q.service import IdentityListening, serve_identity

DOMAIN = "example.test"
#: argon2id at its cheapest: the tests hash many passwords.
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@dataclass
class Lab:
    tmp: Path
    store: Store
    identity: IdentityServer
    listening: IdentityListening
    certs: dict[str, CertStore] = field(default_factory=dict)

    @property
    def server(self) -> tuple[str, int]:
        return self.listening.tcp_address

    async def user(self, name: str, password: str = "secret") -> tuple[Q2QAddress, CertStore]:
        """Register ``name@example.test`` and get its certificate in its own CertStore."""
        address = Q2QAddress.parse(f"{name}@{self.identity.domain}")
        await register(address, password, server=self.server)
        certs = CertStore(self.tmp / f"certs-{name}")
        await request_cert(address, password, certs, server=self.server)
        self.certs[name] = certs
        return address, certs


@contextlib.asynccontextmanager
async def identity_lab(tmp: Path, domain: str = DOMAIN,
                       limits: ServerLimits | None = None) -> AsyncIterator[Lab]:
    store = Store(tmp / "site.axiom")
    login_system = install_login_system(store)
    login_system.hasher = FAST
    identity = IdentityServer.for_directory(tmp / "q2q" / domain, domain, login_system,
                                            limits=limits or ServerLimits())
    listening = await serve_identity(identity, "127.0.0.1", 0)
    try:
        yield Lab(tmp, store, identity, listening)
    finally:
        await listening.close()
        store.close()


class Echo(asyncio.Protocol):
    """Writes back what it receives."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class Collector(asyncio.Protocol):
    """Collects what it receives until ``expect`` bytes are there."""

    def __init__(self, expect: int = 0) -> None:
        self.expect = expect
        self.data = bytearray()
        self.done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        if len(self.data) >= self.expect and not self.done.done():
            self.done.set_result(bytes(self.data))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)
