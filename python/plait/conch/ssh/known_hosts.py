"""known_hosts: which host keys a client trusts, in OpenSSH's file format.

Why our own reader: the client must answer "is this the key I saw before?" exactly as
OpenSSH would for the same file (hashed ``|1|`` names, ``[host]:port``, wildcard and
negated patterns, ``@revoked``), so users can share one file between ``ssh`` and plait.
Certificates are not supported: ``@cert-authority`` lines are read and never match a plain
key.  Host patterns are shared with authorized_keys' ``from=`` option.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import KeyFormatError
from .keys import Key

__all__ = [
    "KnownHost", "KnownHosts", "LookupResult", "Match", "Mismatch", "Revoked", "Unknown",
    "add_known_host", "hash_host", "host_name", "match_pattern", "match_pattern_list",
]

log = logging.getLogger(__name__)

MAX_FILE = 16 << 20     # a known_hosts file larger than this is refused, not read
HASH_MAGIC = "|1|"


# ------------------------------------------------------------------ patterns


@lru_cache(maxsize=1024)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def match_pattern(name: str, pattern: str) -> bool:
    """OpenSSH's ``match_pattern``: ``*`` and ``?`` wildcards, nothing else special."""
    return _pattern_regex(pattern).fullmatch(name) is not None


def _match_cidr(address: str, pattern: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False


def match_pattern_list(name: str, patterns: Iterable[str], *, fold_case: bool = True,
                       cidr: bool = False) -> int:
    """1 if ``name`` matches a pattern, -1 if it matches a negated (``!pat``) one (a veto,
    whatever else matches), 0 if neither.  ``cidr`` lets ``10.0.0.0/8`` patterns match
    addresses (as authorized_keys ``from=`` does)."""
    if fold_case:
        name = name.lower()
    result = 0
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw[1:] if negated else raw
        if fold_case:
            pattern = pattern.lower()
        if not pattern:
            continue
        hit = _match_cidr(name, pattern) if cidr and "/" in pattern else \
            match_pattern(name, pattern)
        if hit:
            if negated:
                return -1
            result = 1
    return result


def host_name(host: str, port: int = 22) -> str:
    """The name a host is stored under: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def hash_host(name: str, salt: bytes | None = None) -> str:
    """``|1|salt|HMAC-SHA1(salt, name)`` in base64, as ``ssh-keygen -H`` writes."""
    salt = os.urandom(20) if salt is None else salt
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"{HASH_MAGIC}{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


# ------------------------------------------------------------------ entries and results


@dataclass(frozen=True)
class KnownHost:
    """One line: a marker (``None``, ``"cert-authority"`` or ``"revoked"``), the host
    patterns (or one hashed name), the key."""

    hosts: tuple[str, ...]
    key: Key
    marker: str | None = None
    line_number: int = 0
    hashed: tuple[bytes, bytes] | None = field(default=None, repr=False)   # (salt, digest)

    def matches(self, name: str) -> bool:
        """Does this line name ``name`` (already in ``[host]:port`` form)?"""
        if self.hashed is not None:
            salt, digest = self.hashed
            mine = hmac.new(salt, name.encode(), hashlib.sha1).digest()
            return hmac.compare_digest(mine, digest)
        return match_pattern_list(name, self.hosts) == 1


@dataclass(frozen=True)
class Match:
    """The host is known with this key."""

    entry: KnownHost


@dataclass(frozen=True)
class Mismatch:
    """The host is known with another key of the same type: it changed (or an attack)."""

    known: tuple[KnownHost, ...]


@dataclass(frozen=True)
class Unknown:
    """No line for this host and key type.  ``other_types`` are keys of other types the
    file does hold for the host (OpenSSH mentions them when it asks)."""

    other_types: tuple[KnownHost, ...] = ()


@dataclass(frozen=True)
class Revoked:
    """The key is listed under ``@revoked``: never accept it."""

    entry: KnownHost


LookupResult = Match | Mismatch | Unknown | Revoked


def _parse_line(line: str, number: int) -> KnownHost | None:
    """One entry, or None for blank lines and comments; KeyFormatError for bad lines."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    marker = None
    if text.startswith("@"):
        word, _, text = text.partition(" ")
        if word not in ("@cert-authority", "@revoked"):
            raise KeyFormatError(f"unknown marker {word[:40]!r}")
        marker = word[1:]
        text = text.lstrip()
    host_field, _, key_text = text.partition(" ")
    key_text = key_text.strip()
    if not host_field or not key_text:
        raise KeyFormatError("expected 'hosts keytype base64 [comment]'")
    key = Key.from_bytes(key_text)
    if host_field.startswith(HASH_MAGIC):
        salt_b64, sep, digest_b64 = host_field[len(HASH_MAGIC):].partition("|")
        try:
            salt, digest = base64.b64decode(salt_b64, validate=True), \
                base64.b64decode(digest_b64, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFormatError("bad base64 in a hashed host name") from None
        if not sep or len(salt) != 20 or len(digest) != 20:
            raise KeyFormatError("bad hashed host name")
        return KnownHost((host_field,), key, marker, number, (salt, digest))
    return KnownHost(tuple(host_field.split(",")), key, marker, number)


class KnownHosts:
    """The entries of one or more known_hosts files, and :meth:`lookup` over them."""

    def __init__(self, entries: Iterable[KnownHost] = ()) -> None:
        self.entries = list(entries)

    @classmethod
    def from_text(cls, text: str, source: str = "known_hosts") -> KnownHosts:
        """Parse a file's text; bad lines are logged (by line number) and skipped."""
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                entry = _parse_line(line, number)
            except KeyFormatError as exc:
                log.warning("%s:%d: ignored: %s", source, number, exc)
                continue
            if entry is not None:
                entries.append(entry)
        return cls(entries)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KnownHosts:
        """Read ``path``; a missing file means no known hosts."""
        p = Path(path)
        try:
            with p.open("rb") as f:
                data = f.read(MAX_FILE + 1)
        except FileNotFoundError:
            return cls()
        if len(data) > MAX_FILE:
            raise KeyFormatError(f"{p}: larger than {MAX_FILE} bytes")
        return cls.from_text(data.decode("utf-8", "replace"), str(p))

    def __iter__(self) -> Iterator[KnownHost]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def _entries_for(self, host: str, port: int, address: str | None) -> list[KnownHost]:
        names = [host_name(host, port)]
        if address and address != host:
            names.append(host_name(address, port))
        return [e for e in self.entries if any(e.matches(n) for n in names)]

    def keys_for(self, host: str, port: int = 22, address: str | None = None) -> list[Key]:
        """The trusted (plain, not revoked) keys for a host, in file order: a client puts
        their types first in its host key algorithm list."""
        revoked = {e.key for e in self.entries if e.marker == "revoked"}
        return [e.key for e in self._entries_for(host, port, address)
                if e.marker is None and e.key not in revoked]

    def lookup(self, host: str, key: Key, port: int = 22,
               address: str | None = None) -> LookupResult:
        """What the file says of ``key`` offered by ``host:port`` (and its ``address``)."""
        for entry in self.entries:   # a revoked key is refused whatever host offers it
            if entry.marker == "revoked" and entry.key == key:
                return Revoked(entry)
        candidates = self._entries_for(host, port, address)
        plain = [e for e in candidates if e.marker is None]
        for entry in plain:
            if entry.key == key:
                return Match(entry)
        same_type = tuple(e for e in plain if e.key.key_type == key.key_type)
        if same_type:
            return Mismatch(same_type)
        return Unknown(tuple(plain))


def _entry_line(host: str, key: Key, port: int, hashed: bool, comment: str) -> str:
    name = host_name(host, port)
    if any(c in name for c in " \t\r\n,#") or not host:
        raise ValueError(f"host name {host!r} cannot be written to known_hosts")
    field_ = hash_host(name) if hashed else name
    return f"{field_} {key.public_line(comment)}"


def add_known_host(path: str | os.PathLike[str], host: str, key: Key, *, port: int = 22,
                   hashed: bool = True, comment: str = "") -> str:
    """Append a line for ``host``'s key and return it; the file is rewritten atomically
    (a reader sees the old file or the new, never half), created 0600 if missing, its
    directory 0700."""
    p = Path(path)
    line = _entry_line(host, key, port, hashed, comment)
    p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        old = p.read_bytes()
        mode = p.stat().st_mode & 0o7777
    except FileNotFoundError:
        old, mode = b"", 0o600
    if old and not old.endswith(b"\n"):
        old += b"\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(old + line.encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        os.unlink(tmp)
        raise
    return line
