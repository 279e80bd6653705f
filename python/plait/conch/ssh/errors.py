"""Errors of the SSH package; each carries the wire code that reports it."""
from __future__ import annotations

from .constants import ChannelOpenFailure, DisconnectReason

__all__ = [
    "AuthenticationError", "ChannelOpenError", "ConnectionLost", "HostKeyError",
    "KeyFormatError", "PassphraseError", "ProtocolError", "SSHError",
]


class SSHError(Exception):
    """Base of SSH errors."""


class ProtocolError(SSHError):
    """The peer broke the protocol, or a key exchange failed: the connection is ended with
    SSH_MSG_DISCONNECT carrying ``reason``."""

    def __init__(self, reason: int, description: str) -> None:
        super().__init__(description)
        self.reason = DisconnectReason(reason) if reason in DisconnectReason._value2member_map_ \
            else reason
        self.description = description

    def __str__(self) -> str:
        name = getattr(self.reason, "name", str(self.reason))
        return f"{self.description} ({name})"


class ConnectionLost(SSHError):
    """The connection closed, or the peer sent SSH_MSG_DISCONNECT (``reason``, ``description``)."""

    def __init__(self, description: str = "connection lost",
                 reason: int = DisconnectReason.CONNECTION_LOST) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


class HostKeyError(SSHError):
    """The server's host key is unknown, changed, or its signature did not verify."""


class AuthenticationError(SSHError):
    """Every authentication method the client had was refused."""


class ChannelOpenError(SSHError):
    """The peer refused to open a channel (``code`` from RFC 4254 §5.1)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = ChannelOpenFailure(code) if code in ChannelOpenFailure._value2member_map_ \
            else code
        self.description = description


class KeyFormatError(SSHError, ValueError):
    """A key file or blob that cannot be read: the message says which format and why."""


class PassphraseError(KeyFormatError):
    """An encrypted private key with no passphrase given, or the wrong one."""
