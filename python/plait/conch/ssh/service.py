"""The SSH service `plait serve` runs: logins against the site's userbase, a login shell in
a pty, exec and SFTP in the user's own directory.

Why an item: the site store says what runs. :class:`SSHService` holds where to listen
(``tcp:2222:interface=127.0.0.1`` at first; ``plait serve --listen ssh=...`` moves it) and
which session factory serves a logged-in user. Host keys (ed25519 and rsa-3072: the
hardened default offers no NIST-curve host key, which ssh-audit fails) are generated into the data directory (the directory holding the site store) on
the first start, mode 0600, and reused after. Users are the store's
:class:`~plait.axiom.userbase.LoginSystem` accounts: passwords, and the SSH keys an account
holds (``LoginAccount.add_ssh_key``) or lists in the authorized_keys file
``DATA/ssh-authorized-keys/<address>`` (lines with options the session would have to enforce
are skipped). Each user's directory is ``DATA/ssh-homes/<address>``,
created 0700 on first use; the shell starts there and SFTP is confined to it.

Key exchange is post-quantum only by default (mlkem768x25519-sha256,
sntrup761x25519-sha512 and its @openssh.com name): a recorded session cannot be decrypted
later by a quantum computer, and ssh-audit has nothing to warn about. OpenSSH 8.5 and later
connect; for older clients (paramiko, asyncssh without liboqs, OpenSSH < 8.5) set the item's
``classic_kex`` to True, which adds curve25519 and the 3072+-bit DH groups after them::

    axiomatic -d DATA/site.axiom userbase create u@example.test
    ssh -p 2222 u@example.test@127.0.0.1
"""
from __future__ import annotations

import dataclasses
import importlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plait.axiom.attributes import boolean, inmemory, integer, text
from plait.axiom.dependency import install_on
from plait.axiom.item import Item, declare_legacy_item
from plait.axiom.service import IService
from plait.axiom.store import Store
from plait.axiom.upgrade import register_attribute_copying_upgrader
from plait.axiom.userbase import LoginSystem, account_for_store, install_login_system
from plait.core.cred import Portal, SSHPublicKey, UnauthorizedLogin, ValidPublicKey
from plait.core.endpoints import server_endpoint
from plait.core.files import write_file_atomically

from .authorized_keys import AuthorizedKey, AuthorizedKeysChecker, KeyOptions
from .keys import Key
from .server import SSHServer, SSHServerSession, listen
from .transport import TransportConfig

__all__ = ["DEFAULT_SESSION_FACTORY", "DEFAULT_SSH_ENDPOINT", "HOST_KEY_TYPES", "SSHService",
           "SSHServiceMaker", "UserbaseKeys", "load_or_create_host_keys",
           "pty_session_factory"]

log = logging.getLogger(__name__)

DEFAULT_SSH_ENDPOINT = "tcp:2222:interface=127.0.0.1"
#: New stores get the applications menu (plait.conch.apps.menu): with a pty the user picks
#: the widget demo, the manhole (administrators), Faucet or the login shell, ``ssh -t host
#: demo|manhole|faucet`` picks by name; other exec commands and SFTP behave as
#: :func:`pty_session_factory` does.
DEFAULT_SESSION_FACTORY = "plait.conch.apps.menu:menu_session_factory"
#: (file name part, Key.generate kind, bits)
HOST_KEY_TYPES = (("ed25519", "ed25519", None), ("rsa", "rsa", 3072))
HOMES_DIR = "ssh-homes"
AUTHORIZED_KEYS_DIR = "ssh-authorized-keys"

#: ``factory(avatar, *, user, home) -> SSHServerSession``: what the session_factory
#: attribute names (``module:callable``).
SessionFactory = Callable[..., SSHServerSession]


def pty_session_factory(avatar: Any, *, user: str, home: Path) -> SSHServerSession:
    """The server user's login shell in a pty, exec, SFTP rooted at ``home`` (no menu)."""
    from plait.conch.pty_session import PtySession
    return PtySession(home=home, sftp_root=home, user=user)


def resolve_factory(name: str) -> SessionFactory:
    """``module:callable`` -> the callable (ValueError if it is not one)."""
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise ValueError(f"session factory {name!r} is not 'module:callable'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"session factory {name!r} cannot be loaded: {exc}") from None
    if not callable(obj):
        raise ValueError(f"session factory {name!r} is not callable")  # noqa: TRY004
    return obj  # type: ignore[no-any-return]


def load_or_create_host_keys(directory: str | os.PathLike[str]) -> list[Key]:
    """``directory/ssh_host_<type>_key`` for each of :data:`HOST_KEY_TYPES`: read if there,
    else generated (private 0600, ``.pub`` beside it)."""
    base = Path(directory)
    base.mkdir(parents=True, exist_ok=True)
    keys = []
    for part, kind, bits in HOST_KEY_TYPES:
        path = base / f"ssh_host_{part}_key"
        if not path.exists():
            key = Key.generate(kind, bits)
            try:
                write_file_atomically(path, key.to_openssh(), 0o600, overwrite=False)
            except FileExistsError:
                pass
            else:
                pub = path.with_name(path.name + ".pub")
                pub.write_text(key.public_line(f"plait@{part}") + "\n")
                log.info("generated SSH host key %s %s", path, key.fingerprint())
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(f"host key {path} is readable by others (mode {mode:o})")
        keys.append(Key.from_file(path))
    return keys


class _FileKeys(AuthorizedKeysChecker):
    """An authorized_keys file whose lines carry no option the session would have to
    enforce (command=, restrict, no-pty, environment=, permitopen...): those lines are
    skipped, never half-honoured. from= and expiry-time are the checker's own."""

    def entries_for(self, username: str) -> list[AuthorizedKey]:
        out = []
        for entry in super().entries_for(username):
            if dataclasses.replace(entry.options, from_patterns=None,
                                   expiry_time=None) == KeyOptions():
                out.append(entry)
            else:
                log.warning("authorized_keys line %d for %s has options the SSH service "
                            "does not enforce: skipped", entry.line_number, username)
        return out


class UserbaseKeys:
    """SSH public keys for the userbase: the account's own keys
    (``LoginAccount.add_ssh_key``), then ``keys_dir/<address>`` (an authorized_keys file
    named by the account's canonical address). A disabled or unknown account gets none."""

    credential_types: tuple[type, ...] = (SSHPublicKey,)

    def __init__(self, login_system: LoginSystem, keys_dir: Path) -> None:
        self.login_system = login_system
        self.keys_dir = keys_dir

    async def request_avatar_id(self, credentials: SSHPublicKey) -> str:
        try:
            return str(await self.login_system.request_avatar_id(credentials))
        except ValidPublicKey:
            raise
        except UnauthorizedLogin:
            account = self.login_system.account_by_address(credentials.username)
            address = account.address if account is not None else None
            if account is None or account.disabled or not address or "/" in address:
                raise
            path = self.keys_dir / address
            await _FileKeys(lambda _user: path).request_avatar_id(credentials)
            return credentials.username


def listen_address(description: str) -> tuple[str, int]:
    """``tcp:PORT:interface=HOST`` as ``(host, port)``; ValueError for other kinds."""
    kind = description.split(":", 1)[0]
    if kind not in ("tcp", "tcp6"):
        raise ValueError(f"SSH listens on tcp: endpoints, not {kind}: ({description})")
    endpoint: Any = server_endpoint(description)
    return str(endpoint.interface), int(endpoint.port)


class SSHService(Item):
    """Serves SSH at ``description`` for the store's userbase.

    ``classic_kex`` (default False): also offer curve25519-sha256 (and @libssh.org),
    diffie-hellman-group-exchange-sha256 and diffie-hellman-group16-sha512 after the
    post-quantum methods, for clients that have none of those (OpenSSH before 8.5,
    paramiko, asyncssh without liboqs). ssh-audit then warns about each of them.
    ``axiomatic`` or a program sets it; the next start uses it."""

    type_name = "plait_conch_ssh_service"
    schema_version = 2

    powerup_interfaces = [IService]

    name = text(allow_none=True, default="ssh", doc="what `plait status` calls this service")
    description = text(allow_none=False, default=DEFAULT_SSH_ENDPOINT, doc="where to listen")
    session_factory = text(allow_none=False, default=DEFAULT_SESSION_FACTORY,
                           doc="module:callable making a user's sessions "
                               "(avatar, *, user, home)")
    max_attempts = integer(default=6, allow_none=False, doc="authentication tries")
    grace_time = integer(default=120, allow_none=False, doc="seconds to log in")
    classic_kex = boolean(default=False, allow_none=False,
                          doc="also offer non-post-quantum key exchange (old clients)")
    server = inmemory()

    def check(self) -> None:
        listen_address(self.description)
        resolve_factory(self.session_factory)

    def data_dir(self) -> Path:
        """Where the site store is: host keys and user directories live there."""
        path = self.store.path
        if path is None:
            raise ValueError("the SSH service needs a store on disk")
        return Path(path).parent

    def user_home(self, user: str) -> Path:
        from plait.conch.pty_session import user_directory
        return user_directory(self.data_dir() / HOMES_DIR, user)

    def _session(self, factory: SessionFactory, avatar: Any) -> SSHServerSession:
        account = account_for_store(avatar) if isinstance(avatar, Store) else None
        user = account.address if account is not None else None
        if not user:
            raise ValueError("the avatar has no account address")
        return factory(avatar, user=user, home=self.user_home(user))

    def portal(self) -> Portal:
        """Passwords and account keys from the login system, and authorized_keys files in
        ``DATA/ssh-authorized-keys/<user@domain>``."""
        login_system = install_login_system(self.store)
        keys = UserbaseKeys(login_system, self.data_dir() / AUTHORIZED_KEYS_DIR)
        return Portal(login_system, [login_system, keys])

    async def start(self) -> None:
        if self.server is not None:
            return
        host, port = listen_address(self.description)
        factory = resolve_factory(self.session_factory)
        keys = load_or_create_host_keys(self.data_dir())
        self.server = await listen(
            host, port, server_host_keys=keys, portal=self.portal(),
            session_factory=lambda avatar: self._session(factory, avatar),
            max_attempts=self.max_attempts, grace_time=float(self.grace_time),
            auth_methods=("publickey", "password"), config=self.transport_config())

    def transport_config(self) -> TransportConfig:
        """The hardened server algorithms; post-quantum kex only unless ``classic_kex``."""
        return TransportConfig.hardened(post_quantum_only=not self.classic_kex)

    async def stop(self) -> None:
        server: SSHServer | None = self.server
        self.server = None
        if server is not None:
            server.close()
            await server.wait_closed()

    def endpoints(self) -> list[str]:
        server: SSHServer | None = self.server
        try:
            host, port = listen_address(self.description)
        except ValueError:
            return [self.description]
        if server is not None:
            port = server.port
        return [f"tcp:{host}:{port}"]

    def __repr__(self) -> str:
        return f"<SSHService {self.store_id} {self.description!r}>"


declare_legacy_item(SSHService.type_name, 1, {
    "name": text(allow_none=True, default="ssh"),
    "description": text(allow_none=False, default=DEFAULT_SSH_ENDPOINT),
    "session_factory": text(allow_none=False, default=DEFAULT_SESSION_FACTORY),
    "max_attempts": integer(default=6, allow_none=False),
    "grace_time": integer(default=120, allow_none=False),
})
# version 2 added classic_kex (False: the stores made before it get post-quantum only)
register_attribute_copying_upgrader(SSHService, 1, 2)


class SSHServiceMaker:
    """The ``ssh`` entry in the ``plait.services`` plugin group."""

    name = "ssh"
    description = "SSH: login shell in a pty, exec and SFTP for the userbase's accounts"
    default_endpoint = DEFAULT_SSH_ENDPOINT

    def install(self, store: Store, endpoint: str) -> None:
        listen_address(endpoint)
        install_on(SSHService(store=store, name=self.name, description=endpoint), store)
