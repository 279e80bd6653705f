"""The telnet service `plait serve` runs: the terminal applications behind a login.

Why an item: the site store says what runs and where (``tcp:2323:interface=127.0.0.1``
at first; ``plait serve --listen telnet=...`` moves it).  A client answers ``login:`` and
``Password:`` for a userbase account (the same accounts and passwords as SSH), then gets
the menu of :mod:`plait.conch.apps.menu`: the widget demo, the manhole for
administrators, and Faucet.  Telnet is unencrypted: keep it on loopback (or behind a
tunnel); the default binds 127.0.0.1 only.
"""
from __future__ import annotations

import logging
from typing import Any

from plait.axiom.attributes import inmemory, integer, text
from plait.axiom.dependency import install_on
from plait.axiom.item import Item
from plait.axiom.service import IService
from plait.axiom.store import Store
from plait.axiom.userbase import account_for_store, portal_for
from plait.conch.apps.menu import terminal_menu
from plait.conch.insults.server import TerminalProtocol
from plait.conch.telnet.server import listen_terminal
from plait.conch.telnet.session import TelnetServer
from plait.core.endpoints import server_endpoint

__all__ = ["DEFAULT_TELNET_ENDPOINT", "TelnetService", "TelnetServiceMaker", "listen_address"]

log = logging.getLogger(__name__)

DEFAULT_TELNET_ENDPOINT = "tcp:2323:interface=127.0.0.1"


def listen_address(description: str) -> tuple[str, int]:
    """``tcp:PORT:interface=HOST`` as ``(host, port)``; ValueError for other kinds."""
    kind = description.split(":", 1)[0]
    if kind not in ("tcp", "tcp6"):
        raise ValueError(f"telnet listens on tcp: endpoints, not {kind}: ({description})")
    endpoint: Any = server_endpoint(description)
    return str(endpoint.interface), int(endpoint.port)


def terminal_for(avatar: Any) -> TerminalProtocol:
    """The application a telnet login gets: the menu (no login shell over telnet)."""
    account = account_for_store(avatar) if isinstance(avatar, Store) else None
    user = account.address if account is not None else None
    return terminal_menu(avatar, user, title=f"plait telnet ({user or 'guest'})")


class TelnetService(Item):
    """Serves the terminal applications over telnet at ``description``."""

    type_name = "plait_conch_apps_telnet_service"
    schema_version = 1

    powerup_interfaces = [IService]

    name = text(allow_none=True, default="telnet", doc="what `plait status` calls this service")
    description = text(allow_none=False, default=DEFAULT_TELNET_ENDPOINT,
                       doc="where to listen")
    max_attempts = integer(default=3, allow_none=False, doc="password tries per connection")
    login_timeout = integer(default=60, allow_none=False, doc="seconds to log in")
    server = inmemory()

    def check(self) -> None:
        listen_address(self.description)
        if self.max_attempts < 1 or self.login_timeout < 1:
            raise ValueError("max_attempts and login_timeout must be at least 1")

    async def start(self) -> None:
        if self.server is not None:
            return
        self.check()
        host, port = listen_address(self.description)
        self.server = await listen_terminal(
            host, port, terminal_for, portal=portal_for(self.store),
            login_timeout=float(self.login_timeout), max_attempts=self.max_attempts)

    async def stop(self) -> None:
        server: TelnetServer | None = self.server
        self.server = None
        if server is not None:
            server.close()
            await server.wait_closed()

    def endpoints(self) -> list[str]:
        server: TelnetServer | None = self.server
        try:
            host, port = listen_address(self.description)
        except ValueError:
            return [self.description]
        if server is not None and server.sockets:
            port = int(server.sockets[0].getsockname()[1])
        return [f"tcp:{host}:{port}"]

    def __repr__(self) -> str:
        return f"<TelnetService {self.store_id} {self.description!r}>"


class TelnetServiceMaker:
    """The ``telnet`` entry in the ``plait.services`` plugin group."""

    name = "telnet"
    description = "telnet: the widget demo, Faucet and (administrators) the manhole"
    default_endpoint = DEFAULT_TELNET_ENDPOINT

    def install(self, store: Store, endpoint: str) -> None:
        listen_address(endpoint)
        install_on(TelnetService(store=store, name=self.name, description=endpoint), store)
