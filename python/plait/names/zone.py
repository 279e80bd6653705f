"""A zone: an origin and its records, checked once so that serving it cannot go wrong.

    >>> from plait.names.zone import Zone
    >>> from plait.names.zonefile import parse_zone
    >>> z = Zone.from_records("example.test", parse_zone(
    ...     "@ 3600 IN SOA ns1 host 7 3600 600 86400 300\\n@ NS ns1\\nns1 A 192.0.2.1\\n",
    ...     "example.test"))
    >>> z.serial, str(z.origin)
    (7, 'example.test.')

Why a separate checked value: the native authority, the transfer server, the zone store and
the secondaries all take a :class:`Zone`, and each may rely on what :meth:`Zone.from_records`
checks: exactly one SOA, at the apex, and first; NS records at the apex; every owner at or
below the origin; no CNAME beside other data (RRSIG and NSEC excepted, RFC 2181 §10.1 and
RFC 4035 §2.5); class IN only. Identical records are kept once.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from ._tokenizer import ZoneFileError
from .constants import RRClass, RRType, class_to_text
from .errors import ZoneError
from .message import RR
from .name import Name
from .rdata import SOA

__all__ = ["Zone", "origin_name"]

# Types allowed at a name that owns a CNAME.
_BESIDE_CNAME = frozenset((RRType.CNAME, RRType.RRSIG, RRType.NSEC))


def origin_name(origin: Name | str) -> Name:
    """``origin`` as a :class:`Name`; text is absolute even without its final dot."""
    if isinstance(origin, Name):
        return origin
    text = origin.strip()
    if not text:
        raise ZoneError("empty zone origin")
    try:
        return Name.from_text(text if text.endswith(".") else text + ".")
    except ValueError as exc:
        raise ZoneError(f"bad zone origin {origin!r}: {exc}") from None


@dataclass(frozen=True)
class Zone:
    """An origin and its records (absolute names, SOA first). Build with the classmethods."""

    origin: Name
    records: tuple[RR, ...]

    @classmethod
    def from_records(cls, origin: Name | str, records: Iterable[RR]) -> Zone:
        """A checked zone; :class:`~plait.names.errors.ZoneError` names the zone and the
        record that breaks a rule."""
        origin = origin_name(origin)
        soa: RR | None = None
        rest: list[RR] = []
        seen: set[RR] = set()
        types_at: dict[Name, set[int]] = {}
        cname_rr: dict[Name, RR] = {}
        apex_ns = False

        def fail(rr: RR, why: str) -> ZoneError:
            return ZoneError(f"zone {origin}: {rr}: {why}")

        for rr in records:
            if rr.rclass != RRClass.IN:
                raise fail(rr, f"class {class_to_text(rr.rclass)}, only IN is served")
            if not rr.name.is_subdomain(origin):
                raise fail(rr, "owner is outside the zone")
            if rr in seen:
                continue
            seen.add(rr)
            if rr.rtype == RRType.SOA:
                if rr.name != origin:
                    raise fail(rr, "SOA below the apex")
                if soa is not None:
                    raise fail(rr, "a second SOA")
                soa = rr
            else:
                rest.append(rr)
            if rr.rtype == RRType.NS and rr.name == origin:
                apex_ns = True
            types = types_at.setdefault(rr.name, set())
            if rr.rtype == RRType.CNAME:
                if rr.name in cname_rr:
                    raise fail(rr, "a second CNAME at one name")
                cname_rr[rr.name] = rr
            if rr.name in cname_rr and (rr.rtype not in _BESIDE_CNAME
                                        or any(t not in _BESIDE_CNAME for t in types)):
                other = rr if rr.rtype != RRType.CNAME else cname_rr[rr.name]
                raise fail(other, "CNAME beside other data")
            types.add(rr.rtype)
        if soa is None:
            raise ZoneError(f"zone {origin}: no SOA record at the apex")
        if not apex_ns:
            raise ZoneError(f"zone {origin}: no NS record at the apex")
        return cls(origin, (soa, *rest))

    @classmethod
    def from_bind_file(cls, path: str | os.PathLike[str],
                       origin: Name | str | None = None) -> Zone:
        """The zone in BIND master-format file ``path``.

        Without ``origin``, relative names in the file are taken relative to the file's name
        (as Twisted's ``--bindzone`` did: ``example.test`` or ``example.test.zone``) and the
        zone's origin is the owner of its SOA. File errors become ZoneError (file:line).
        """
        from .zonefile import load_zone
        filename = os.fspath(path)
        guess: Name | None = None
        if origin is None:
            guess = _origin_from_filename(filename)
        else:
            guess = origin_name(origin)
        try:
            records = load_zone(filename, guess)
        except ZoneFileError as exc:
            raise ZoneError(str(exc)) from None
        return cls.from_records(origin if origin is not None
                                else _soa_owner(records, filename), records)

    @classmethod
    def from_python_file(cls, path: str | os.PathLike[str],
                         origin: Name | str | None = None) -> Zone:
        """The zone a Python source file defines as ``zone = [SOA(...), ...]`` (see
        :mod:`plait.names.pyzone`)."""
        from .pyzone import load_python_zone
        return load_python_zone(path, origin)

    @property
    def soa(self) -> RR:
        """The SOA record."""
        return self.records[0]

    @property
    def serial(self) -> int:
        """The SOA serial."""
        rdata = self.soa.rdata
        assert isinstance(rdata, SOA)
        return rdata.serial

    def __len__(self) -> int:
        return len(self.records)

    def to_text(self) -> str:
        """The zone in master-file form, one absolute record per line (SOA first)."""
        return "".join(f"{rr}\n" for rr in self.records)


def _origin_from_filename(filename: str) -> Name | None:
    base = os.path.basename(filename)
    for suffix in (".zone", ".db"):
        base = base.removesuffix(suffix)
    base = base.removeprefix("db.")
    try:
        return origin_name(base) if base and "." in base.strip(".") else None
    except ZoneError:
        return None


def _soa_owner(records: list[RR], filename: str) -> Name:
    for rr in records:
        if rr.rtype == RRType.SOA:
            return rr.name
    raise ZoneError(f"{filename}: no SOA record, and no origin given")
