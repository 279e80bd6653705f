"""cred: authentication shared by every plait protocol (after Twisted's ``twisted.cred``).

A protocol builds credentials, ``await portal.login(credentials, mind, *interfaces)``
checks them with the checker registered for their type and asks the realm for an
avatar, returning ``(interface, avatar, logout)``.
"""
from plait.core.cred.checkers import (
    ANONYMOUS,
    AllowAnonymousChecker,
    AvatarId,
    CredentialsChecker,
    FileUsernamePasswordChecker,
    InMemoryUsernamePasswordChecker,
    SSHPublicKeyChecker,
    hash_password,
    parse_public_key,
    remove_password_entry,
    verify_ssh_signature,
    write_password_entry,
)
from plait.core.cred.credentials import Anonymous, Credentials, SSHPublicKey, UsernamePassword
from plait.core.cred.errors import (
    LoginFailed,
    UnauthorizedLogin,
    UnhandledCredentials,
    ValidPublicKey,
)
from plait.core.cred.portal import LoginResult, Logout, Portal, Realm

__all__ = [
    "ANONYMOUS",
    "AllowAnonymousChecker",
    "Anonymous",
    "AvatarId",
    "Credentials",
    "CredentialsChecker",
    "FileUsernamePasswordChecker",
    "InMemoryUsernamePasswordChecker",
    "LoginFailed",
    "LoginResult",
    "Logout",
    "Portal",
    "Realm",
    "SSHPublicKey",
    "SSHPublicKeyChecker",
    "UnauthorizedLogin",
    "UnhandledCredentials",
    "UsernamePassword",
    "ValidPublicKey",
    "hash_password",
    "parse_public_key",
    "remove_password_entry",
    "verify_ssh_signature",
    "write_password_entry",
]
