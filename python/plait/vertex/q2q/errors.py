"""Q2Q's exceptions: each message is one readable line (the ``vertex`` CLI prints it as is).

Those that cross the wire are declared on the commands (``commands.py``) with these codes,
so a caller gets the same class the server raised.
"""
from __future__ import annotations

__all__ = [
    "AddressTaken",
    "BadCertificateRequest",
    "BadPassword",
    "CertificateMismatch",
    "ConnectionFailed",
    "MissingCertificate",
    "NoSuchUser",
    "NotAuthorized",
    "PeerOffline",
    "Q2QError",
    "RegistrationClosed",
    "WrongDomain",
]


class Q2QError(Exception):
    """Base class of every Q2Q failure; ``str(exc)`` is one line."""


class NoSuchUser(Q2QError):
    """The identity server has no account with that address (wire code ``NoSuchUser``)."""


class BadPassword(Q2QError):
    """The password does not match the account's (wire code ``BadPassword``)."""


class AddressTaken(Q2QError):
    """``register`` named an address that already has an account."""


class RegistrationClosed(Q2QError):
    """The identity server does not take registrations (or has as many accounts as allowed)."""


class WrongDomain(Q2QError):
    """A command named an address of a domain this identity server does not serve."""


class BadCertificateRequest(Q2QError):
    """A CSR that cannot be signed: unreadable, bad signature, or a subject other than the
    registered address alone."""


class NotAuthorized(Q2QError):
    """The connection has not proven the address the command acts for (secure first)."""


class PeerOffline(Q2QError):
    """Nobody listens for that protocol at that address right now."""


class CertificateMismatch(Q2QError):
    """A peer's certificate is not signed by its domain's CA, or names another address."""


class MissingCertificate(Q2QError):
    """The certificate store lacks a key, certificate or CA certificate that is needed."""


class ConnectionFailed(Q2QError):
    """Every connection method was tried and failed; the message lists why, per method."""
