"""Q2Q addresses: ``user@domain`` with an optional ``/resource``, or a bare ``domain``.

Why its own type: every Q2Q command, certificate and listener is keyed by an address, and a
typo must fail where it is typed (``ValueError`` naming the bad part), not as a refused
connection later. Domains are case-insensitive and kept lower-case; users are kept as typed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_ADDRESS_LENGTH", "Q2QAddress"]

#: Longest address text accepted (a certificate subject holds at most 64 characters of CN;
#: the resource never goes into a certificate).
MAX_ADDRESS_LENGTH = 255

_USER = re.compile(r"[^\s@/\\:\x00-\x1f\x7f]{1,64}")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_RESOURCE = re.compile(r"[^\s\x00-\x1f\x7f]{1,128}")


def _check_domain(domain: str, text: str) -> str:
    lowered = domain.lower().rstrip(".")
    if not lowered or len(lowered) > 253:
        raise ValueError(f"bad Q2Q address {text!r}: the domain {domain!r} is empty or too long")
    for label in lowered.split("."):
        if not _LABEL.fullmatch(label):
            raise ValueError(f"bad Q2Q address {text!r}: the domain {domain!r} has a bad "
                             f"label {label!r} (letters, digits and inner hyphens only)")
    return lowered


@dataclass(frozen=True, slots=True, order=True)
class Q2QAddress:
    """``user@domain[/resource]``; ``user`` None for a domain's own address (its server)."""

    domain: str
    user: str | None = None
    resource: str | None = None

    @classmethod
    def parse(cls, text: str) -> Q2QAddress:
        """Parse ``user@domain[/resource]`` (or ``domain``); ValueError names the bad part."""
        if not isinstance(text, str):
            raise TypeError(f"a Q2Q address is text, not {type(text).__name__}")
        if not text:
            raise ValueError("bad Q2Q address '': it is empty")
        if len(text) > MAX_ADDRESS_LENGTH:
            raise ValueError(f"bad Q2Q address {text[:40]!r}...: longer than "
                             f"{MAX_ADDRESS_LENGTH} characters")
        rest, slash, resource = text.partition("/")
        if slash and not _RESOURCE.fullmatch(resource):
            raise ValueError(f"bad Q2Q address {text!r}: the resource {resource!r} is empty "
                             "or has spaces or control characters")
        user: str | None
        if "@" in rest:
            user, _, domain = rest.rpartition("@")
            if not _USER.fullmatch(user):
                raise ValueError(f"bad Q2Q address {text!r}: the user {user!r} is empty, "
                                 "too long, or has a space, '@', '/', '\\' or ':'")
        else:
            user, domain = None, rest
        return cls(_check_domain(domain, text), user, resource if slash else None)

    @classmethod
    def coerce(cls, value: Q2QAddress | str) -> Q2QAddress:
        """An address from an address or its text."""
        return value if isinstance(value, Q2QAddress) else cls.parse(value)

    def claim(self) -> Q2QAddress:
        """The address without its resource: what certificates and accounts name."""
        return Q2QAddress(self.domain, self.user)

    def domain_address(self) -> Q2QAddress:
        """The domain's own address (its identity server)."""
        return Q2QAddress(self.domain)

    def __str__(self) -> str:
        base = self.domain if self.user is None else f"{self.user}@{self.domain}"
        return base if self.resource is None else f"{base}/{self.resource}"
