"""Plugins through entry points: what ``plait serve`` can install, what ``axiomatic`` can do.

Why entry points: a separately installed distribution (say ``plait-gopher``) adds a
service or a store command just by declaring it in its metadata, with no registry to
edit.  Group ``plait.services`` holds :class:`ServiceMaker` objects (or classes to
instantiate), which install their service's items into the site store; group
``plait.axiomatic`` holds store commands: objects with ``run(store, args)`` (and optionally
``description`` and ``add_arguments(parser)``), or plain callables ``fn(store, args)``.
"""
from __future__ import annotations

import logging
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

from plait.core.errors import PluginError

__all__ = [
    "AXIOMATIC_GROUP",
    "SERVICES_GROUP",
    "PluginError",
    "ServiceMaker",
    "axiomatic_commands",
    "service_makers",
]

SERVICES_GROUP = "plait.services"
AXIOMATIC_GROUP = "plait.axiomatic"

log = logging.getLogger(__name__)


@runtime_checkable
class ServiceMaker(Protocol):
    """Installs one plugin's service into the site store that ``plait serve`` runs.

    ``install`` runs once per site (on the first start after the plugin appears): it creates
    the items that serve (typically a port item powering the store up for ``IService``,
    listening on ``endpoint``); from then on the store, not the plugin, says what runs.
    """

    name: str
    description: str
    default_endpoint: str

    def install(self, store: Any, endpoint: str) -> None: ...


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)


def _load(group: str, strict: bool, instantiate: bool) -> dict[str, object]:
    found: dict[str, object] = {}
    origin: dict[str, str] = {}
    for ep in _entry_points(group):
        where = f"{group} entry point {ep.name!r} ({ep.value})"
        if ep.name in found:
            problem = f"{where}: the name is taken by {origin[ep.name]}; ignored"
            if strict:
                raise PluginError(problem)
            log.warning("%s", problem)
            continue
        try:
            obj = ep.load()
            if instantiate and isinstance(obj, type):
                obj = obj()
        except Exception as exc:
            if strict:
                raise PluginError(f"{where}: {type(exc).__name__}: {exc}") from exc
            log.warning("%s failed to load; skipped", where, exc_info=True)
            continue
        found[ep.name] = obj
        origin[ep.name] = ep.value
    return found


def service_makers(*, strict: bool = False) -> dict[str, ServiceMaker]:
    """Every installed ``plait.services`` maker, by entry point name.

    A plugin that fails to load (or lacks ``install``/``default_endpoint``) is
    logged and skipped, so one broken plugin does not stop the server; ``strict=True``
    raises :class:`PluginError` instead.
    """
    makers: dict[str, ServiceMaker] = {}
    for name, obj in _load(SERVICES_GROUP, strict, instantiate=True).items():
        if not isinstance(obj, ServiceMaker):
            problem = (
                f"{SERVICES_GROUP} entry point {name!r}: {obj!r} is not a ServiceMaker "
                "(needs name, description, default_endpoint and install)"
            )
            if strict:
                raise PluginError(problem)
            log.warning("%s; skipped", problem)
            continue
        makers[name] = obj
    return makers


def axiomatic_commands(*, strict: bool = False) -> dict[str, object]:
    """Every installed ``plait.axiomatic`` command object, by entry point name, as loaded."""
    return _load(AXIOMATIC_GROUP, strict, instantiate=False)
