"""cred: password and SSH key checkers, the portal, and what is (not) stored."""
from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from plait.core.cred import (
    ANONYMOUS,
    AllowAnonymousChecker,
    Anonymous,
    FileUsernamePasswordChecker,
    InMemoryUsernamePasswordChecker,
    LoginFailed,
    Portal,
    SSHPublicKey,
    SSHPublicKeyChecker,
    UnauthorizedLogin,
    UnhandledCredentials,
    UsernamePassword,
    ValidPublicKey,
    checkers,
    hash_password,
    parse_public_key,
    remove_password_entry,
    write_password_entry,
)

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)  # argon2id, cheap for tests


# ------------------------------------------------------------------ passwords


def test_hashes_are_argon2id_and_never_plaintext() -> None:
    checker = InMemoryUsernamePasswordChecker({"alice": "s3cret-pw"}, hasher=FAST)
    encoded = checker.hashes["alice"]
    assert encoded.startswith("$argon2id$")
    assert "s3cret-pw" not in encoded
    default = hash_password("s3cret-pw")  # the default hasher is argon2id too
    assert default.startswith("$argon2id$v=19$")
    assert "s3cret-pw" not in repr(UsernamePassword("alice", "s3cret-pw"))


async def test_good_and_bad_password(loop_kind: str) -> None:
    checker = InMemoryUsernamePasswordChecker({"alice": "right"}, hasher=FAST)
    assert await checker.request_avatar_id(UsernamePassword("alice", "right")) == "alice"
    with pytest.raises(UnauthorizedLogin) as bad:
        await checker.request_avatar_id(UsernamePassword("alice", "wrong"))
    with pytest.raises(UnauthorizedLogin) as unknown:
        await checker.request_avatar_id(UsernamePassword("mallory", "right"))
    assert str(bad.value) == str(unknown.value)  # no hint whether the user exists


async def test_unknown_user_still_costs_a_hash(
    loop_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = checkers._verify

    def counting(hasher: PasswordHasher, encoded: str, password: str) -> bool:
        calls.append(encoded)
        return real(hasher, encoded, password)

    monkeypatch.setattr(checkers, "_verify", counting)
    checker = InMemoryUsernamePasswordChecker({"alice": "right"}, hasher=FAST)
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(UsernamePassword("nobody", "right"))
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")
    # even a user whose dummy hash would "match" is refused
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(UsernamePassword("nobody", ""))


async def test_in_memory_add_remove_and_set_hash(loop_kind: str) -> None:
    checker = InMemoryUsernamePasswordChecker(hasher=FAST)
    checker.add_user("bob", "pw1")
    checker.set_hash("carol", hash_password("pw2", FAST))
    assert await checker.request_avatar_id(UsernamePassword("carol", "pw2")) == "carol"
    checker.remove_user("bob")
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(UsernamePassword("bob", "pw1"))
    with pytest.raises(ValueError):
        checker.set_hash("dave", "plaintext")


async def test_file_checker_and_reload(loop_kind: str, tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    checker = FileUsernamePasswordChecker(path, hasher=FAST)
    with pytest.raises(UnauthorizedLogin):  # no file: no users
        await checker.request_avatar_id(UsernamePassword("alice", "one horse"))
    write_password_entry(path, "alice", "one horse", hasher=FAST)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("alice:$argon2id$") and "one horse" not in text
    assert await checker.request_avatar_id(UsernamePassword("alice", "one horse")) == "alice"

    write_password_entry(path, "alice", "two", hasher=FAST)  # replaced: reloaded
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(UsernamePassword("alice", "one horse"))
    assert await checker.request_avatar_id(UsernamePassword("alice", "two")) == "alice"
    assert path.read_text().count("alice:") == 1

    with path.open("a") as f:  # edited in place by hand, with a comment and junk
        f.write("# a comment\n\nnot a valid line\n")
        f.write(f"bob:{hash_password('three', FAST)}\n")
    assert await checker.request_avatar_id(UsernamePassword("bob", "three")) == "bob"
    assert checker.usernames == ["alice", "bob"]

    assert remove_password_entry(path, "alice") is True
    assert remove_password_entry(path, "alice") is False
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(UsernamePassword("alice", "two"))
    assert "# a comment" in path.read_text()


def test_password_entry_rejects_bad_user_names(tmp_path: Path) -> None:
    for bad in ["", "a:b", "a\nb", " padded", "#comment"]:
        with pytest.raises(ValueError):
            write_password_entry(tmp_path / "p", bad, "x", hasher=FAST)


async def test_checker_given_wrong_credentials_type(loop_kind: str) -> None:
    checker = InMemoryUsernamePasswordChecker(hasher=FAST)
    with pytest.raises(UnhandledCredentials):
        await checker.request_avatar_id(Anonymous())  # type: ignore[arg-type]


# ------------------------------------------------------------------ SSH keys


def ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ssh_mpint(n: int) -> bytes:
    return ssh_string(n.to_bytes((n.bit_length() + 8) // 8, "big"))


def make_key(algorithm: str) -> Any:
    if algorithm == "ssh-ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ecdsa-sha2-nistp256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_line(key: Any, comment: str = "user@host") -> str:
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return line.decode() + " " + comment


def sign(key: Any, algorithm: str, data: bytes) -> bytes:
    if algorithm == "ssh-ed25519":
        raw = key.sign(data)
    elif algorithm == "ecdsa-sha2-nistp256":
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        raw = ssh_mpint(r) + ssh_mpint(s)
    else:
        digest = hashes.SHA256() if algorithm == "rsa-sha2-256" else hashes.SHA512()
        raw = key.sign(data, padding.PKCS1v15(), digest)
    return ssh_string(algorithm.encode()) + ssh_string(raw)


ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512"]
_keys: dict[str, Any] = {}


def key_for(algorithm: str) -> Any:
    family = "rsa" if algorithm.startswith("rsa") else algorithm
    if family not in _keys:
        _keys[family] = make_key(algorithm)
    return _keys[family]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_ssh_signatures(loop_kind: str, algorithm: str) -> None:
    key = key_for(algorithm)
    other = make_key(algorithm) if not algorithm.startswith("rsa") else make_key("ssh-ed25519")
    line = key_line(key)
    blob = parse_public_key(line)
    checker = SSHPublicKeyChecker({"alice": ['from="10.0.0.1" ' + line, key_line(other)]})
    data = b"session id + userauth request"
    alg = algorithm.encode()

    good = SSHPublicKey("alice", alg, blob, data, sign(key, algorithm, data))
    assert await checker.request_avatar_id(good) == "alice"

    forged = SSHPublicKey("alice", alg, blob, data + b"!", sign(key, algorithm, data))
    with pytest.raises(UnauthorizedLogin) as info:
        await checker.request_avatar_id(forged)
    assert not isinstance(info.value, ValidPublicKey)

    query = SSHPublicKey("alice", alg, blob)
    with pytest.raises(ValidPublicKey):
        await checker.request_avatar_id(query)

    with pytest.raises(UnauthorizedLogin):  # the same key for someone it is not authorized
        await checker.request_avatar_id(SSHPublicKey("bob", alg, blob, data, good.signature))

    stranger = make_key(algorithm)
    stranger_blob = parse_public_key(key_line(stranger))
    signed = sign(stranger, algorithm, data)
    with pytest.raises(UnauthorizedLogin):  # a well-signed but unauthorized key
        await checker.request_avatar_id(SSHPublicKey("alice", alg, stranger_blob, data, signed))


async def test_ssh_signature_algorithm_must_match(loop_kind: str) -> None:
    key = key_for("rsa-sha2-256")
    blob = parse_public_key(key_line(key))
    checker = SSHPublicKeyChecker({"alice": [blob]})
    data = b"payload"
    sig256 = sign(key, "rsa-sha2-256", data)
    with pytest.raises(UnauthorizedLogin):  # claims sha-512, carries a sha-256 signature
        await checker.request_avatar_id(SSHPublicKey("alice", b"rsa-sha2-512", blob, data, sig256))
    with pytest.raises(UnauthorizedLogin):  # SHA-1 "ssh-rsa" signatures are not accepted
        await checker.request_avatar_id(SSHPublicKey("alice", b"ssh-rsa", blob, data, sig256))
    with pytest.raises(UnauthorizedLogin):  # garbage signature blob
        await checker.request_avatar_id(SSHPublicKey("alice", b"rsa-sha2-256", blob, data, b"\x00"))


async def test_ssh_ed25519_key_cannot_pose_as_ecdsa(loop_kind: str) -> None:
    key = key_for("ssh-ed25519")
    blob = parse_public_key(key_line(key))
    checker = SSHPublicKeyChecker({"alice": [blob]})
    data = b"payload"
    sig = sign(key, "ssh-ed25519", data)
    with pytest.raises(UnauthorizedLogin):
        await checker.request_avatar_id(
            SSHPublicKey("alice", b"ecdsa-sha2-nistp256", blob, data, sig)
        )


def test_parse_public_key_rejects_junk() -> None:
    for junk in ["", "hello world", "ssh-ed25519 !!!notbase64", b"ssh-dss AAAAB3NzaC1kc3M="]:
        with pytest.raises(ValueError):
            parse_public_key(junk)
    # a key line whose type word does not match the blob inside
    line = key_line(key_for("ssh-ed25519")).split()
    with pytest.raises(ValueError):
        parse_public_key("ecdsa-sha2-nistp256 " + line[1])


# ------------------------------------------------------------------ portal


class Avatar:
    def __init__(self, avatar_id: Any, mind: Any) -> None:
        self.avatar_id = avatar_id
        self.mind = mind


class IShell:
    """An 'interface' as a plain marker class."""


class Realm:
    def __init__(self) -> None:
        self.logouts: list[Any] = []

    def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        avatar = Avatar(avatar_id, mind)
        return interfaces[0], avatar, lambda: self.logouts.append(avatar_id)


class AsyncRealm(Realm):
    async def request_avatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> Any:
        avatar = Avatar(avatar_id, mind)

        async def logout() -> None:
            self.logouts.append(avatar_id)

        return interfaces[0], avatar, logout


async def test_portal_login_and_logout(loop_kind: str) -> None:
    realm = Realm()
    portal = Portal(realm, [InMemoryUsernamePasswordChecker({"alice": "pw"}, hasher=FAST)])
    interface, avatar, logout = await portal.login(UsernamePassword("alice", "pw"), "mind", IShell)
    assert interface is IShell and avatar.avatar_id == "alice" and avatar.mind == "mind"
    logout()
    logout()  # a second call does nothing
    assert realm.logouts == ["alice"]
    with pytest.raises(UnauthorizedLogin):
        await portal.login(UsernamePassword("alice", "nope"), None, IShell)
    assert portal.credential_types() == [UsernamePassword]


async def test_portal_with_async_realm_and_anonymous(loop_kind: str) -> None:
    realm = AsyncRealm()
    portal = Portal(realm, [AllowAnonymousChecker()])
    _, avatar, logout = await portal.login(Anonymous(), None, IShell)
    assert avatar.avatar_id == ANONYMOUS
    await logout()
    assert realm.logouts == [ANONYMOUS]


@dataclass(frozen=True)
class Kerberos:
    ticket: bytes


async def test_unhandled_credentials(loop_kind: str) -> None:
    portal = Portal(Realm(), [InMemoryUsernamePasswordChecker(hasher=FAST)])
    with pytest.raises(UnhandledCredentials) as info:
        await portal.login(Kerberos(b"t"), None, IShell)
    assert isinstance(info.value, LoginFailed)
    with pytest.raises(UnhandledCredentials):
        await portal.login(SSHPublicKey("a", b"ssh-ed25519", b""), None, IShell)
    assert issubclass(UnauthorizedLogin, LoginFailed)


async def test_portal_routes_each_type_to_its_checker(loop_kind: str) -> None:
    key = key_for("ssh-ed25519")
    blob = parse_public_key(key_line(key))
    portal = Portal(Realm())
    portal.register_checker(InMemoryUsernamePasswordChecker({"alice": "pw"}, hasher=FAST))
    portal.register_checker(SSHPublicKeyChecker({"alice": [blob]}))
    _, by_password, _ = await portal.login(UsernamePassword("alice", "pw"), None, IShell)
    data = b"signed"
    creds = SSHPublicKey("alice", b"ssh-ed25519", blob, data, sign(key, "ssh-ed25519", data))
    _, by_key, _ = await portal.login(creds, None, IShell)
    assert by_password.avatar_id == by_key.avatar_id == "alice"
