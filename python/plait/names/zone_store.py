"""Zones kept in an Axiom store: what ``plait serve`` answers is what the site store holds.

Each zone is one :class:`DNSZoneItem`: its origin and its records as zone-file lines
(``str(rr)``: absolute names, TTL and class on every line), so a stored zone reads back
through the same parser as a zone file and an operator can read it with ``axiomatic``.

    >>> from plait.axiom.store import Store
    >>> from plait.names.zone import Zone
    >>> from plait.names.zonefile import parse_zone
    >>> s = Store()
    >>> z = Zone.from_records("example.test", parse_zone(
    ...     "@ 60 IN SOA ns1 host 1 3600 600 86400 300\\n@ NS ns1\\n", "example.test"))
    >>> _ = save_zone(s, z)
    >>> load_zone(s, "example.test") == z, list_zones(s)
    (True, ['example.test.'])
"""
from __future__ import annotations

import logging

from plait.axiom.attributes import integer, text, textlist
from plait.axiom.item import Item
from plait.axiom.store import Store

from ._tokenizer import ZoneFileError
from .errors import ZoneError
from .name import Name
from .zone import Zone, origin_name
from .zonefile import parse_zone

__all__ = ["DNSZoneItem", "delete_zone", "list_zones", "load_all", "load_zone", "save_zone"]

log = logging.getLogger(__name__)


class DNSZoneItem(Item):
    """One zone: its origin (lower-case, absolute) and its records as zone-file lines."""

    type_name = "plait_names_zone"
    schema_version = 1

    origin = text(indexed=True, allow_none=False, doc="the zone's origin, e.g. 'example.test.'")
    serial = integer(default=0, allow_none=False, doc="the SOA serial when last saved")
    records = textlist(default_factory=list, doc="one zone-file line per record, SOA first")

    def to_zone(self) -> Zone:
        """The stored zone, checked (ZoneError if the stored text no longer parses)."""
        try:
            rrs = parse_zone("\n".join(self.records), None, filename=f"zone {self.origin}")
        except ZoneFileError as exc:
            raise ZoneError(str(exc)) from None
        return Zone.from_records(self.origin, rrs)

    def __repr__(self) -> str:
        return f"<DNSZoneItem {self.store_id} {self.origin} serial {self.serial}>"


def _key(origin: Name | str) -> str:
    return origin_name(origin).to_text().lower()


def _find(store: Store, origin: Name | str) -> DNSZoneItem | None:
    found: DNSZoneItem | None = store.find_first(DNSZoneItem, DNSZoneItem.origin == _key(origin))
    return found


def save_zone(store: Store, zone: Zone) -> DNSZoneItem:
    """Store ``zone``, replacing a stored zone of the same origin; the item."""

    def save() -> DNSZoneItem:
        lines = [str(rr) for rr in zone.records]
        item = _find(store, zone.origin)
        if item is None:
            return DNSZoneItem(store=store, origin=_key(zone.origin), serial=zone.serial,
                               records=lines)
        item.records = lines
        item.serial = zone.serial
        return item

    result: DNSZoneItem = store.transact(save)
    return result


def load_zone(store: Store, origin: Name | str) -> Zone | None:
    """The stored zone of ``origin``, or None."""
    item = _find(store, origin)
    return None if item is None else item.to_zone()


def delete_zone(store: Store, origin: Name | str) -> bool:
    """Remove the stored zone of ``origin``; whether there was one."""
    item = _find(store, origin)
    if item is None:
        return False
    store.transact(item.delete_from_store)
    return True


def list_zones(store: Store) -> list[str]:
    """The origins of the stored zones, sorted."""
    return sorted(str(o) for o in store.query(DNSZoneItem).get_column(DNSZoneItem.origin))


def load_all(store: Store) -> tuple[list[Zone], list[ZoneError]]:
    """Every stored zone that checks, and the errors of those that do not (logged)."""
    zones: list[Zone] = []
    errors: list[ZoneError] = []
    for item in store.query(DNSZoneItem, sort=DNSZoneItem.origin.ascending):
        try:
            zones.append(item.to_zone())
        except ZoneError as exc:
            log.error("stored zone %s not served: %s", item.origin, exc)
            errors.append(exc)
    return zones, errors
