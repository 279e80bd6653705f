"""Reading ``/etc/resolv.conf`` (resolv.conf(5)): the servers a stub resolver asks, the
search list and the options that steer it.

Only the standard syntax is read, as glibc reads it: ``nameserver ADDR`` (IPv4 or IPv6,
an IPv6 zone ``%iface`` allowed), ``search`` / ``domain`` (the last one wins), ``options``
``ndots:N timeout:N attempts:N rotate edns0``; ``#`` and ``;`` start comments; unknown
keywords and options are ignored, as the C library ignores them. Values are clamped to
glibc's limits.
"""
from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field

from .name import Name

__all__ = ["DEFAULT_PATH", "MAX_NAMESERVERS", "MAX_SEARCH", "ResolvConf", "load_resolv_conf",
           "parse_resolv_conf"]

DEFAULT_PATH = "/etc/resolv.conf"
MAX_NAMESERVERS = 3        # glibc MAXNS: later nameserver lines are ignored
MAX_SEARCH = 6             # glibc MAXDNSRCH
MAX_NDOTS = 15             # glibc RES_MAXNDOTS
MAX_TIMEOUT = 30           # glibc RES_MAXRETRANS
MAX_ATTEMPTS = 5           # glibc RES_MAXRETRY
MAX_FILE_SIZE = 1 << 20    # a resolv.conf larger than this is not a resolv.conf


@dataclass(frozen=True)
class ResolvConf:
    """What resolv.conf says. ``nameservers`` are ``(address, 53)`` pairs."""

    nameservers: tuple[tuple[str, int], ...] = (("127.0.0.1", 53),)
    search: tuple[Name, ...] = ()
    ndots: int = 1
    timeout: float = 5.0
    attempts: int = 2
    rotate: bool = False
    edns0: bool = False
    options: tuple[str, ...] = field(default=())   # every option as written, for callers


def _address(text: str) -> str | None:
    base, _, zone = text.partition("%")
    try:
        ip = ipaddress.ip_address(base)
    except ValueError:
        return None
    return f"{ip}%{zone}" if zone and ip.version == 6 else str(ip)


def _number(value: str, low: int, high: int) -> int | None:
    if not value.isdigit():
        return None
    return max(low, min(high, int(value)))


def parse_resolv_conf(text: str, *, hostname: str | None = None) -> ResolvConf:
    """Parse the text of a resolv.conf. With no usable ``nameserver`` line the server is
    127.0.0.1; with no ``search`` or ``domain`` line the search list is the domain of
    ``hostname`` (what follows its first dot), both as in the C library."""
    servers: list[tuple[str, int]] = []
    search: list[Name] = []
    searched = False
    ndots, timeout, attempts = 1, 5, 2
    rotate = edns0 = False
    options: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        words = line.split()
        key, args = words[0], words[1:]
        # Comments may also follow values on the line.
        for i, word in enumerate(args):
            if word[0] in "#;":
                args = args[:i]
                break
        if key == "nameserver" and args:
            address = _address(args[0])
            if address is not None and len(servers) < MAX_NAMESERVERS:
                servers.append((address, 53))
        elif key in ("search", "domain") and args:
            names: list[Name] = []
            for word in (args if key == "search" else args[:1]):
                try:
                    name = Name.from_text(word if word.endswith(".") else word + ".")
                except ValueError:
                    continue
                if not name.is_root():
                    names.append(name)
            search = names[:MAX_SEARCH]
            searched = True
        elif key == "options":
            for option in args:
                options.append(option)
                opt, _, value = option.partition(":")
                if opt == "ndots":
                    n = _number(value, 0, MAX_NDOTS)
                    ndots = ndots if n is None else n
                elif opt == "timeout":
                    timeout = _number(value, 1, MAX_TIMEOUT) or timeout
                elif opt == "attempts":
                    attempts = _number(value, 1, MAX_ATTEMPTS) or attempts
                elif opt == "rotate":
                    rotate = True
                elif opt == "edns0":
                    edns0 = True
    if not searched and hostname and "." in hostname.strip("."):
        try:
            search = [Name.from_text(hostname.strip(".").split(".", 1)[1] + ".")]
        except ValueError:
            search = []
    return ResolvConf(
        nameservers=tuple(servers) or (("127.0.0.1", 53),), search=tuple(search),
        ndots=ndots, timeout=float(timeout), attempts=attempts, rotate=rotate, edns0=edns0,
        options=tuple(options),
    )


def load_resolv_conf(path: str | os.PathLike[str] = DEFAULT_PATH, *,
                     hostname: str | None = None) -> ResolvConf:
    """Read ``path``; a missing or unreadable file gives the defaults (127.0.0.1).
    ``hostname`` (default: this host's name) gives the search list when the file has none."""
    if hostname is None:
        hostname = socket.gethostname()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_FILE_SIZE)
    except OSError:
        text = ""
    return parse_resolv_conf(text, hostname=hostname)
