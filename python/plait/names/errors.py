"""Errors of the DNS package; each carries the RCODE it is answered with on the wire."""
from __future__ import annotations

from plait._native import DNSFormatError

from .constants import Rcode

__all__ = ["DNSError", "DNSFormatError", "DNSRenderError", "ZoneError"]


class DNSError(Exception):
    """Base of DNS protocol errors; ``rcode`` is the response code that reports it."""

    rcode: int = Rcode.SERVFAIL

    def __init__(self, message: str = "", rcode: int | None = None) -> None:
        super().__init__(message)
        if rcode is not None:
            self.rcode = rcode


class DNSRenderError(DNSError, ValueError):
    """A message that cannot be put on the wire (a field out of range, too big for max_size)."""

    rcode = Rcode.SERVFAIL


class ZoneError(DNSError, ValueError):
    """A zone that cannot be served: no SOA at its apex, a record outside it, a CNAME beside
    other data. The message names the zone and the record."""

    rcode = Rcode.SERVFAIL
