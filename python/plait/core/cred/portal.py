"""The portal: checks credentials, then asks the realm for the user's avatar.

Why (after Twisted's cred): a protocol knows how to ask for credentials, a checker knows
whether they are good, a realm knows what a logged-in user may do; the portal joins the
three, so SSH, IMAP or IRC share the same user database and the same business objects.
"""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from plait.core.cred.checkers import AvatarId, CredentialsChecker
from plait.core.cred.errors import UnhandledCredentials

__all__ = ["LoginResult", "Logout", "Portal", "Realm"]

Logout = Callable[[], Any]
LoginResult = tuple[Any, Any, Logout]


class Realm(Protocol):
    """Makes avatars: ``request_avatar`` may be a plain or an ``async`` method.

    It returns ``(interface, avatar, logout)``: the first of ``interfaces`` it could
    provide, the avatar implementing it, and a no-argument callable (plain or async)
    the protocol calls when the session ends.
    """

    def request_avatar(
        self, avatar_id: AvatarId, mind: Any, *interfaces: Any
    ) -> LoginResult | Awaitable[LoginResult]: ...


class _OnceLogout:
    """Calls the realm's logout at most once, whatever the protocol does."""

    def __init__(self, logout: Logout) -> None:
        self._logout: Logout | None = logout

    def __call__(self) -> Any:
        logout, self._logout = self._logout, None
        if logout is None:
            return None
        return logout()


class Portal:
    """``await portal.login(credentials, mind, *interfaces)`` -> ``(interface, avatar, logout)``."""

    def __init__(self, realm: Realm, checkers: Iterable[CredentialsChecker] = ()) -> None:
        self.realm = realm
        self._checkers: dict[type, CredentialsChecker] = {}
        for checker in checkers:
            self.register_checker(checker)

    def register_checker(self, checker: CredentialsChecker, *credential_types: type) -> None:
        """Use ``checker`` for these credential types (default: the ones it declares)."""
        for kind in credential_types or checker.credential_types:
            self._checkers[kind] = checker

    def credential_types(self) -> list[type]:
        """The kinds of credentials this portal can check (a protocol offers only these)."""
        return list(self._checkers)

    def _checker_for(self, credentials: object) -> CredentialsChecker:
        for kind in type(credentials).__mro__:
            checker = self._checkers.get(kind)
            if checker is not None:
                return checker
        raise UnhandledCredentials(f"no checker for {type(credentials).__name__} credentials")

    async def login(self, credentials: object, mind: Any, *interfaces: Any) -> LoginResult:
        """Check ``credentials``, then get the avatar for ``interfaces`` from the realm.

        Raises ``UnauthorizedLogin`` for refused credentials and ``UnhandledCredentials``
        when no checker takes this type.
        """
        checker = self._checker_for(credentials)
        avatar_id = checker.request_avatar_id(credentials)
        if inspect.isawaitable(avatar_id):
            avatar_id = await avatar_id
        result = self.realm.request_avatar(avatar_id, mind, *interfaces)
        if inspect.isawaitable(result):
            result = await result
        interface, avatar, logout = result
        return interface, avatar, _OnceLogout(logout)
