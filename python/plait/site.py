"""The site store `plait serve` runs: ``DATA/site.axiom``, its first-run defaults, and moves.

Axiom's "goodbye, configuration files": what the server runs is what the store holds. The
first start installs the login system and, once per plugin, each ``plait.services`` plugin's
items (a plugin that appears later is installed on the next start; a service an operator
removed from the store stays removed). ``--listen NAME=ENDPOINT`` moves a named port item
and is saved in the store.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plait.axiom.attributes import textlist
from plait.axiom.errors import StoreLocked
from plait.axiom.item import Item
from plait.axiom.service import IService
from plait.axiom.store import Store
from plait.axiom.userbase import install_login_system
from plait.core.endpoints import server_endpoint
from plait.core.plugins import ServiceMaker

SITE_STORE_NAME = "site.axiom"


class SiteError(Exception):
    """Why the site store cannot be opened or changed as asked, as one readable line."""


class InstalledPlugins(Item):
    """Which ``plait.services`` plugins have installed their items in this site."""

    type_name = "plait_site_installed_plugins"
    schema_version = 1

    names = textlist(default_factory=list, doc="plugin names, in installation order")


def site_store_path(data_dir: Path) -> Path:
    return data_dir / SITE_STORE_NAME


def open_site(data_dir: Path) -> Store:
    """Open (creating on first run) the site store in ``data_dir``."""
    try:
        return Store(site_store_path(data_dir))
    except StoreLocked:
        raise SiteError(f"the site store in {data_dir} is in use by another process") from None


def install_defaults(store: Store, makers: Mapping[str, ServiceMaker]) -> list[str]:
    """Install the login system and every plugin not installed yet; the names installed."""

    def install() -> list[str]:
        install_login_system(store)
        record = store.find_or_create(InstalledPlugins)
        done = list(record.names)
        new = [name for name in sorted(makers) if name not in done]
        for name in new:
            makers[name].install(store, makers[name].default_endpoint)
        record.names = done + new
        return new

    return store.transact(install)


def named_services(store: Store) -> dict[str, Any]:
    """The store's service items that have a name, by name."""
    return {item.name: item for item in store.powerups_for(IService)
            if isinstance(getattr(item, "name", None), str) and item.name}


def move_services(store: Store, moves: Mapping[str, str]) -> None:
    """Point each named service at a new endpoint description (saved in the store)."""
    services = named_services(store)
    unknown = sorted(set(moves) - set(services))
    if unknown:
        raise SiteError(f"--listen names unknown service(s) {', '.join(unknown)}; "
                        f"the site has: {', '.join(sorted(services)) or 'none'}")
    for name, description in moves.items():
        try:
            server_endpoint(description)
        except ValueError as exc:
            raise SiteError(f"--listen {name}={description}: {exc}") from None
        if not hasattr(services[name], "description"):
            raise SiteError(f"service {name} does not listen on an endpoint description")

    def move() -> None:
        for name, description in moves.items():
            services[name].description = description

    store.transact(move)
