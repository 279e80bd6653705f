"""The DNS service `plait serve` runs: the zones in the site store, answered on UDP and TCP.

Why an item: the site store says what runs (Axiom's "goodbye, configuration files"). The
:class:`DNSService` item holds where to listen and who may transfer zones; the zones
themselves are :class:`~plait.names.zone_store.DNSZoneItem`s in the same store. On start it
loads every stored zone into a :class:`~plait.names.catalog.ZoneCatalog` and runs
:func:`~plait.names.server.serve`; :meth:`DNSService.reload` picks up zones changed since.
The first run installs a demonstration zone ``example.test`` on 127.0.0.1:5353::

    dig @127.0.0.1 -p 5353 www.example.test AAAA
"""
from __future__ import annotations

import logging
from typing import Any

from plait.axiom.attributes import inmemory, integer, text, textlist
from plait.axiom.dependency import install_on
from plait.axiom.item import Item
from plait.axiom.service import IService
from plait.axiom.store import Store
from plait.core.endpoints import server_endpoint

from .catalog import ZoneCatalog
from .server import DNSServer, serve
from .xfr_server import DEFAULT_ALLOW
from .zone import Zone
from .zone_store import load_all, load_zone, save_zone
from .zonefile import parse_zone

__all__ = ["DEFAULT_DNS_ENDPOINT", "DNSService", "NamesServiceMaker", "example_zone"]

log = logging.getLogger(__name__)

DEFAULT_DNS_ENDPOINT = "udp:5353:interface=127.0.0.1"

EXAMPLE_ZONE = """\
$TTL 3600
@      IN SOA  ns1 hostmaster 1 3600 600 604800 300
@      IN NS   ns1
@      IN MX   10 www
@      IN TXT  "plait DNS: zones live in the site store"
ns1    IN A    127.0.0.1
www    IN A    127.0.0.1
www    IN AAAA ::1
docs   IN A    192.0.2.1
docs   IN AAAA 2001:db8::1
"""


def example_zone() -> Zone:
    """The zone the first run installs: ``example.test`` on loopback and documentation
    addresses (RFC 2606 name, RFC 5737 / RFC 3849 addresses)."""
    return Zone.from_records("example.test", parse_zone(EXAMPLE_ZONE, "example.test"))


def listen_address(description: str) -> tuple[str, int]:
    """``udp:5353:interface=127.0.0.1`` (or ``tcp:...``) as ``(host, port)``; DNS listens on
    both UDP and TCP at that port. ValueError for other kinds."""
    endpoint: Any = server_endpoint(description)
    kind = description.split(":", 1)[0]
    if kind not in ("udp", "tcp", "tcp6"):
        raise ValueError(f"DNS listens on udp: or tcp: endpoints, not {kind}: ({description})")
    return str(endpoint.interface), int(endpoint.port)


class DNSService(Item):
    """Serves the store's zones on UDP and TCP at ``description``'s address and port."""

    type_name = "plait_names_service"
    schema_version = 1

    powerup_interfaces = [IService]

    name = text(allow_none=True, default="dns", doc="what `plait status` calls this service")
    description = text(allow_none=False, default=DEFAULT_DNS_ENDPOINT,
                       doc="where to listen (UDP and TCP on this port)")
    transfer_allow = textlist(default_factory=lambda: list(DEFAULT_ALLOW),
                              doc="networks that may AXFR/IXFR the zones")
    tcp_idle_timeout = integer(default=10, allow_none=False, doc="seconds before an idle "
                               "TCP client is closed")
    max_tcp_connections = integer(default=256, allow_none=False, doc="TCP clients at once")
    server = inmemory()
    catalog = inmemory()

    def check(self) -> None:
        """ValueError now if the description cannot be listened on."""
        listen_address(self.description)

    async def start(self) -> None:
        """Load the stored zones and listen (ValueError / OSError if it cannot)."""
        if self.server is not None:
            return
        host, port = listen_address(self.description)
        catalog = ZoneCatalog()
        zones, _errors = load_all(self.store)
        for zone in zones:
            catalog.put(zone)
        self.server = await serve(catalog, host, port,
                                  transfer_allow=tuple(self.transfer_allow),
                                  tcp_idle_timeout=float(self.tcp_idle_timeout),
                                  max_tcp_connections=self.max_tcp_connections)
        self.catalog = catalog

    async def stop(self) -> None:
        """Stop listening; queries being handled are cancelled."""
        server: DNSServer | None = self.server
        self.server = None
        self.catalog = None
        if server is not None:
            await server.close()

    def reload(self) -> list[str]:
        """Bring the running catalog in line with the store; the origins changed."""
        catalog: ZoneCatalog | None = self.catalog
        if catalog is None:
            return []
        zones, _errors = load_all(self.store)
        changed = []
        wanted = {z.origin: z for z in zones}
        for origin, zone in wanted.items():
            if catalog.get(origin) != zone:
                catalog.put(zone)
                changed.append(str(origin))
        for zone in catalog.zones():
            if zone.origin not in wanted:
                catalog.remove(zone.origin)
                changed.append(str(zone.origin))
        return changed

    def endpoints(self) -> list[str]:
        """Where it listens (the real port when running), for `plait status`."""
        server: DNSServer | None = self.server
        if server is not None:
            return server.endpoints()
        try:
            host, port = listen_address(self.description)
        except ValueError:
            return [self.description]
        return [f"udp:{host}:{port}", f"tcp:{host}:{port}"]

    def __repr__(self) -> str:
        return f"<DNSService {self.store_id} {self.description!r}>"


class NamesServiceMaker:
    """The ``dns`` entry in the ``plait.services`` plugin group."""

    name = "dns"
    description = "DNS on UDP and TCP: the zones in the site store (example.test at first)"
    default_endpoint = DEFAULT_DNS_ENDPOINT

    def install(self, store: Store, endpoint: str) -> None:
        """The DNS service item on ``endpoint``, and the example zone if it is not there."""
        listen_address(endpoint)
        if load_zone(store, "example.test") is None:
            save_zone(store, example_zone())
        service = DNSService(store=store, name=self.name, description=endpoint)
        install_on(service, store)
