"""userbase: accounts, addresses, password and SSH key logins, avatars from substores."""
from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from plait.axiom.attributes import text
from plait.axiom.item import Item
from plait.axiom.store import Store
from plait.axiom.substore import close_substores
from plait.axiom.userbase import (
    AvatarNotFound,
    BadAddress,
    DisabledAccount,
    DuplicateUser,
    LoginAccount,
    LoginMethod,
    LoginSystem,
    NoSuchUser,
    UserbaseError,
    account_for_store,
    install_login_system,
    login_system_for,
    normalize_address,
    portal_for,
)
from plait.core.cred import (
    ANONYMOUS,
    CredentialsChecker,
    LoginFailed,
    Portal,
    Realm,
    SSHPublicKey,
    UnauthorizedLogin,
    UsernamePassword,
    ValidPublicKey,
    checkers,
    parse_public_key,
)

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # argon2id, cheap for tests


class IGreeter(Protocol):
    def greet(self) -> str: ...


class INothing(Protocol):
    def nothing(self) -> None: ...


class Greeter(Item):
    type_name = "test_userbase_greeter"
    greeting = text(default="hello")

    def greet(self) -> str:
        return str(self.greeting)


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store()
    yield s
    s.close()


@pytest.fixture
def login_system(store: Store) -> LoginSystem:
    ls = install_login_system(store)
    ls.hasher = FAST
    return ls


def ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ssh_mpint(n: int) -> bytes:
    return ssh_string(n.to_bytes((n.bit_length() + 8) // 8, "big"))


def key_line(key: Any, comment: str = "alice@laptop") -> str:
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return line.decode() + " " + comment


def ed25519_credentials(
    key: ed25519.Ed25519PrivateKey, username: str, data: bytes = b"session+request"
) -> SSHPublicKey:
    blob = parse_public_key(key_line(key))
    signature = ssh_string(b"ssh-ed25519") + ssh_string(key.sign(data))
    return SSHPublicKey(username, b"ssh-ed25519", blob, data, signature)


# ------------------------------------------------------------------ accounts


def test_install_is_idempotent_and_powers_up_the_store(store: Store) -> None:
    ls = install_login_system(store)
    assert LoginSystem.install(store) is ls
    assert login_system_for(store) is ls
    assert list(store.powerups_for(Realm)) == [ls]
    assert list(store.powerups_for(CredentialsChecker)) == [ls]
    assert store.query(LoginSystem).count() == 1


def test_add_and_find_accounts(store: Store, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "wonderland")
    bob = login_system.add_account("Bob", "Example.ORG.", "builder", protocol="irc")
    assert login_system.account_by_address("alice@example.com") is alice
    assert login_system.account_by_address("ALICE@EXAMPLE.COM") is alice
    assert login_system.account_by_address("bob@example.org") is bob
    assert login_system.account_by_address("carol@example.com") is None
    assert login_system.account_by_address("alice@example.org") is None
    assert login_system.account_by_address("no-domain") is None
    assert list(login_system.accounts()) == [alice, bob]
    assert alice.address == "alice@example.com"
    [method] = bob.login_methods()
    assert isinstance(method, LoginMethod)
    assert (method.localpart, method.domain, method.protocol) == ("bob", "example.org", "irc")
    assert method.verified and not method.internal and method.account is bob
    assert not alice.disabled and alice.ssh_keys == []
    assert alice.avatars is not None and alice.avatars is not bob.avatars
    assert alice.avatar_store() is not bob.avatar_store()
    assert alice.avatar_store() is alice.avatar_store()


def test_password_is_stored_as_argon2id_only(login_system: LoginSystem) -> None:
    account = login_system.add_account("alice", "example.com", "wonderland")
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert "wonderland" not in account.password_hash
    assert "wonderland" not in repr(account)


def test_duplicate_address_is_rejected(store: Store, login_system: LoginSystem) -> None:
    login_system.add_account("alice", "example.com", "one")
    with pytest.raises(DuplicateUser, match="alice@example.com already belongs"):
        login_system.add_account("Alice", "EXAMPLE.com", "two")
    assert store.query(LoginAccount).count() == 1
    assert store.query(LoginMethod).count() == 1


def test_bad_addresses_are_rejected(login_system: LoginSystem) -> None:
    for user, domain in [
        ("", "example.com"),
        ("a b", "example.com"),
        ("a@b", "example.com"),
        ("../etc", "example.com"),
        ("a/b", "example.com"),
        (".hidden", "example.com"),
        ("alice", ""),
        ("alice", "exa mple.com"),
        ("alice", "../example.com"),
        ("alice", "-bad.example.com"),
        ("alice", "a..b"),
    ]:
        with pytest.raises(BadAddress):
            login_system.add_account(user, domain, "pw")
    assert list(login_system.accounts()) == []


def test_normalize_address() -> None:
    assert normalize_address("Alice@Example.COM") == ("alice", "example.com")
    assert normalize_address("alice@bücher.example") == ("alice", "xn--bcher-kva.example")
    with pytest.raises(BadAddress, match="not user@domain"):
        normalize_address("alice")


def test_more_login_methods(login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    method = alice.add_login_method("ally", "example.net", protocol="xmpp", internal=True)
    assert login_system.account_by_address("ally@example.net") is alice
    assert [m.address for m in alice.login_methods()] == ["alice@example.com", "ally@example.net"]
    assert method.internal
    with pytest.raises(DuplicateUser):
        alice.add_login_method("ALICE", "example.com")


def test_disable_and_enable(login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    assert login_system.disable("alice@example.com") is alice
    assert alice.disabled
    assert login_system.enable(alice) is alice
    assert not alice.disabled
    with pytest.raises(NoSuchUser, match="nobody@example.com"):
        login_system.disable("nobody@example.com")


def test_ssh_keys_on_the_account(login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", None)
    key = ed25519.Ed25519PrivateKey.generate()
    line = key_line(key)
    assert alice.add_ssh_key(line) == line
    assert alice.add_ssh_key(line) == line  # the same key again: no duplicate
    blob = parse_public_key(line)
    assert alice.add_ssh_key(blob) == line  # the blob of a stored key: found by value
    assert alice.ssh_keys == [line]
    other = ed25519.Ed25519PrivateKey.generate()
    stored = alice.add_ssh_key(parse_public_key(key_line(other)))
    assert stored.startswith("ssh-ed25519 ") and parse_public_key(stored) == parse_public_key(
        key_line(other)
    )
    assert len(alice.ssh_keys) == 2
    with pytest.raises(ValueError):
        alice.add_ssh_key("ssh-dss AAAAB3NzaC1kc3M= old")
    with pytest.raises(ValueError):
        alice.add_ssh_key("not a key")
    assert alice.remove_ssh_key(line)
    assert not alice.remove_ssh_key(line)
    assert alice.ssh_keys == [stored]


# ------------------------------------------------------------------ password logins


async def test_password_good_bad_and_unknown(loop_kind: str, login_system: LoginSystem) -> None:
    login_system.add_account("alice", "example.com", "wonderland")
    assert await login_system.request_avatar_id(
        UsernamePassword("Alice@Example.com", "wonderland")
    ) == "alice@example.com"
    for bad in [
        UsernamePassword("alice@example.com", "Wonderland"),
        UsernamePassword("alice@example.com", ""),
        UsernamePassword("bob@example.com", "wonderland"),
        UsernamePassword("alice", "wonderland"),
        UsernamePassword("", ""),
    ]:
        with pytest.raises(UnauthorizedLogin) as info:
            await login_system.request_avatar_id(bad)
        assert not isinstance(info.value, DisabledAccount)
        assert "wonderland" not in str(info.value).lower()
    assert login_system.login_count == 1
    assert login_system.failed_logins == 5


async def test_unknown_user_still_costs_a_hash(
    loop_kind: str, login_system: LoginSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    login_system.add_account("alice", "example.com", "wonderland")
    calls: list[str] = []
    real = checkers._verify

    def counting(hasher: PasswordHasher, encoded: str, password: str) -> bool:
        calls.append(encoded)
        return real(hasher, encoded, password)

    monkeypatch.setattr(checkers, "_verify", counting)
    for username in ["nobody@example.com", "no-at-sign", "alice@example.com"]:
        with pytest.raises(UnauthorizedLogin):
            await login_system.request_avatar_id(UsernamePassword(username, "guess"))
    assert len(calls) == 3
    assert all(encoded.startswith("$argon2id$") for encoded in calls)


async def test_password_less_account_refuses_passwords(
    loop_kind: str, login_system: LoginSystem
) -> None:
    login_system.add_account("alice", "example.com", None)
    with pytest.raises(UnauthorizedLogin):
        await login_system.request_avatar_id(UsernamePassword("alice@example.com", ""))


async def test_set_password(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "old")
    alice.set_password("new", hasher=FAST)
    good = UsernamePassword("alice@example.com", "new")
    assert await login_system.request_avatar_id(good) == "alice@example.com"
    with pytest.raises(UnauthorizedLogin):
        await login_system.request_avatar_id(UsernamePassword("alice@example.com", "old"))
    alice.set_password(None)
    with pytest.raises(UnauthorizedLogin):
        await login_system.request_avatar_id(good)


async def test_disabled_account_cannot_log_in(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "wonderland")
    key = ed25519.Ed25519PrivateKey.generate()
    alice.add_ssh_key(key_line(key))
    login_system.disable(alice)
    portal = Portal(login_system, [login_system])
    with pytest.raises(DisabledAccount):
        await portal.login(UsernamePassword("alice@example.com", "wonderland"), None, Store)
    with pytest.raises(UnauthorizedLogin) as info:  # a wrong password does not say "disabled"
        await portal.login(UsernamePassword("alice@example.com", "nope"), None, Store)
    assert not isinstance(info.value, DisabledAccount)
    with pytest.raises(DisabledAccount):
        await portal.login(ed25519_credentials(key, "alice@example.com"), None, Store)
    query = SSHPublicKey("alice@example.com", b"ssh-ed25519", parse_public_key(key_line(key)))
    with pytest.raises(UnauthorizedLogin) as info:  # not even asked for a signature
        await login_system.request_avatar_id(query)
    assert not isinstance(info.value, ValidPublicKey)
    with pytest.raises(DisabledAccount):  # nor can a realm be asked for it directly
        login_system.request_avatar("alice@example.com", None, Store)
    login_system.enable("alice@example.com")
    good = UsernamePassword("alice@example.com", "wonderland")
    _, avatar, _ = await portal.login(good, None, Store)
    assert avatar is alice.avatar_store()


async def test_unverified_address_cannot_log_in(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    alice.add_login_method("alice", "elsewhere.example", verified=False)
    assert login_system.account_by_address("alice@elsewhere.example") is alice
    with pytest.raises(UnauthorizedLogin):
        await login_system.request_avatar_id(UsernamePassword("alice@elsewhere.example", "pw"))


async def test_old_hashes_are_upgraded_on_login(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    alice.set_password("pw", hasher=weak)
    old = alice.password_hash
    assert await login_system.request_avatar_id(UsernamePassword("alice@example.com", "pw"))
    assert alice.password_hash != old
    assert alice.password_hash is not None and not FAST.check_needs_rehash(alice.password_hash)


async def test_wrong_credentials_type(loop_kind: str, login_system: LoginSystem) -> None:
    with pytest.raises(LoginFailed):
        await login_system.request_avatar_id(ANONYMOUS)


# ------------------------------------------------------------------ SSH key logins


async def test_ssh_key_good_and_bad_signature(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", None)
    key = ed25519.Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="options"):  # they would not be enforced
        alice.add_ssh_key('from="10.0.0.1" ' + key_line(key))
    alice.add_ssh_key(key_line(key))
    good = ed25519_credentials(key, "alice@example.com")
    assert await login_system.request_avatar_id(good) == "alice@example.com"

    forged = SSHPublicKey(good.username, good.algorithm, good.blob, b"other data", good.signature)
    with pytest.raises(UnauthorizedLogin) as info:
        await login_system.request_avatar_id(forged)
    assert not isinstance(info.value, ValidPublicKey)

    query = SSHPublicKey("alice@example.com", b"ssh-ed25519", good.blob)
    with pytest.raises(ValidPublicKey):  # a would-you-accept query for a stored key
        await login_system.request_avatar_id(query)

    stranger = ed25519.Ed25519PrivateKey.generate()  # well signed, but not authorized
    with pytest.raises(UnauthorizedLogin):
        await login_system.request_avatar_id(ed25519_credentials(stranger, "alice@example.com"))
    login_system.add_account("bob", "example.com", None)
    with pytest.raises(UnauthorizedLogin):  # alice's key does not open bob's account
        await login_system.request_avatar_id(ed25519_credentials(key, "bob@example.com"))
    with pytest.raises(UnauthorizedLogin):  # nor an unknown one
        await login_system.request_avatar_id(ed25519_credentials(key, "carol@example.com"))


async def test_ssh_ecdsa_key(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    key = ec.generate_private_key(ec.SECP256R1())
    alice.add_ssh_key(key_line(key))
    data = b"session+request"
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    signature = ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(ssh_mpint(r) + ssh_mpint(s))
    blob = parse_public_key(key_line(key))
    credentials = SSHPublicKey("alice@example.com", b"ecdsa-sha2-nistp256", blob, data, signature)
    assert await login_system.request_avatar_id(credentials) == "alice@example.com"


# ------------------------------------------------------------------ avatars


async def test_avatars_come_from_the_substore(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    bob = login_system.add_account("bob", "example.com", "pw")
    sub = alice.avatar_store()
    low = Greeter(store=sub, greeting="low")
    high = Greeter(store=sub, greeting="high")
    sub.power_up(low, IGreeter, priority=0)
    sub.power_up(high, IGreeter, priority=10)

    portal = Portal(login_system, [login_system])
    credentials = UsernamePassword("alice@example.com", "pw")
    interface, avatar, logout = await portal.login(credentials, None, IGreeter)
    assert interface is IGreeter and avatar is high and avatar.greet() == "high"
    logout()

    interface, avatar, _ = await portal.login(credentials, None, INothing, IGreeter)
    assert interface is IGreeter and avatar is high  # the first interface it provides

    interface, avatar, _ = await portal.login(credentials, None, Store)
    assert interface is Store and avatar is sub

    with pytest.raises(AvatarNotFound, match="bob@example.com has no avatar for .*IGreeter"):
        await portal.login(UsernamePassword("bob@example.com", "pw"), None, IGreeter)
    assert bob.avatar_store() is not sub


def test_an_avatar_finds_its_account(store: Store, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    bob = login_system.add_account("bob", "example.com", "pw")
    assert account_for_store(alice.avatar_store()) is alice
    assert account_for_store(bob.avatar_store()) is bob
    assert account_for_store(store) is None


async def test_default_domain(loop_kind: str, login_system: LoginSystem) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    key = ed25519.Ed25519PrivateKey.generate()
    alice.add_ssh_key(key_line(key))
    with pytest.raises(UnauthorizedLogin):  # no default domain yet
        await login_system.request_avatar_id(UsernamePassword("alice", "pw"))
    login_system.set_default_domain("Example.COM")
    assert login_system.default_domain == "example.com"
    assert await login_system.request_avatar_id(UsernamePassword("Alice", "pw")) == (
        "alice@example.com"
    )
    assert await login_system.request_avatar_id(ed25519_credentials(key, "alice")) == (
        "alice@example.com"
    )
    with pytest.raises(UnauthorizedLogin):
        await login_system.request_avatar_id(UsernamePassword("bob", "pw"))
    with pytest.raises(BadAddress):
        login_system.set_default_domain("not a domain")


def test_realm_refuses_unknown_avatar_ids(login_system: LoginSystem) -> None:
    with pytest.raises(UnauthorizedLogin):
        login_system.request_avatar("nobody@example.com", None, Store)
    with pytest.raises(UnauthorizedLogin):
        login_system.request_avatar(42, None, Store)


def test_anonymous_gets_the_site_store_powerups(store: Store, login_system: LoginSystem) -> None:
    greeter = Greeter(store=store, greeting="welcome")
    store.power_up(greeter, IGreeter)
    assert login_system.request_avatar(ANONYMOUS, None, IGreeter)[1] is greeter
    with pytest.raises(AvatarNotFound, match="anonymous"):
        login_system.request_avatar(ANONYMOUS, None, INothing)
    with pytest.raises(AvatarNotFound):  # never the whole site store
        login_system.request_avatar(ANONYMOUS, None, Store)


async def test_portal_for(loop_kind: str, store: Store) -> None:
    portal = portal_for(store)
    ls = login_system_for(store)
    assert ls is not None
    ls.hasher = FAST
    ls.add_account("alice", "example.com", "pw")
    _, avatar, _ = await portal.login(UsernamePassword("alice@example.com", "pw"), None, Store)
    assert isinstance(avatar, Store)


# ------------------------------------------------------------------ persistence


def populate(path: Path) -> str:
    """A site store with two accounts, an SSH key, an extra address and an avatar."""
    site = Store(path)
    ls = install_login_system(site)
    ls.hasher = FAST
    alice = ls.add_account("alice", "example.com", "wonderland", protocol="imap")
    bob = ls.add_account("bob", "example.org", "builder", internal=True)
    key = ed25519.Ed25519PrivateKey.generate()
    alice.add_ssh_key(key_line(key))
    alice.add_login_method("ally", "example.net", verified=False)
    sub = alice.avatar_store()
    greeter = Greeter(store=sub, greeting="hi alice")
    sub.power_up(greeter, IGreeter)
    ls.disable(bob)
    close_substores(site)  # each user's store holds its own writer lock
    site.close()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


async def test_everything_persists_across_reopening(loop_kind: str, tmp_path: Path) -> None:
    pem = populate(tmp_path / "site")
    key = serialization.load_ssh_private_key(pem.encode(), None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert (tmp_path / "site" / "files" / "account" / "example.com" / "alice.axiom").is_dir()

    site = Store(tmp_path / "site")
    try:
        ls = login_system_for(site)
        assert ls is not None
        assert list(site.powerups_for(Realm)) == [ls]
        assert LoginSystem.install(site) is ls
        alice = ls.account_by_address("alice@example.com")
        bob = ls.account_by_address("bob@example.org")
        assert alice is not None and bob is not None
        assert [a.address for a in ls.accounts()] == ["alice@example.com", "bob@example.org"]
        assert [(m.address, m.protocol, m.verified, m.internal) for m in alice.login_methods()] == [
            ("alice@example.com", "imap", True, False),
            ("ally@example.net", "email", False, False),
        ]
        assert bob.disabled and bob.login_methods()[0].internal
        assert alice.ssh_keys == [key_line(key)]
        assert alice.avatar_store().path is not None

        portal = Portal(ls, [ls])  # the reopened system hashes with cred's default cost
        _, avatar, _ = await portal.login(
            UsernamePassword("alice@example.com", "wonderland"), None, IGreeter
        )
        assert avatar.greet() == "hi alice"
        ssh = ed25519_credentials(key, "alice@example.com")
        _, avatar, _ = await portal.login(ssh, None, Store)
        assert avatar is alice.avatar_store()
        assert account_for_store(avatar) is alice
        with pytest.raises(DisabledAccount):
            await portal.login(UsernamePassword("bob@example.org", "builder"), None, Store)
        with pytest.raises(DuplicateUser):
            ls.add_account("alice", "example.com", "again")
        assert ls.login_count == 2 and ls.failed_logins == 1
    finally:
        close_substores(site)
        site.close()


def test_failed_creation_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Store(tmp_path / "site")
    try:
        ls = install_login_system(site)
        ls.hasher = FAST

        def fail(self: LoginMethod) -> None:
            raise RuntimeError("disk full, say")

        monkeypatch.setattr(LoginMethod, "stored", fail)
        with pytest.raises(RuntimeError, match="disk full"):
            ls.add_account("alice", "example.com", "pw")
        monkeypatch.undo()
        assert list(ls.accounts()) == []
        assert not (site.files_dir / "account" / "example.com" / "alice.axiom").exists()

        alice = ls.add_account("alice", "example.com", "pw")  # and it can be made again
        assert account_for_store(alice.avatar_store()) is alice
        Greeter(store=alice.avatar_store())
    finally:
        close_substores(site)
        site.close()


def test_leftover_files_give_a_clear_error(tmp_path: Path) -> None:
    site = Store(tmp_path / "site")
    try:
        ls = install_login_system(site)
        (site.files_dir / "account" / "example.com" / "alice.axiom").mkdir(parents=True)
        with pytest.raises(UserbaseError, match="already exist .* move them away"):
            ls.add_account("alice", "example.com", None)
    finally:
        site.close()


def test_deleting_an_account_deletes_its_login_methods(
    store: Store, login_system: LoginSystem
) -> None:
    alice = login_system.add_account("alice", "example.com", "pw")
    alice.add_login_method("ally", "example.com")
    alice.delete_from_store()
    assert store.query(LoginMethod).count() == 0
    assert login_system.account_by_address("alice@example.com") is None
