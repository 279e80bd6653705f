"""What a client presents to log in: a password, an SSH public key, or nothing.

Why dataclasses: credentials are plain values handed from a protocol (SSH, IMAP, IRC...)
to a :class:`~plait.core.cred.portal.Portal`; checkers pick them by type.  Secrets are
kept out of ``repr`` so they never reach a log by accident.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass, field

__all__ = ["Anonymous", "Credentials", "SSHPublicKey", "UsernamePassword"]


@dataclass(frozen=True)
class UsernamePassword:
    """A user name and the password they typed."""

    username: str
    password: str = field(repr=False)

    def check_password(self, password: str) -> bool:
        """Constant-time comparison with a known plaintext (for tests and legacy stores)."""
        return hmac.compare_digest(self.password.encode("utf-8"), password.encode("utf-8"))


@dataclass(frozen=True)
class SSHPublicKey:
    """An SSH ``publickey`` user-auth request.

    ``algorithm`` is the signature algorithm name (``b"ssh-ed25519"``,
    ``b"ecdsa-sha2-nistp256"``, ``b"rsa-sha2-256"``...), ``blob`` the public key in SSH
    wire format, ``signed_data`` what the client signed (session id + request) and
    ``signature`` the SSH signature blob; both are ``None`` for a "would you accept
    this key?" query.
    """

    username: str
    algorithm: bytes
    blob: bytes
    signed_data: bytes | None = None
    signature: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Anonymous:
    """No credentials at all (anonymous FTP-style access)."""


Credentials = UsernamePassword | SSHPublicKey | Anonymous
