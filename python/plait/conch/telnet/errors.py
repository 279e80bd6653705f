"""Telnet errors: what the peer did wrong, and what a caller asked for that cannot be done."""
from __future__ import annotations

__all__ = ["LoginTimeout", "TelnetError"]


class TelnetError(Exception):
    """A telnet connection failed (closed, refused, or a limit was exceeded)."""


class LoginTimeout(TelnetError):
    """The peer did not finish logging in within the server's login timeout."""
