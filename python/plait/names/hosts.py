"""``/etc/hosts`` as the first link of a resolver chain: A, AAAA and PTR answers from the
file, re-read whenever its modification time (or size) changes, so edits are seen without a
restart.
"""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable

from .constants import RRClass, RRType
from .message import RR
from .name import Name
from .rdata import AAAA, PTR, A

__all__ = ["DEFAULT_PATH", "HOSTS_TTL", "Hosts", "HostsTable", "parse_hosts", "reverse_name"]

DEFAULT_PATH = "/etc/hosts"
HOSTS_TTL = 3600            # the TTL given to records that come from the file (as Twisted)
MAX_FILE_SIZE = 16 << 20    # larger hosts files are read up to this size


def reverse_name(address: str) -> Name:
    """The in-addr.arpa or ip6.arpa name of an IP address. Raises ValueError."""
    ip = ipaddress.ip_address(address.partition("%")[0])
    return Name.from_text(ip.reverse_pointer + ".")


def _name(text: str) -> Name | None:
    try:
        return Name.from_text(text if text.endswith(".") else text + ".")
    except ValueError:
        return None


HostsTable = tuple[dict[Name, list[str]], dict[Name, list[str]], dict[Name, Name]]


def parse_hosts(text: str) -> HostsTable:
    """``(ipv4, ipv6, reverse)``: name -> addresses in file order for each family, and
    reverse name -> the first (canonical) name given for that address."""
    v4: dict[Name, list[str]] = {}
    v6: dict[Name, list[str]] = {}
    reverse: dict[Name, Name] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split()
        if len(line) < 2:
            continue
        try:
            ip = ipaddress.ip_address(line[0].partition("%")[0])
        except ValueError:
            continue
        address = str(ip)
        table = v4 if ip.version == 4 else v6
        names = [n for n in (_name(word) for word in line[1:]) if n is not None]
        for name in names:
            addresses = table.setdefault(name, [])
            if address not in addresses:
                addresses.append(address)
        if names:
            reverse.setdefault(Name.from_text(ip.reverse_pointer + "."), names[0])
    return v4, v6, reverse


class Hosts:
    """The entries of a hosts file. ``lookup(name, rtype)`` gives records, or None when
    the file says nothing about that name and type (so the next resolver is asked)."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH, *, ttl: int = HOSTS_TTL,
                 stat: Callable[[str], os.stat_result] = os.stat) -> None:
        self.path = os.fspath(path)
        self.ttl = ttl
        self._stat = stat
        self._stamp: tuple[int, int] | None = None
        self._table: HostsTable = ({}, {}, {})

    def _refresh(self) -> HostsTable:
        try:
            st = self._stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            self._stamp, self._table = None, ({}, {}, {})
            return self._table
        if stamp != self._stamp:
            try:
                with open(self.path, encoding="utf-8", errors="replace") as f:
                    self._table = parse_hosts(f.read(MAX_FILE_SIZE))
                self._stamp = stamp
            except OSError:
                self._stamp, self._table = None, ({}, {}, {})
        return self._table

    def addresses(self, name: Name | str, family: int = 0) -> list[str]:
        """Addresses of ``name`` (4 or 6 for one family, 0 for both, IPv4 first)."""
        if isinstance(name, str):
            found = _name(name)
            if found is None:
                return []
            name = found
        v4, v6, _ = self._refresh()
        out: list[str] = []
        if family in (0, 4):
            out += v4.get(name, [])
        if family in (0, 6):
            out += v6.get(name, [])
        return out

    def lookup(self, name: Name | str, rtype: int,
               rclass: int = RRClass.IN) -> tuple[RR, ...] | None:
        """Records for an A, AAAA or PTR question the file answers; None otherwise."""
        if rclass != RRClass.IN:
            return None
        if isinstance(name, str):
            found = _name(name)
            if found is None:
                return None
            name = found
        v4, v6, reverse = self._refresh()
        if rtype == RRType.A and name in v4:
            return tuple(RR(name, RRType.A, RRClass.IN, self.ttl, A(a)) for a in v4[name])
        if rtype == RRType.AAAA and name in v6:
            return tuple(RR(name, RRType.AAAA, RRClass.IN, self.ttl, AAAA(a))
                         for a in v6[name])
        if rtype == RRType.PTR and name in reverse:
            return (RR(name, RRType.PTR, RRClass.IN, self.ttl, PTR(reverse[name])),)
        return None
