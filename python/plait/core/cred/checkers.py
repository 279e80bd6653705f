"""Credential checkers: is this password, key or anonymous request good, and for whom?

Why these rules: passwords are stored only as argon2id hashes (memory-hard, so a stolen
file is expensive to crack); verification runs in a worker thread so a login does not
stall the event loop; an unknown user still costs one hash and a bad key still costs
the same comparisons, so timing does not reveal which user names exist.  SSH key
signatures are verified with ``cryptography``.
"""
from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import os
import secrets
import struct
import tempfile
from collections.abc import Awaitable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from plait.core.cred.credentials import Anonymous, SSHPublicKey, UsernamePassword
from plait.core.cred.errors import UnauthorizedLogin, UnhandledCredentials, ValidPublicKey

__all__ = [
    "ANONYMOUS",
    "AllowAnonymousChecker",
    "AvatarId",
    "CredentialsChecker",
    "FileUsernamePasswordChecker",
    "InMemoryUsernamePasswordChecker",
    "SSHPublicKeyChecker",
    "hash_password",
    "parse_public_key",
    "remove_password_entry",
    "verify_ssh_signature",
    "write_password_entry",
]

log = logging.getLogger(__name__)

#: The avatar id of an anonymous login (compare with ``==``).
ANONYMOUS = Anonymous()
AvatarId = str | Anonymous

BAD_LOGIN = "bad user name or password"
BAD_KEY = "public key not accepted"


class CredentialsChecker(Protocol):
    """Turns credentials of the types it declares into an avatar id, or refuses them."""

    credential_types: tuple[type, ...]

    def request_avatar_id(self, credentials: Any) -> AvatarId | Awaitable[AvatarId]: ...


def _expect(credentials: object, kind: type) -> None:
    if not isinstance(credentials, kind):
        raise UnhandledCredentials(
            f"{type(credentials).__name__} credentials given to a {kind.__name__} checker"
        )


# ------------------------------------------------------------------ passwords

_DEFAULT_HASHER = PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 defaults
_dummy_hashes: dict[tuple[int, int, int, int, int], str] = {}


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """The argon2id hash (``$argon2id$v=19$...``) to store for ``password``."""
    return (hasher or _DEFAULT_HASHER).hash(password)


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of a random password, made with the same cost as real entries."""
    key = (
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.hash_len,
        hasher.salt_len,
    )
    dummy = _dummy_hashes.get(key)
    if dummy is None:
        dummy = _dummy_hashes[key] = hasher.hash(secrets.token_urlsafe(16))
    return dummy


def _verify(hasher: PasswordHasher, encoded: str, password: str) -> bool:
    try:
        return hasher.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def _check_password(
    hasher: PasswordHasher, encoded: str | None, credentials: UsernamePassword
) -> str:
    """Verify in a worker thread; unknown users are checked against a dummy hash."""
    known = encoded is not None
    target = encoded if encoded is not None else _dummy_hash(hasher)
    ok = await asyncio.to_thread(_verify, hasher, target, credentials.password)
    if not (ok and known):
        raise UnauthorizedLogin(BAD_LOGIN)
    return credentials.username


class InMemoryUsernamePasswordChecker:
    """Users kept in memory as argon2id hashes (never the plaintext)."""

    credential_types: tuple[type, ...] = (UsernamePassword,)

    def __init__(
        self, users: Mapping[str, str] | None = None, *, hasher: PasswordHasher | None = None
    ) -> None:
        self.hasher = hasher or _DEFAULT_HASHER
        self._hashes: dict[str, str] = {}
        for username, password in (users or {}).items():
            self.add_user(username, password)

    def add_user(self, username: str, password: str) -> None:
        """Store ``username`` with the hash of ``password``."""
        self._hashes[username] = self.hasher.hash(password)

    def set_hash(self, username: str, encoded: str) -> None:
        """Store an already hashed password (from a store or a file)."""
        if not encoded.startswith("$argon2"):
            raise ValueError(f"the hash for {username!r} is not an argon2 hash")
        self._hashes[username] = encoded

    def remove_user(self, username: str) -> None:
        self._hashes.pop(username, None)

    @property
    def hashes(self) -> Mapping[str, str]:
        """The stored hashes, by user name (read-only view)."""
        return dict(self._hashes)

    async def request_avatar_id(self, credentials: UsernamePassword) -> AvatarId:
        _expect(credentials, UsernamePassword)
        encoded = self._hashes.get(credentials.username)
        username = await _check_password(self.hasher, encoded, credentials)
        if encoded is not None and self.hasher.check_needs_rehash(encoded):
            self._hashes[username] = self.hasher.hash(credentials.password)
        return username


def _valid_username(username: str) -> None:
    if not username or any(c in username for c in ":\r\n") or username.strip() != username:
        raise ValueError(f"user name {username!r} may not be empty or hold ':' or spaces at its ends")
    if username.startswith("#"):
        raise ValueError(f"user name {username!r} may not start with '#'")


def _read_entries(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _write_atomically(path: Path, lines: list[str]) -> None:
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_password_entry(
    path: str | os.PathLike[str],
    username: str,
    password: str,
    *,
    hasher: PasswordHasher | None = None,
) -> None:
    """Add or replace ``username:$argon2id$...`` in the file (atomically, mode 0600 if new)."""
    _valid_username(username)
    path = Path(path)
    entry = f"{username}:{hash_password(password, hasher)}"
    lines = _read_entries(path)
    out, replaced = [], False
    for line in lines:
        if line.partition(":")[0] == username and not line.lstrip().startswith("#"):
            if not replaced:
                out.append(entry)
                replaced = True
            continue
        out.append(line)
    if not replaced:
        out.append(entry)
    _write_atomically(path, out)


def remove_password_entry(path: str | os.PathLike[str], username: str) -> bool:
    """Remove ``username`` from the file; False if it was not there."""
    path = Path(path)
    lines = _read_entries(path)
    kept = [
        line
        for line in lines
        if line.lstrip().startswith("#") or line.partition(":")[0] != username
    ]
    if len(kept) == len(lines):
        return False
    _write_atomically(path, kept)
    return True


class FileUsernamePasswordChecker:
    """Users from a file of ``user:$argon2id$...`` lines, re-read whenever it changes.

    Blank lines and ``#`` comments are ignored; malformed lines are logged (by line
    number only) and skipped.  A missing file means no users.
    """

    credential_types: tuple[type, ...] = (UsernamePassword,)

    def __init__(
        self, path: str | os.PathLike[str], *, hasher: PasswordHasher | None = None
    ) -> None:
        self.path = Path(path)
        self.hasher = hasher or _DEFAULT_HASHER
        self._hashes: dict[str, str] = {}
        self._stamp: tuple[int, int, int] | None = None

    def _reload_if_changed(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._stamp != (0, 0, 0):
                log.warning("password file %s does not exist: no users", self.path)
            self._hashes, self._stamp = {}, (0, 0, 0)
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        hashes: dict[str, str] = {}
        for number, raw in enumerate(_read_entries(self.path), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            username, sep, encoded = line.partition(":")
            if not sep or not username or not encoded.startswith("$argon2"):
                log.warning("%s:%d: not 'user:$argon2id$...'; ignored", self.path, number)
                continue
            hashes[username] = encoded
        self._hashes, self._stamp = hashes, stamp

    @property
    def usernames(self) -> list[str]:
        self._reload_if_changed()
        return sorted(self._hashes)

    async def request_avatar_id(self, credentials: UsernamePassword) -> AvatarId:
        _expect(credentials, UsernamePassword)
        self._reload_if_changed()
        encoded = self._hashes.get(credentials.username)
        return await _check_password(self.hasher, encoded, credentials)


class AllowAnonymousChecker:
    """Lets anyone in as :data:`ANONYMOUS`."""

    credential_types: tuple[type, ...] = (Anonymous,)

    async def request_avatar_id(self, credentials: Anonymous) -> AvatarId:
        _expect(credentials, Anonymous)
        return ANONYMOUS


# ------------------------------------------------------------------ SSH keys

#: Signature algorithm -> (key type in the blob, hash); None for Ed25519's own.
SIGNATURE_ALGORITHMS: dict[bytes, tuple[bytes, hashes.HashAlgorithm | None]] = {
    b"ssh-ed25519": (b"ssh-ed25519", None),
    b"ecdsa-sha2-nistp256": (b"ecdsa-sha2-nistp256", hashes.SHA256()),
    b"ecdsa-sha2-nistp384": (b"ecdsa-sha2-nistp384", hashes.SHA384()),
    b"ecdsa-sha2-nistp521": (b"ecdsa-sha2-nistp521", hashes.SHA512()),
    b"rsa-sha2-256": (b"ssh-rsa", hashes.SHA256()),
    b"rsa-sha2-512": (b"ssh-rsa", hashes.SHA512()),
}
KEY_TYPES = {key_type for key_type, _ in SIGNATURE_ALGORITHMS.values()}
MIN_RSA_BITS = 1024


def _string(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(data):
        raise ValueError("truncated SSH string")
    (length,) = struct.unpack_from(">I", data, offset)
    end = offset + 4 + length
    if end > len(data):
        raise ValueError("truncated SSH string")
    return data[offset + 4 : end], end


def _mpint(data: bytes, offset: int) -> tuple[int, int]:
    raw, offset = _string(data, offset)
    return int.from_bytes(raw, "big", signed=True), offset


def parse_public_key(entry: bytes | str) -> bytes:
    """An authorized key as its SSH wire blob.

    Accepts the blob itself, or an ``authorized_keys`` line (``[options] type base64
    [comment]``).  Raises ``ValueError`` for anything else.
    """
    if isinstance(entry, bytes) and entry[:1] == b"\x00":
        return entry
    text = entry.decode("ascii", "replace") if isinstance(entry, bytes) else entry
    words = text.split()
    for i, word in enumerate(words[:-1]):
        if word.encode() in KEY_TYPES:
            try:
                blob = base64.b64decode(words[i + 1], validate=True)
            except ValueError:
                raise ValueError(f"bad base64 in public key of type {word}") from None
            if _string(blob, 0)[0] != word.encode():
                raise ValueError(f"public key says {word} but holds another type")
            return blob
    raise ValueError("not an SSH public key of a supported type")


def verify_ssh_signature(algorithm: bytes, blob: bytes, signature: bytes, data: bytes) -> bool:
    """True if ``signature`` (an SSH signature blob) signs ``data`` with key ``blob``."""
    spec = SIGNATURE_ALGORITHMS.get(algorithm)
    if spec is None:
        return False
    key_type, digest = spec
    try:
        sig_alg, offset = _string(signature, 0)
        raw_sig, offset = _string(signature, offset)
        if offset != len(signature) or sig_alg != algorithm:
            return False
        if _string(blob, 0)[0] != key_type:
            return False
        line = key_type + b" " + base64.b64encode(blob)
        key = serialization.load_ssh_public_key(line)
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(raw_sig, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            assert digest is not None
            r, pos = _mpint(raw_sig, 0)
            s, pos = _mpint(raw_sig, pos)
            if pos != len(raw_sig) or r <= 0 or s <= 0:
                return False
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(digest))
        elif isinstance(key, rsa.RSAPublicKey):
            assert digest is not None
            if key.key_size < MIN_RSA_BITS:
                return False
            key.verify(raw_sig, data, padding.PKCS1v15(), digest)
        else:  # pragma: no cover - KEY_TYPES admits nothing else
            return False
    except (InvalidSignature, ValueError, UnsupportedAlgorithm, struct.error):
        return False
    return True


_DUMMY_KEYS = [b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(32)]


class SSHPublicKeyChecker:
    """Checks SSH public-key logins against ``{user: [authorized keys]}``.

    The mapping is read at each login, so a live mapping (say, backed by the store)
    takes effect at once.  A key query without signature that would be accepted
    raises :class:`ValidPublicKey`.
    """

    credential_types: tuple[type, ...] = (SSHPublicKey,)

    def __init__(self, authorized_keys: Mapping[str, Iterable[bytes | str]]) -> None:
        self.authorized_keys = authorized_keys

    def _blobs(self, username: str) -> tuple[list[bytes], bool]:
        entries = self.authorized_keys.get(username)
        if entries is None:
            return _DUMMY_KEYS, False
        blobs = []
        for entry in entries:
            try:
                blobs.append(parse_public_key(entry))
            except ValueError as exc:
                log.warning("an authorized key of %r is unusable: %s", username, exc)
        return blobs, True

    async def request_avatar_id(self, credentials: SSHPublicKey) -> AvatarId:
        _expect(credentials, SSHPublicKey)
        if credentials.algorithm not in SIGNATURE_ALGORITHMS:
            raise UnauthorizedLogin(f"{BAD_KEY}: unsupported algorithm")
        blobs, known = self._blobs(credentials.username)
        matched = False
        for blob in blobs:  # compare with every key: no early exit
            matched |= hmac.compare_digest(blob, credentials.blob)
        if not (matched and known):
            raise UnauthorizedLogin(BAD_KEY)
        if credentials.signature is None or credentials.signed_data is None:
            raise ValidPublicKey("key accepted; a signature is needed")
        if not verify_ssh_signature(
            credentials.algorithm, credentials.blob, credentials.signature, credentials.signed_data
        ):
            raise UnauthorizedLogin(f"{BAD_KEY}: bad signature")
        return credentials.username
