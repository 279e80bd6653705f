"""The userbase: accounts, the addresses they log in with, and the login system.

After Divmod's ``axiom.userbase``.  A site store holds one :class:`LoginSystem`; every
user is a :class:`LoginAccount` (an argon2id password hash, SSH keys, a disabled flag)
reached through one or more :class:`LoginMethod` items (``localpart@domain`` addresses),
and owns a substore (``account/<domain>/<localpart>.axiom``) where its avatars live: the
items a protocol gets back after a login.

Why one login system for everything: the :class:`LoginSystem` is both a
:mod:`plait.core.cred` realm and a checker for passwords and SSH keys, so SSH, IMAP, SMTP
AUTH, IRC and the web all accept the same users, and a service finds it as a powerup of
the site store::

    login_system = install_login_system(site_store)
    login_system.add_account("alice", "example.com", "s3cret")
    portal = Portal(login_system, [login_system])
    interface, avatar, logout = await portal.login(
        UsernamePassword("alice@example.com", "s3cret"), None, IMailbox
    )

Addresses are case-insensitive: the local part and the domain are stored lower-cased (an
internationalised domain in its ``xn--`` form).  A password check always costs one argon2
verification, whether the user exists or not, and runs in a worker thread; SSH keys are
compared against every key of the account; a disabled account is refused with
:class:`DisabledAccount` (an ``UnauthorizedLogin``) only after its credentials proved good,
so a refusal says nothing about which accounts exist.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import re
import shutil
import struct
import typing
from collections.abc import Iterator
from typing import Any, cast

from argon2 import PasswordHasher

from plait.axiom import substore as substore_module
from plait.axiom.attributes import (
    CASCADE,
    NULLIFY,
    boolean,
    compound_index,
    inmemory,
    integer,
    reference,
    text,
    textlist,
)
from plait.axiom.comparison import AND
from plait.axiom.errors import AxiomError
from plait.axiom.item import Item
from plait.axiom.powerup import powerup_for
from plait.axiom.store import Store
from plait.axiom.substore import SubStore
from plait.core.cred import (
    CredentialsChecker,
    LoginFailed,
    LoginResult,
    Portal,
    Realm,
    SSHPublicKey,
    SSHPublicKeyChecker,
    UnauthorizedLogin,
    UnhandledCredentials,
    UsernamePassword,
    ValidPublicKey,
    hash_password,
    parse_public_key,
)
from plait.core.cred import checkers as _checkers

__all__ = [
    "GENERIC_INTERFACES",
    "AvatarNotFound",
    "BadAddress",
    "DisabledAccount",
    "DuplicateUser",
    "LoginAccount",
    "LoginMethod",
    "LoginSystem",
    "NoSuchUser",
    "UserbaseError",
    "account_for_store",
    "install_login_system",
    "login_system_for",
    "normalize_address",
    "portal_for",
]

log = logging.getLogger(__name__)

#: What a realm request may ask for to get the user's substore itself.
GENERIC_INTERFACES: tuple[Any, ...] = (Store, object, Any)


# ------------------------------------------------------------------ errors


class UserbaseError(AxiomError):
    """An administrative userbase operation failed (never raised by a login)."""


class DuplicateUser(UserbaseError, ValueError):
    """The address already belongs to an account."""


class NoSuchUser(UserbaseError, LookupError):
    """No account has this address."""


class BadAddress(UserbaseError, ValueError):
    """Not a usable ``localpart@domain`` address."""


class DisabledAccount(UnauthorizedLogin):
    """The credentials were good, but the account is disabled."""


class AvatarNotFound(LoginFailed):
    """The user logged in, but their substore provides none of the requested interfaces."""


# ------------------------------------------------------------------ addresses

_LOCALPART = re.compile(r"[^\s@/\\:\x00-\x1f\x7f]{1,64}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _localpart(localpart: str) -> str:
    if not isinstance(localpart, str):
        raise TypeError(f"a user name must be str, not {type(localpart).__name__}")
    part = localpart.lower()
    if not _LOCALPART.fullmatch(part) or part.startswith("."):
        raise BadAddress(
            f"user name {localpart!r} must be 1-64 characters, not start with '.', "
            "and hold no spaces, '@', '/', '\\', ':' or control characters"
        )
    return part


def _domain(domain: str) -> str:
    if not isinstance(domain, str):
        raise TypeError(f"a domain must be str, not {type(domain).__name__}")
    name = domain.lower().removesuffix(".")  # the root label of a fully qualified name
    try:
        name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        raise BadAddress(f"domain {domain!r} is not a valid domain name") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadAddress(f"domain {domain!r} is not a valid domain name")
    return name


def normalize_address(address: str) -> tuple[str, str]:
    """``"Alice@Example.COM"`` -> ``("alice", "example.com")``; :class:`BadAddress` if invalid."""
    if not isinstance(address, str):
        raise TypeError(f"an address must be str, not {type(address).__name__}")
    localpart, at, domain = address.rpartition("@")
    if not at:
        raise BadAddress(f"{address!r} is not user@domain")
    return _localpart(localpart), _domain(domain)


def _parse_login_name(username: str, default_domain: str | None = None) -> tuple[str, str] | None:
    """The address a login names, or None (a login never says why it is unusable).

    A bare user name (no ``@``) is in ``default_domain`` when one is given.
    """
    try:
        if default_domain and isinstance(username, str) and "@" not in username:
            return _localpart(username), default_domain
        return normalize_address(username)
    except (BadAddress, TypeError):
        return None


# ------------------------------------------------------------------ items


class LoginAccount(Item):
    """A user: credentials, a disabled flag, and the substore holding their avatars."""

    type_name = "plait_userbase_login_account"
    schema_version = 1

    password_hash = text(
        allow_none=True, default=None, doc="argon2id hash of the password; None: no password login"
    )
    disabled = boolean(allow_none=False, default=False, doc="a disabled account cannot log in")
    avatars = reference(
        allow_none=True, when_deleted=NULLIFY, doc="the SubStore item holding the user's avatars"
    )
    ssh_keys = textlist(default_factory=list, doc="authorized_keys lines for SSH logins")

    def __repr__(self) -> str:  # never show the hash
        state = "disabled" if self.disabled else "enabled"
        return f"<LoginAccount {self.store_id} {self.address or '(no address)'} {state}>"

    # -- credentials

    def set_password(self, password: str | None, *, hasher: PasswordHasher | None = None) -> None:
        """Store the argon2id hash of ``password`` (None: password logins are refused)."""
        if password is None:
            self.password_hash = None
            return
        if not isinstance(password, str):
            raise TypeError(f"a password must be str, not {type(password).__name__}")
        self.password_hash = hash_password(password, hasher)

    def add_ssh_key(self, key: str | bytes) -> str:
        """Authorize an SSH public key: ``type base64 [comment]`` or an SSH key blob.

        Raises ``ValueError`` for something that is not a supported public key, and for
        ``authorized_keys`` options (``from=``, ``command=``...): they would not be
        enforced.  Adding a key the account already has changes nothing.  Returns the
        line as stored.
        """
        blob = parse_public_key(key)
        if isinstance(key, bytes) and key[:1] == b"\x00":
            line = _key_line(blob)
        else:
            line = (key.decode("ascii") if isinstance(key, bytes) else key).strip()
            if "\n" in line or "\r" in line:
                raise ValueError("an authorized key must be a single line")
            if line.split()[0].encode() not in _checkers.KEY_TYPES:
                raise ValueError(
                    "authorized_keys options (from=, command=...) are not supported: "
                    "give the key as 'type base64 [comment]'"
                )
        for existing in self.ssh_keys:
            if _blob_or_none(existing) == blob:
                return existing
        self.ssh_keys = [*self.ssh_keys, line]
        return line

    def remove_ssh_key(self, key: str | bytes) -> bool:
        """Remove every stored line holding this key; False if the account did not have it."""
        blob = parse_public_key(key)
        kept = [line for line in self.ssh_keys if _blob_or_none(line) != blob]
        if len(kept) == len(self.ssh_keys):
            return False
        self.ssh_keys = kept
        return True

    # -- addresses

    def login_methods(self) -> list[LoginMethod]:
        """This account's addresses, oldest first."""
        store = self._site_store()
        query = store.query(
            LoginMethod, LoginMethod.account == self, sort=LoginMethod.store_id.ascending
        )
        return list(query)

    def add_login_method(
        self,
        localpart: str,
        domain: str,
        *,
        protocol: str = "email",
        verified: bool = True,
        internal: bool = False,
    ) -> LoginMethod:
        """Give this account another address; :class:`DuplicateUser` if it is taken."""
        store = self._site_store()
        localpart, domain = _localpart(localpart), _domain(domain)

        def add() -> LoginMethod:
            if _method_for(store, localpart, domain) is not None:
                raise DuplicateUser(f"{localpart}@{domain} already belongs to an account")
            return LoginMethod(
                store=store,
                localpart=localpart,
                domain=domain,
                protocol=protocol,
                verified=verified,
                internal=internal,
                account=self,
            )

        return store.transact(add)

    @property
    def address(self) -> str | None:
        """The account's first address (``localpart@domain``), or None if it has none."""
        if self.store is None:
            return None
        methods = self.login_methods()
        return methods[0].address if methods else None

    # -- avatars

    def avatar_store(self) -> Store:
        """The user's substore (opened once, then cached by the SubStore item)."""
        substore = self.avatars
        if substore is None:
            raise UserbaseError(f"account {self.address} has no avatar substore")
        return cast(Store, substore.open())

    def _site_store(self) -> Store:
        store = self.store
        if store is None:
            raise UserbaseError("this LoginAccount is not in a store")
        return store


class LoginMethod(Item):
    """One address an account logs in with: ``localpart@domain`` over a protocol."""

    type_name = "plait_userbase_login_method"
    schema_version = 1

    localpart = text(allow_none=False, doc="the user part, lower-cased")
    domain = text(allow_none=False, doc="the domain, lower-cased (IDNA)")
    protocol = text(allow_none=False, default="email", doc="what kind of address this is")
    verified = boolean(
        allow_none=False, default=True, doc="the user's control of it is proven; else no login"
    )
    internal = boolean(allow_none=False, default=False, doc="an address this server hosts")
    account = reference(
        allow_none=False, when_deleted=CASCADE, indexed=True, doc="the LoginAccount"
    )

    compound_index(localpart, domain)

    @property
    def address(self) -> str:
        return f"{self.localpart}@{self.domain}"


def _method_for(store: Store, localpart: str, domain: str) -> LoginMethod | None:
    found = store.find_first(
        LoginMethod, AND(LoginMethod.localpart == localpart, LoginMethod.domain == domain)
    )
    return found


def _discard_substore(store: Store, store_id: int, child: Store, segments: list[str]) -> None:
    """Undo a SubStore whose creation was rolled back: close it, forget it, remove its files."""
    child.close()
    # The rolled-back SubStore item no longer knows its id, so SubStore.close() cannot drop
    # the cached child; drop it here, or a later SubStore reusing the id would get it.
    cache = getattr(substore_module, "_children", None)
    opened = cache.get(store) if cache is not None else None
    if opened is not None and opened.get(store_id) is child:
        del opened[store_id]
    if store.path is not None:
        shutil.rmtree(store.files_dir.joinpath(*segments), ignore_errors=True)


def _key_line(blob: bytes) -> str:
    """An ``authorized_keys`` line for an SSH key blob (already parsed, so well formed)."""
    (length,) = struct.unpack_from(">I", blob, 0)
    key_type = blob[4 : 4 + length].decode("ascii")
    return f"{key_type} {base64.b64encode(blob).decode('ascii')}"


def _blob_or_none(line: str) -> bytes | None:
    try:
        return parse_public_key(line)
    except ValueError:
        return None


# ------------------------------------------------------------------ the login system


class LoginSystem(Item):
    """The site's accounts, and the realm and checker every protocol logs in through."""

    type_name = "plait_userbase_login_system"
    schema_version = 1

    #: The credentials this checker takes (see :class:`plait.core.cred.Portal`).
    credential_types: tuple[type, ...] = (UsernamePassword, SSHPublicKey)

    default_domain = text(
        allow_none=True, default=None, doc="the domain of login names given without '@'"
    )
    login_count = integer(allow_none=False, default=0, doc="successful logins")
    failed_logins = integer(allow_none=False, default=0, doc="refused logins")
    hasher = inmemory(doc="the argon2 PasswordHasher for new hashes (None: cred's default)")

    # -- installation

    @classmethod
    def install(cls, store: Store) -> LoginSystem:
        """The store's login system, created and powered up on first call."""
        existing = login_system_for(store)
        if existing is not None:
            return existing

        def create() -> LoginSystem:
            login_system = cls(store=store)
            store.power_up(login_system, Realm)
            store.power_up(login_system, CredentialsChecker)
            return login_system

        return store.transact(create)

    def set_default_domain(self, domain: str | None) -> None:
        """Let logins name users of ``domain`` without it (``alice`` for ``alice@domain``)."""
        self.default_domain = None if domain is None else _domain(domain)

    def _password_hasher(self) -> PasswordHasher:
        hasher = self.hasher
        return hasher if isinstance(hasher, PasswordHasher) else _checkers._DEFAULT_HASHER

    def _store(self) -> Store:
        store = self.store
        if store is None:
            raise UserbaseError("this LoginSystem is not in a store")
        return store

    # -- accounts

    def add_account(
        self,
        username: str,
        domain: str,
        password: str | None,
        *,
        protocol: str = "email",
        verified: bool = True,
        internal: bool = False,
    ) -> LoginAccount:
        """Create an account, its address and its substore.

        ``password`` None makes an account that logs in only with SSH keys.  Raises
        :class:`DuplicateUser` if the address is taken, :class:`BadAddress` if unusable.
        """
        store = self._store()
        localpart, domain = _localpart(username), _domain(domain)
        if _method_for(store, localpart, domain) is not None:  # before the slow hash
            raise DuplicateUser(f"{localpart}@{domain} already belongs to an account")
        segments = ["account", domain, localpart + ".axiom"]
        if store.path is not None and store.files_dir.joinpath(*segments).exists():
            raise UserbaseError(
                f"files for {localpart}@{domain} already exist at "
                f"{store.files_dir.joinpath(*segments)} (left by a deleted account?): "
                "move them away first"
            )
        encoded = None if password is None else hash_password(password, self._password_hasher())
        created: list[tuple[int, Store]] = []

        def create() -> LoginAccount:
            if _method_for(store, localpart, domain) is not None:
                raise DuplicateUser(f"{localpart}@{domain} already belongs to an account")
            substore = SubStore.create_new(store, segments)
            user_store = substore.open()
            created.append((substore.store_id, user_store))
            account = LoginAccount(
                store=store, password_hash=encoded, disabled=False, avatars=substore
            )
            user_store.transact(_AccountLink, store=user_store, account_id=account.store_id)
            LoginMethod(
                store=store,
                localpart=localpart,
                domain=domain,
                protocol=protocol,
                verified=verified,
                internal=internal,
                account=account,
            )
            return account

        try:
            account = store.transact(create)
        except BaseException:
            for store_id, child in created:  # rolled back: leave no half-made user store
                _discard_substore(store, store_id, child, segments)
            raise
        log.info("created account %s@%s", localpart, domain)
        return account

    def account_by_address(self, address: str) -> LoginAccount | None:
        """The account with this address (any of its login methods), or None."""
        parts = _parse_login_name(address)
        if parts is None:
            return None
        method = _method_for(self._store(), *parts)
        return None if method is None else cast(LoginAccount, method.account)

    def accounts(self) -> Iterator[LoginAccount]:
        """Every account, oldest first."""
        store = self._store()
        return iter(store.query(LoginAccount, sort=LoginAccount.store_id.ascending))

    def _account(self, account: LoginAccount | str) -> LoginAccount:
        if isinstance(account, LoginAccount):
            return account
        found = self.account_by_address(account)
        if found is None:
            raise NoSuchUser(f"no account has the address {account!r}")
        return found

    def disable(self, account: LoginAccount | str) -> LoginAccount:
        """Refuse every login of this account (by item or address) from now on."""
        found = self._account(account)
        found.disabled = True
        return found

    def enable(self, account: LoginAccount | str) -> LoginAccount:
        """Let a disabled account log in again."""
        found = self._account(account)
        found.disabled = False
        return found

    # -- checker

    def _login_account(self, username: str) -> tuple[str, LoginAccount] | None:
        """The canonical address and account a login name designates (verified methods only)."""
        parts = _parse_login_name(username, self.default_domain)
        if parts is None:
            return None
        method = _method_for(self._store(), *parts)
        if method is None or not method.verified:
            return None
        return method.address, cast(LoginAccount, method.account)

    async def request_avatar_id(self, credentials: Any) -> str:
        """``user@domain`` for good credentials; ``UnauthorizedLogin`` otherwise."""
        try:
            if isinstance(credentials, UsernamePassword):
                address = await self._check_password(credentials)
            elif isinstance(credentials, SSHPublicKey):
                address = await self._check_key(credentials)
            else:
                raise UnhandledCredentials(
                    f"{type(credentials).__name__} credentials given to the login system"
                )
        except ValidPublicKey:
            raise
        except UnauthorizedLogin:
            self._count(failed=True)
            raise
        self._count(failed=False)
        return address

    async def _check_password(self, credentials: UsernamePassword) -> str:
        found = self._login_account(credentials.username)
        account = None if found is None else found[1]
        encoded = None if account is None else account.password_hash
        hasher = self._password_hasher()
        # One argon2 verification whatever happens: unknown users use a dummy hash.
        await _checkers._check_password(hasher, encoded, credentials)
        if found is None or account is None or encoded is None:  # _check_password refused it
            raise UnauthorizedLogin(_checkers.BAD_LOGIN)
        if account.disabled:
            raise DisabledAccount("this account is disabled")
        if hasher.check_needs_rehash(encoded):  # made with an older cost: hash it anew
            rehashed = await asyncio.to_thread(hasher.hash, credentials.password)
            if account.password_hash == encoded:  # unless it changed meanwhile
                account.password_hash = rehashed
        return found[0]

    async def _check_key(self, credentials: SSHPublicKey) -> str:
        found = self._login_account(credentials.username)
        keys = {} if found is None else {credentials.username: list(found[1].ssh_keys)}
        try:
            await SSHPublicKeyChecker(keys).request_avatar_id(credentials)
        except ValidPublicKey:
            if found is not None and found[1].disabled:  # do not ask a disabled user to sign
                raise UnauthorizedLogin(_checkers.BAD_KEY) from None
            raise
        if found is None:  # the checker refused it already; never reached
            raise UnauthorizedLogin(_checkers.BAD_KEY)
        if found[1].disabled:
            raise DisabledAccount("this account is disabled")
        return found[0]

    def _count(self, *, failed: bool) -> None:
        try:
            if failed:
                self.failed_logins += 1
            else:
                self.login_count += 1
        except Exception:  # a counter must never turn a login into a crash
            log.exception("could not update the login counters")

    # -- realm

    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> LoginResult:
        """The first of ``interfaces`` the user's substore provides, as ``(iface, avatar, logout)``.

        A generic interface (``Store``, ``object``, ``Any``) yields the substore itself;
        any other is the substore's highest-priority powerup for it.  ``ANONYMOUS`` gets
        the site store's powerups instead (never the site store itself).
        """
        anonymous = avatar_id == _checkers.ANONYMOUS
        if anonymous:
            store, who = self._store(), "anonymous"
        else:
            found = self._login_account(avatar_id) if isinstance(avatar_id, str) else None
            if found is None:
                raise UnauthorizedLogin("no such account")
            address, account = found
            if account.disabled:
                raise DisabledAccount("this account is disabled")
            store, who = account.avatar_store(), address
        for interface in interfaces:
            if any(interface is generic for generic in GENERIC_INTERFACES):
                if anonymous:
                    continue
                return interface, store, _no_logout
            avatar = powerup_for(store, interface)
            if avatar is not None:
                return interface, avatar, _no_logout
        wanted = ", ".join(_interface_name(interface) for interface in interfaces) or "nothing"
        raise AvatarNotFound(f"{who} has no avatar for {wanted}")


def _no_logout() -> None:
    return None


def _interface_name(interface: Any) -> str:
    return str(getattr(interface, "__qualname__", None) or interface)


class _AccountLink(Item):
    """Kept in a user's substore: which account of the parent store owns it."""

    type_name = "plait_userbase_account_link"
    schema_version = 1

    account_id = integer(allow_none=False, doc="the LoginAccount's store id in the parent store")


# ------------------------------------------------------------------ helpers


def account_for_store(store: Store) -> LoginAccount | None:
    """The account whose avatars live in ``store`` (a user's substore), or None.

    An avatar uses it to learn who it belongs to: ``account_for_store(self.store).address``.
    """
    link = store.find_first(_AccountLink)
    parent = store.parent
    if link is None or parent is None:
        return None
    account = parent.get_item_by_id(link.account_id, default=None)
    return account if isinstance(account, LoginAccount) else None


def install_login_system(store: Store) -> LoginSystem:
    """Install (once) the :class:`LoginSystem` on a site store and return it."""
    return LoginSystem.install(store)


def login_system_for(store: Store) -> LoginSystem | None:
    """The store's installed :class:`LoginSystem`, or None."""
    for item in store.powerups_for(Realm):
        if isinstance(item, LoginSystem):
            return item
    return store.find_first(LoginSystem)


def portal_for(store: Store) -> Portal:
    """A :class:`plait.core.cred.Portal` over the store's login system (installing it)."""
    login_system = LoginSystem.install(store)
    return Portal(login_system, [login_system])


if typing.TYPE_CHECKING:  # the login system satisfies both cred protocols
    _realm: Realm = LoginSystem()
    _checker: CredentialsChecker = LoginSystem()
