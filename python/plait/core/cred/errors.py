"""Why a login failed.

Both failures share :class:`LoginFailed` so a protocol can answer every failure the
same way on the wire (no hint whether the user exists).
"""
from __future__ import annotations

__all__ = ["LoginFailed", "UnauthorizedLogin", "UnhandledCredentials", "ValidPublicKey"]


class LoginFailed(Exception):
    """The login did not succeed."""


class UnauthorizedLogin(LoginFailed):
    """The credentials were checked and refused (bad password, unknown user, bad key)."""


class UnhandledCredentials(LoginFailed):
    """No checker registered with the portal handles this kind of credentials."""


class ValidPublicKey(UnauthorizedLogin):
    """The public key is authorized but no signature was given yet.

    An SSH server answers ``SSH_MSG_USERAUTH_PK_OK`` and waits for the signed request.
    """
