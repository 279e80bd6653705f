"""The set of zones a server answers for, kept in step with the native authority.

Why a catalog beside :class:`~plait.names.authority.Authority`: the authority answers
queries natively from wire bytes and keeps no Python objects; the transfer server, the
secondaries, NOTIFY and the zone store need the :class:`~plait.names.zone.Zone` values and
want to hear when one changes. :meth:`ZoneCatalog.put` changes both at once and then tells
the listeners ``(old, new)``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .name import Name
from .zone import Zone, origin_name

if TYPE_CHECKING:
    from .authority import Authority

__all__ = ["Listener", "ZoneCatalog"]

log = logging.getLogger(__name__)

Listener = Callable[[Zone | None, Zone | None], None]


class ZoneCatalog:
    """Zones by origin, and the native :class:`Authority` that answers from them.

    ``authority`` may be given (a shared or instrumented one); by default one is made with
    ``recursion`` and ``max_udp_payload``.
    """

    def __init__(self, *, recursion: bool = False, max_udp_payload: int = 1232,
                 authority: Any | None = None) -> None:
        if authority is None:
            from .authority import Authority
            authority = Authority(recursion=recursion, max_udp_payload=max_udp_payload)
        self.authority: Authority = authority
        self.recursion = recursion
        self._zones: dict[Name, Zone] = {}
        self._listeners: list[Listener] = []

    def put(self, zone: Zone) -> None:
        """Add ``zone`` or replace the zone of its origin atomically (the authority first:
        if it refuses the zone, nothing changes), then call the listeners."""
        self.authority.set_zone(zone.origin, zone.records)
        old = self._zones.get(zone.origin)
        self._zones[zone.origin] = zone
        self._notify(old, zone)

    def remove(self, origin: Name | str) -> None:
        """Stop answering for ``origin`` (KeyError if it is not here)."""
        name = origin_name(origin)
        old = self._zones[name]
        self.authority.remove_zone(name)
        del self._zones[name]
        self._notify(old, None)

    def get(self, origin: Name | str) -> Zone | None:
        """The zone whose origin is exactly ``origin``."""
        return self._zones.get(origin_name(origin))

    def find(self, name: Name) -> Zone | None:
        """The deepest zone containing ``name``."""
        zones = self._zones
        if not zones:
            return None
        while True:
            zone = zones.get(name)
            if zone is not None:
                return zone
            if name.is_root():
                return None
            name = name.parent()

    def zones(self) -> list[Zone]:
        """Every zone, by origin in canonical order."""
        return [self._zones[o] for o in sorted(self._zones)]

    def __len__(self) -> int:
        return len(self._zones)

    def __contains__(self, origin: object) -> bool:
        return isinstance(origin, (Name, str)) and origin_name(origin) in self._zones

    def add_listener(self, fn: Listener) -> None:
        """Call ``fn(old, new)`` after each change (``old`` None on add, ``new`` None on
        remove). A listener that raises is logged; the change stands."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        """Stop calling ``fn`` (ValueError if it was not added)."""
        self._listeners.remove(fn)

    def _notify(self, old: Zone | None, new: Zone | None) -> None:
        for fn in list(self._listeners):
            try:
                fn(old, new)
            except Exception:
                log.exception("zone catalog listener %r failed", fn)
