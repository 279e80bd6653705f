"""Exceptions of AMP (JUICE), named after Twisted's so that users of both recognise them.

Wire error codes are ``bytes``: ``UNKNOWN`` for failures a responder did not declare,
``UNHANDLED`` for commands nobody responds to, and whatever a ``Command`` declares.
"""
from __future__ import annotations

from plait.core.errors import ConnectionLost as _CoreConnectionLost

UNKNOWN_ERROR_CODE = b"UNKNOWN"
UNHANDLED_ERROR_CODE = b"UNHANDLED"
TLS_ERROR_CODE = b"TLS_ERROR"


class AmpError(Exception):
    """Base class of every AMP exception."""


class ProtocolError(AmpError):
    """The peer broke the protocol: bad framing, a malformed box, an answer to a tag we
    never asked, or argument values that do not decode.  The connection is closed."""


class RemoteAmpError(AmpError):
    """The peer answered a command with an ``_error`` box.

    ``error_code`` is the wire code (bytes) and ``description`` the peer's text; ``fatal``
    is true when the error closes the connection.
    """

    def __init__(self, error_code: bytes, description: str, fatal: bool = False) -> None:
        code = error_code.decode("ascii", "backslashreplace")
        super().__init__(f"Code<{code}>: {description}")
        self.error_code = error_code
        self.description = description
        self.fatal = fatal


class UnknownRemoteError(RemoteAmpError):
    """The peer failed with an error the command does not declare (or with ``UNKNOWN``)."""

    def __init__(self, description: str, error_code: bytes = UNKNOWN_ERROR_CODE) -> None:
        super().__init__(error_code, description)


class UnhandledCommand(RemoteAmpError):
    """The peer has no responder for the command (wire code ``UNHANDLED``)."""

    def __init__(self, description: str) -> None:
        super().__init__(UNHANDLED_ERROR_CODE, description)


class ConnectionLost(AmpError, _CoreConnectionLost):
    """The connection closed before the answer came; every outstanding call gets one.

    It is also ``plait.core.errors.ConnectionLost`` (a ``ConnectionResetError``)."""


class InvalidSignature(AmpError, TypeError):
    """``call_remote`` got arguments the command does not declare, or lacks required ones."""


class TooLong(AmpError, ValueError):
    """A key or value is longer than AMP allows (keys 1-255 bytes, values <= 65,535)."""


class BadLocalReturn(AmpError):
    """A local responder returned something its command's response cannot encode."""


class TLSError(AmpError):
    """StartTLS could not be honoured (wire code ``TLS_ERROR``)."""


class OnlyOneTLS(TLSError):
    """TLS can be started once per connection, as in Twisted."""


class TLSNotAvailable(TLSError):
    """A StartTLS arrived but this side has no TLS context to answer it with."""


__all__ = [
    "TLS_ERROR_CODE",
    "UNHANDLED_ERROR_CODE",
    "UNKNOWN_ERROR_CODE",
    "AmpError",
    "BadLocalReturn",
    "ConnectionLost",
    "InvalidSignature",
    "OnlyOneTLS",
    "ProtocolError",
    "RemoteAmpError",
    "TLSError",
    "TLSNotAvailable",
    "TooLong",
    "UnhandledCommand",
    "UnknownRemoteError",
]
