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


# Client side: what a resolver raises when a query does not get a usable answer.
# Each carries the RCODE that reported it (a timeout has none of its own: SERVFAIL, as a
# recursive server reports a resolution that failed).

class DNSTimeoutError(DNSError, TimeoutError):
    """No server answered in time (every attempt, every server)."""

    rcode = Rcode.SERVFAIL


class DNSNameError(DNSError, LookupError):
    """NXDOMAIN: the name does not exist. ``response`` is the message that said so."""

    rcode = Rcode.NXDOMAIN
    response: object = None


class DNSServerError(DNSError):
    """SERVFAIL: the server (or the resolution) failed."""

    rcode = Rcode.SERVFAIL


class DNSQueryRefusedError(DNSError):
    """REFUSED: the server will not answer this query."""

    rcode = Rcode.REFUSED


class DNSNotImplementedError(DNSError):
    """NOTIMP: the server does not support this kind of query."""

    rcode = Rcode.NOTIMP


class DNSQueryFormatError(DNSError):
    """FORMERR from a server: it could not parse the query we sent."""

    rcode = Rcode.FORMERR


class DNSUnknownError(DNSError):
    """A response code without a class of its own; ``rcode`` holds it."""


class DNSResolutionError(DNSServerError):
    """The iterative resolver gave up: a limit (referrals, queries, CNAMEs, time) was hit,
    a loop was found, or no server of a zone could be reached."""


_RCODE_ERRORS: dict[int, type[DNSError]] = {
    Rcode.NXDOMAIN: DNSNameError, Rcode.SERVFAIL: DNSServerError,
    Rcode.REFUSED: DNSQueryRefusedError, Rcode.NOTIMP: DNSNotImplementedError,
    Rcode.FORMERR: DNSQueryFormatError,
}


def error_for_rcode(rcode: int, message: str = "") -> DNSError:
    """The exception that reports a response with ``rcode`` (not NOERROR)."""
    cls = _RCODE_ERRORS.get(rcode, DNSUnknownError)
    return cls(message or f"server answered rcode {rcode}", rcode)


__all__ += [
    "DNSNameError", "DNSNotImplementedError", "DNSQueryFormatError", "DNSQueryRefusedError",
    "DNSResolutionError", "DNSServerError", "DNSTimeoutError", "DNSUnknownError",
    "error_for_rcode",
]


__all__ += ["TransferError", "TransferTimeout"]


class TransferError(DNSError):
    """A zone transfer (AXFR/IXFR) or SOA check that failed: the server's RCODE when it
    answered with one, otherwise SERVFAIL and a message saying what was wrong with the
    stream (wrong first record, a record outside the zone, a limit passed, a short read)."""

    rcode = Rcode.SERVFAIL


class TransferTimeout(TransferError, TimeoutError):
    """A zone transfer or SOA check that did not finish within its time limit."""

    rcode = Rcode.SERVFAIL
