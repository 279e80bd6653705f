"""The Q2Q identity server `plait serve` runs: TCP 127.0.0.1:8788 and UDP 127.0.0.1:8789.

Why an item: the site store says what runs. :class:`Q2QService` keeps where to listen and
which domain it answers for (by default the userbase's default domain, else
``example.test``); accounts are the site's userbase, the CA lives in ``DATA/q2q/DOMAIN/``.
The UDP port (which tells PTCP sockets their public address) is always the TCP port + 1,
which is where clients look for it.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plait.axiom.attributes import boolean, inmemory, text
from plait.axiom.dependency import install_on
from plait.axiom.item import Item
from plait.axiom.service import IService
from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.core.endpoints import server_endpoint

from .identity import IdentityServer
from .udp import WhoAmIDatagrams

__all__ = ["DEFAULT_DOMAIN", "DEFAULT_Q2Q_ENDPOINT", "IdentityListening", "Q2QService",
           "Q2QServiceMaker", "listen_address", "serve_identity"]

DEFAULT_Q2Q_ENDPOINT = "tcp:8788:interface=127.0.0.1"
DEFAULT_DOMAIN = "example.test"
#: With port 0: how many TCP ports are tried before one whose next port is free for UDP.
PORT_PAIR_TRIES = 20


def listen_address(description: str) -> tuple[str, int]:
    """``tcp:PORT:interface=HOST`` as ``(host, port)``; ValueError for other kinds."""
    kind = description.split(":", 1)[0]
    if kind not in ("tcp", "tcp6"):
        raise ValueError(f"Q2Q listens on tcp: endpoints (UDP on the next port), not "
                         f"{kind}: ({description})")
    endpoint: Any = server_endpoint(description)
    return str(endpoint.interface), int(endpoint.port)


@dataclass
class IdentityListening:
    """A running identity server's sockets."""

    identity: IdentityServer
    tcp: asyncio.Server
    udp: asyncio.DatagramTransport

    @property
    def tcp_address(self) -> tuple[str, int]:
        host, port = self.tcp.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def udp_address(self) -> tuple[str, int]:
        host, port = self.udp.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def close(self) -> None:
        self.udp.close()
        self.tcp.close()
        await self.tcp.wait_closed()


async def serve_identity(identity: IdentityServer, host: str = "127.0.0.1",
                         port: int = 8788) -> IdentityListening:
    """Serve ``identity`` on TCP ``port`` and UDP ``port + 1`` (port 0: a free pair)."""
    loop = asyncio.get_running_loop()
    tries = PORT_PAIR_TRIES if port == 0 else 1
    last: OSError | None = None
    for _ in range(tries):
        tcp = await loop.create_server(identity.build_protocol, host, port)
        tcp_port = tcp.sockets[0].getsockname()[1]
        try:
            udp, _ = await loop.create_datagram_endpoint(
                WhoAmIDatagrams, local_addr=(host, tcp_port + 1))
        except OSError as exc:
            last = exc
            tcp.close()
            await tcp.wait_closed()
            continue
        return IdentityListening(identity, tcp, udp)
    assert last is not None
    raise OSError(last.errno, f"Q2Q: UDP port next to TCP port cannot be bound: "
                              f"{last.strerror}")


class Q2QService(Item):
    """The identity server of the site's domain, for the site's userbase."""

    type_name = "plait_vertex_q2q_service"
    schema_version = 1

    powerup_interfaces = [IService]

    name = text(allow_none=True, default="q2q", doc="what `plait status` calls this service")
    description = text(allow_none=False, default=DEFAULT_Q2Q_ENDPOINT,
                       doc="where to listen on TCP (UDP is the next port)")
    domain = text(allow_none=True, default=None,
                  doc="the domain served (None: the userbase's default domain, else "
                      "example.test)")
    allow_registration = boolean(allow_none=False, default=True,
                                 doc="whether `vertex register` may create accounts")
    running = inmemory()

    def check(self) -> None:
        listen_address(self.description)

    def data_dir(self) -> Path:
        path = self.store.path
        if path is None:
            raise ValueError("the Q2Q service needs a store on disk (its CA lives beside it)")
        return Path(path).parent

    def served_domain(self) -> str:
        if self.domain:
            return str(self.domain)
        login_system = install_login_system(self.store)
        return str(login_system.default_domain or DEFAULT_DOMAIN)

    async def start(self) -> None:
        if self.running is not None:
            return
        host, port = listen_address(self.description)
        domain = self.served_domain()
        identity = IdentityServer.for_directory(
            self.data_dir() / "q2q" / domain, domain, install_login_system(self.store),
            allow_registration=bool(self.allow_registration))
        self.running = await serve_identity(identity, host, port)

    async def stop(self) -> None:
        running: IdentityListening | None = self.running
        self.running = None
        if running is not None:
            await running.close()

    def endpoints(self) -> list[str]:
        running: IdentityListening | None = self.running
        if running is not None:
            (host, port), (_, udp_port) = running.tcp_address, running.udp_address
        else:
            try:
                host, port = listen_address(self.description)
            except ValueError:
                return [self.description]
            udp_port = port + 1 if port else 0
        return [f"tcp:{host}:{port}", f"udp:{host}:{udp_port}"]

    def __repr__(self) -> str:
        return f"<Q2QService {self.store_id} {self.description!r}>"


class Q2QServiceMaker:
    """The ``q2q`` entry in the ``plait.services`` plugin group."""

    name = "q2q"
    description = "Q2Q identity server: registration, certificates, presence and relay"
    default_endpoint = DEFAULT_Q2Q_ENDPOINT

    def install(self, store: Store, endpoint: str) -> None:
        listen_address(endpoint)
        install_on(Q2QService(store=store, name=self.name, description=endpoint), store)
