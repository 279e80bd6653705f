"""The authoritative answer engine: whole answers computed natively from the query bytes.

:class:`Authority` holds zones in ``plait._native.DnsCatalog`` so the server's hot path is
one call per query: ``answer(query)`` returns the response bytes (AA, referrals with glue,
CNAME/DNAME chains, RFC 4592 wildcards, NXDOMAIN/NODATA with the SOA, EDNS0 and
truncation, the RRSIG and NSEC or NSEC3 records of a pre-signed zone when DO is set), or
``PASS`` for the queries Python must handle (NOTIFY, AXFR/IXFR, recursion), or None to drop
the packet. Answers to repeated questions come from a cache of rendered responses that a
zone change empties.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from plait._native import DnsCatalog

from .errors import ZoneError
from .message import RR, _native_records
from .name import Name

__all__ = ["Authority"]


class Authority:
    """Zones answered natively; see the module docstring for what ``answer`` returns."""

    PASS: ClassVar[int] = 1

    def __init__(self, *, recursion: bool = False, max_udp_payload: int = 1232) -> None:
        if not 512 <= max_udp_payload <= 65535:
            raise ValueError(f"max_udp_payload must be 512..65535, not {max_udp_payload}")
        self.recursion = recursion
        self.max_udp_payload = max_udp_payload
        self._catalog = DnsCatalog(recursion=recursion, max_udp_payload=max_udp_payload)

    @property
    def native(self) -> DnsCatalog:
        """The native catalog itself, for a native I/O path (the UDP pump) to answer from."""
        return self._catalog

    def set_zone(self, origin: Name, records: Sequence[RR]) -> None:
        """Add the zone at ``origin`` or replace it atomically; ZoneError if it is invalid
        (no SOA at the apex, no NS there, a record outside the zone or not of class IN, a
        CNAME beside other data)."""
        try:
            native = _native_records(tuple(records))
            self._catalog.set_zone(origin.wire, native)
        except (ValueError, TypeError) as e:
            raise ZoneError(f"zone {origin}: {e}" if str(origin) not in str(e) else str(e)) from e

    def remove_zone(self, origin: Name) -> None:
        """Stop answering for ``origin`` (nothing happens if it was not served)."""
        self._catalog.remove_zone(origin.wire)

    def origins(self) -> list[Name]:
        """The origins served, in canonical order."""
        return [Name(w) for w in self._catalog.origins()]

    def answer(self, query: bytes, tcp: bool = False) -> bytes | int | None:
        """The response to one query: bytes to send, ``Authority.PASS`` to let Python handle
        it, or None to drop it silently. ``tcp`` lifts the size limit to 65535 bytes."""
        return self._catalog.answer(query, tcp)
