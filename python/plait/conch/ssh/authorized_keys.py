"""authorized_keys: the keys that may log in as a user, with OpenSSH's per-key options,
and a cred checker that reads them.

Why a parser of our own: the options restrict what a key may do (``command=``, ``from=``,
``no-pty``, ``permitopen=``, ``expiry-time=``...) and a server that ignored one would grant
more than the file's owner meant; so every option OpenSSH knows is parsed, an unknown
option refuses the whole line (as sshd does), and the session layer asks
:meth:`AuthorizedKeysChecker.options_for` what the accepted key may do.  Certificates
are not supported: ``cert-authority`` lines are read and never accept a plain key.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.core.cred import SSHPublicKey, UnauthorizedLogin, ValidPublicKey, verify_ssh_signature
from plait.core.cred.checkers import SIGNATURE_ALGORITHMS as CORE_SIGNATURE_ALGORITHMS

from .errors import KeyFormatError
from .keys import KEY_TYPES, Key
from .known_hosts import match_pattern_list

__all__ = [
    "AuthorizedKey", "AuthorizedKeysChecker", "KeyOptions", "SSHPublicKeyFrom",
    "parse_authorized_keys", "parse_line", "parse_options",
]

log = logging.getLogger(__name__)

MAX_FILE = 4 << 20
BAD_KEY = "public key not accepted"

_FLAGS = {"pty": "pty", "port-forwarding": "port_forwarding",
          "agent-forwarding": "agent_forwarding", "x11-forwarding": "x11_forwarding",
          "user-rc": "user_rc"}
_VALUED = {"command", "from", "environment", "permitopen", "permitlisten", "principals",
           "expiry-time", "tunnel"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPIRY = re.compile(r"(\d{8})(\d{4}(\d{2})?)?(Z?)")


@dataclass(frozen=True)
class KeyOptions:
    """What a key may do.  ``permit_open``/``permit_listen`` entries are ``(host, port)``
    with ``None`` for ``*``; empty means "anything port forwarding allows"."""

    command: str | None = None
    from_patterns: tuple[str, ...] | None = None
    environment: tuple[tuple[str, str], ...] = ()
    permit_open: tuple[tuple[str, int | None], ...] = ()
    permit_listen: tuple[tuple[str, int | None], ...] = ()
    principals: tuple[str, ...] | None = None
    expiry_time: float | None = None        # POSIX time after which the key is refused
    tunnel: int | None = None
    cert_authority: bool = False
    pty: bool = True
    port_forwarding: bool = True
    agent_forwarding: bool = True
    x11_forwarding: bool = True
    user_rc: bool = True

    def expired(self, now: float) -> bool:
        return self.expiry_time is not None and now >= self.expiry_time

    def allows_from(self, address: str | None, hostname: str | None = None) -> bool:
        """``from=``: the client's address (or canonical host name) must match a pattern and
        no negated one; without ``from=`` any client may use the key.  With ``from=`` and no
        address known, the key is refused (fail closed)."""
        if self.from_patterns is None:
            return True
        if address is None:
            return False
        hits = [match_pattern_list(address, self.from_patterns, cidr=True)]
        if hostname:
            hits.append(match_pattern_list(hostname, self.from_patterns))
        return -1 not in hits and 1 in hits

    def _allows(self, rules: tuple[tuple[str, int | None], ...], host: str, port: int) -> bool:
        if not self.port_forwarding:
            return False
        if not rules:
            return True
        return any((h == "*" or h.lower() == host.lower()) and (p is None or p == port)
                   for h, p in rules)

    def allows_open(self, host: str, port: int) -> bool:
        """May the key open a direct-tcpip channel to ``host:port``?"""
        return self._allows(self.permit_open, host, port)

    def allows_listen(self, host: str, port: int) -> bool:
        """May the key ask for a remote forward (tcpip-forward) on ``host:port``?"""
        return self._allows(self.permit_listen, host or "localhost", port)


@dataclass(frozen=True)
class AuthorizedKey:
    """One usable line of an authorized_keys file."""

    key: Key
    options: KeyOptions = field(default_factory=KeyOptions)
    line_number: int = 0


@dataclass(frozen=True)
class SSHPublicKeyFrom(SSHPublicKey):
    """:class:`SSHPublicKey` with the client's address, so ``from=`` can be enforced.
    Plain ``SSHPublicKey`` credentials are refused by keys restricted with ``from=``."""

    client_address: str | None = None
    client_hostname: str | None = None


# ------------------------------------------------------------------ parsing


def _split_options(text: str) -> tuple[list[str], str]:
    """Options up to the first unquoted blank, split at unquoted commas; and the rest."""
    options, current, quoted, i = [], [], False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and quoted and text[i + 1:i + 2] == '"':
            current.append('\\"')
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c in " \t":
            break
        elif not quoted and c == ",":
            options.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    if quoted:
        raise KeyFormatError("unterminated quote in key options")
    options.append("".join(current))
    return options, text[i:].lstrip()


def _value(option: str, name: str) -> str:
    raw = option[len(name) + 1:]
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        raise KeyFormatError(f"option {name} needs a quoted value: {name}=\"...\"")
    return raw[1:-1].replace('\\"', '"')


def _host_port(value: str, name: str) -> tuple[str, int | None]:
    if value.startswith("["):
        host, sep, port_text = value[1:].partition("]:")
    else:
        host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text:
        raise KeyFormatError(f"{name}=\"{value}\" is not host:port")
    if port_text == "*":
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise KeyFormatError(f"{name}=\"{value}\": bad port")
    return host, int(port_text)


def _expiry(value: str) -> float:
    m = _EXPIRY.fullmatch(value)
    if m is None:
        raise KeyFormatError(f'expiry-time="{value}" is not YYYYMMDD[HHMM[SS]][Z]')
    digits = m.group(1) + (m.group(2) or "0000") + ("" if m.group(3) else "00")
    try:
        when = dt.datetime.strptime(digits, "%Y%m%d%H%M%S")
        if m.group(4):
            return when.replace(tzinfo=dt.UTC).timestamp()
        return when.timestamp()   # local time, as sshd reads it
    except (ValueError, OverflowError, OSError):
        raise KeyFormatError(f'expiry-time="{value}" is not a date') from None


def parse_options(text: str) -> KeyOptions:
    """A comma-separated option string (no key) as :class:`KeyOptions`."""
    options, rest = _split_options(text)
    if rest:
        raise KeyFormatError("options contain an unquoted blank")
    return _options(options)


def _options(options: list[str]) -> KeyOptions:
    values: dict[str, Any] = {}
    flags: dict[str, Any] = dict.fromkeys(_FLAGS.values(), True)
    env: list[tuple[str, str]] = []
    opens: list[tuple[str, int | None]] = []
    listens: list[tuple[str, int | None]] = []
    seen: set[str] = set()
    for option in options:
        name = option.split("=", 1)[0].lower()
        if name in _VALUED:
            value = _value(option, name)
            if name in seen and name not in ("environment", "permitopen", "permitlisten"):
                raise KeyFormatError(f"option {name} given twice")
            seen.add(name)
            if name == "command":
                values["command"] = value
            elif name == "from":
                values["from_patterns"] = tuple(p for p in value.split(",") if p)
            elif name == "environment":
                key, sep, val = value.partition("=")
                if not sep or not _ENV_NAME.fullmatch(key):
                    raise KeyFormatError(f'environment="{value}" is not NAME=value')
                env.append((key, val))
            elif name == "permitopen":
                opens.append(_host_port(value, name))
            elif name == "permitlisten":
                # a bare port means any listen address, as sshd reads it
                listens.append(_host_port(value if ":" in value else f"*:{value}", name))
            elif name == "principals":
                values["principals"] = tuple(p for p in value.split(",") if p)
            elif name == "expiry-time":
                values["expiry_time"] = _expiry(value)
            elif name == "tunnel":
                if not value.isdigit():
                    raise KeyFormatError(f'tunnel="{value}" is not a number')
                values["tunnel"] = int(value)
            continue
        if "=" in option:
            raise KeyFormatError(f"unknown option {name[:40]!r}")
        if name == "restrict":
            flags = dict.fromkeys(_FLAGS.values(), False)
        elif name == "cert-authority":
            values["cert_authority"] = True
        elif name in _FLAGS:
            flags[_FLAGS[name]] = True
        elif name.startswith("no-") and name[3:] in _FLAGS:
            flags[_FLAGS[name[3:]]] = False
        elif name in ("no-touch-required", "verify-required", "touch-required"):
            continue   # FIDO (sk-*) key options: no sk keys are supported, nothing to do
        else:
            raise KeyFormatError(f"unknown option {name[:40]!r}" if name else "empty option")
    return KeyOptions(**values, **flags, environment=tuple(env), permit_open=tuple(opens),
                      permit_listen=tuple(listens))


def parse_line(line: str, line_number: int = 0) -> AuthorizedKey | None:
    """One line: None for blanks and comments, KeyFormatError for a bad or unsupported one."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    first = text.split(None, 1)[0]
    if first in KEY_TYPES:
        options, key_text = KeyOptions(), text
    elif re.fullmatch(r"[\w.@-]+ AAAA\S*( .*)?", text, re.DOTALL):
        raise KeyFormatError(f"unsupported key type {first[:40]!r}")   # ssh-dss, sk-*, certs
    else:
        words, key_text = _split_options(text)
        if not key_text:
            raise KeyFormatError(f"unsupported key type {first[:40]!r} or options without a key")
        options = _options(words)
    key_type = key_text.split(None, 1)[0]
    if key_type not in KEY_TYPES:
        raise KeyFormatError(f"unsupported key type {key_type[:40]!r}")
    return AuthorizedKey(Key.from_bytes(key_text), options, line_number)


def parse_authorized_keys(text: str, source: str = "authorized_keys") -> list[AuthorizedKey]:
    """Every usable line; bad ones are logged (by line number) and skipped, as sshd does."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = parse_line(line, number)
        except KeyFormatError as exc:
            log.warning("%s:%d: ignored: %s", source, number, exc)
            continue
        if entry is not None:
            entries.append(entry)
    return entries


# ------------------------------------------------------------------ the checker

_DUMMY = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(32)


class AuthorizedKeysChecker:
    """Checks SSH public-key logins against ``path_for_user(username)`` (an authorized_keys
    file, re-read at each login).  A query without signature that would be accepted raises
    :class:`ValidPublicKey`; a signed request returns the user name.

    ``path_for_user`` may raise ``LookupError`` (or return a missing file) for unknown
    users.  With ``strict_modes`` (the default, as sshd's StrictModes) a file that others
    may write is refused.  ``clock`` gives the time ``expiry-time`` is compared with.
    """

    credential_types: tuple[type, ...] = (SSHPublicKey,)

    def __init__(self, path_for_user: Callable[[str], Path], *, strict_modes: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.path_for_user = path_for_user
        self.strict_modes = strict_modes
        self.clock = clock

    def entries_for(self, username: str) -> list[AuthorizedKey]:
        """The usable lines of the user's file (empty if none, unreadable or unsafe)."""
        try:
            path = Path(self.path_for_user(username))
        except (LookupError, ValueError):
            return []
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    log.warning("%s is not a regular file: no keys", path)
                    return []
                if self.strict_modes and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                    log.warning("%s is writable by group or others: refused", path)
                    return []
                data = f.read(MAX_FILE + 1)
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc.strerror)
            return []
        if len(data) > MAX_FILE:
            log.warning("%s is larger than %d bytes: refused", path, MAX_FILE)
            return []
        return parse_authorized_keys(data.decode("utf-8", "replace"), str(path))

    def _usable(self, entry: AuthorizedKey, address: str | None, hostname: str | None,
                now: float) -> bool:
        opts = entry.options
        if opts.cert_authority:
            log.info("line %d is a cert-authority key; certificates are not supported",
                     entry.line_number)
            return False
        if opts.expired(now):
            log.info("line %d: key expired", entry.line_number)
            return False
        if not opts.allows_from(address, hostname):
            log.info("line %d: from= does not allow %s", entry.line_number, address)
            return False
        return True

    def find(self, username: str, blob: bytes, client_address: str | None = None,
             client_hostname: str | None = None) -> AuthorizedKey | None:
        """The first line listing ``blob`` that may be used now from this client."""
        entries = self.entries_for(username)
        now = self.clock()
        found = None
        for entry in entries or [AuthorizedKey(Key.from_public_blob(_DUMMY))]:
            same = hmac.compare_digest(entry.key.public_blob(), blob)   # no early exit
            if same and entries and found is None and \
                    self._usable(entry, client_address, client_hostname, now):
                found = entry
        return found

    def options_for(self, username: str, blob: bytes, client_address: str | None = None,
                    client_hostname: str | None = None) -> KeyOptions | None:
        """What the accepted key may do (the session layer enforces it); None if refused."""
        entry = self.find(username, blob, client_address, client_hostname)
        return entry.options if entry else None

    async def request_avatar_id(self, credentials: SSHPublicKey) -> str:
        if not isinstance(credentials, SSHPublicKey):
            raise UnauthorizedLogin(f"{type(credentials).__name__} given to a key checker")
        spec = CORE_SIGNATURE_ALGORITHMS.get(credentials.algorithm)
        if spec is None or not credentials.blob.startswith(
                len(spec[0]).to_bytes(4, "big") + spec[0]):
            raise UnauthorizedLogin(f"{BAD_KEY}: unsupported algorithm")
        address = getattr(credentials, "client_address", None)
        hostname = getattr(credentials, "client_hostname", None)
        entry = await asyncio.to_thread(self.find, credentials.username, credentials.blob,
                                        address, hostname)
        if entry is None:
            raise UnauthorizedLogin(BAD_KEY)
        if credentials.signature is None or credentials.signed_data is None:
            raise ValidPublicKey("key accepted; a signature is needed")
        if not verify_ssh_signature(credentials.algorithm, credentials.blob,
                                    credentials.signature, credentials.signed_data):
            raise UnauthorizedLogin(f"{BAD_KEY}: bad signature")
        return credentials.username
