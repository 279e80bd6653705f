"""Who may reach an address: the allow list behind `vertex authorize`.

Q2Q already proves who a peer is (its certificate, signed by its domain's CA).  This decides
whether that peer may send files to, or tunnel into, one of *our* addresses.  Per local
address a list of patterns: ``bob@example.test`` (that user), ``*@example.test`` or
``example.test`` (anyone at that domain).  An address with no entries accepts every
authenticated peer, as Vertex did; the first entry closes it to everyone not listed.

Kept as JSON beside the certificates (``DIR/authorized.json``, 0600), written atomically.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from plait.core.files import write_file_atomically

__all__ = ["ALLOW_FILE", "MAX_ENTRIES", "AllowList", "check_pattern"]

ALLOW_FILE = "authorized.json"
#: Patterns per local address (a list, not a database).
MAX_ENTRIES = 1000


def _split(address: str) -> tuple[str | None, str]:
    bare = address.split("/", 1)[0]
    user, at, domain = bare.rpartition("@")
    return (user if at else None), domain.lower().rstrip(".")


def check_pattern(text: str) -> str:
    """Normalise a pattern (``user@domain``, ``*@domain`` or ``domain``); ValueError if bad."""
    text = text.strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise ValueError(f"bad peer pattern {text!r}: use user@domain, *@domain or domain")
    user, domain = _split(text)
    if not domain or "@" in domain or "*" in domain:
        raise ValueError(f"bad peer pattern {text!r}: use user@domain, *@domain or domain")
    if user is None or user == "*":
        return f"*@{domain}"
    if not user or "*" in user or "@" in user:
        raise ValueError(f"bad peer pattern {text!r}: use user@domain, *@domain or domain")
    return f"{user}@{domain}"


def _key(address: str) -> str:
    user, domain = _split(address)
    if not user or not domain:
        raise ValueError(f"{address!r} is not a user@domain address")
    return f"{user}@{domain}"


class AllowList:
    """The allow lists of every local address in one certificate directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / ALLOW_FILE

    def _load(self) -> dict[str, list[str]]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            raise ValueError(f"{self.path} is not valid JSON (fix or remove it)") from None
        if not isinstance(raw, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(p, str) for p in v)
            for k, v in raw.items()
        ):
            raise ValueError(f"{self.path} does not hold allow lists (fix or remove it)")
        return raw

    def _save(self, data: dict[str, list[str]]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps({k: v for k, v in sorted(data.items()) if v}, indent=1) + "\n"
        write_file_atomically(self.path, text.encode(), 0o600)

    def entries(self, me: str) -> list[str]:
        return list(self._load().get(_key(me), []))

    def add(self, me: str, pattern: str) -> bool:
        """Allow ``pattern`` to reach ``me``; False if it was already there."""
        pattern = check_pattern(pattern)
        data = self._load()
        entries = data.setdefault(_key(me), [])
        if pattern in entries:
            return False
        if len(entries) >= MAX_ENTRIES:
            raise ValueError(f"{me} already has {MAX_ENTRIES} allowed peers")
        entries.append(pattern)
        self._save(data)
        return True

    def remove(self, me: str, pattern: str) -> bool:
        """Stop allowing ``pattern``; False if it was not there."""
        pattern = check_pattern(pattern)
        data = self._load()
        entries = data.get(_key(me), [])
        if pattern not in entries:
            return False
        entries.remove(pattern)
        self._save(data)
        return True

    def allows(self, me: str, peer: str) -> bool:
        """Whether the authenticated ``peer`` may reach ``me``."""
        entries = self.entries(me)
        if not entries:
            return True
        user, domain = _split(peer)
        return f"{user}@{domain}" in entries or f"*@{domain}" in entries
