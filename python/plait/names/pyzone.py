"""Zones written as Python source, as Twisted's ``twistd dns --pyzone`` read them.

A zone file is Python that defines ``zone``, a list of records made by the helpers this
module puts in the file's namespace (the first argument is always the owner name)::

    origin = "example.test"            # optional: names without a final dot are relative
    default_ttl = 3600                 # optional: the TTL of records without ttl=
    zone = [
        SOA("@", mname="ns1", rname="hostmaster", serial=2026112401,
            refresh=3600, retry=600, expire=86400, minimum=300),
        NS("@", "ns1"),
        A("ns1", "192.0.2.1"),
        A("www", "192.0.2.2", ttl=60),
        MX("@", 10, "mail"),
        TXT("@", "v=spf1 -all"),
        record("_sip._udp 300 IN SRV 10 5 5060 sip"),   # any zone-file line
    ]

Without ``origin`` every name is absolute, with or without its final dot (Twisted's
convention): ``A("www.example.test", "192.0.2.2")``. Helpers: ``SOA A AAAA NS CNAME DNAME
PTR MX TXT SPF SRV NAPTR HINFO CAA SSHFP`` and ``record(text)``. A file that does not compile,
raises, or defines a bad ``zone`` gives a :class:`~plait.names.errors.ZoneError` naming the
file and line.
"""
from __future__ import annotations

import ipaddress
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import rdata as rd
from ._tokenizer import ZoneFileError
from .constants import RRClass, RRType
from .errors import ZoneError
from .message import RR
from .name import Name
from .zone import Zone, origin_name

__all__ = ["load_python_zone", "python_zone_namespace"]

DEFAULT_TTL = 3600
MAX_SOURCE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class PendingRecord:
    """A helper's result: built into an RR once the file's origin is known."""

    owner: str
    build: Callable[[Callable[[str], Name]], rd.RData] | None
    ttl: int | None
    line: int
    text: str | None = None   # a record() line, parsed by the zone-file reader


def _caller_line(filename: str) -> int:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return 0


def _data(text: Any) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def python_zone_namespace(filename: str) -> dict[str, Any]:
    """The globals a zone file runs with: the record helpers and ``__file__``."""

    def helper(make: Callable[..., Callable[[Callable[[str], Name]], rd.RData]]) -> Any:
        def record_helper(owner: str, *args: Any, ttl: int | None = None,
                          **kwargs: Any) -> PendingRecord:
            line = _caller_line(filename)
            if not isinstance(owner, str):
                raise TypeError(f"owner name must be text, got {owner!r}")
            return PendingRecord(owner, make(*args, **kwargs), ttl, line)
        record_helper.__name__ = make.__name__
        return record_helper

    def soa(mname: str, rname: str, serial: int, refresh: int = 3600, retry: int = 600,
            expire: int = 604800, minimum: int = 300) -> Callable[[Callable[[str], Name]], rd.RData]:
        return lambda n: rd.SOA(n(mname), n(rname), serial, refresh, retry, expire, minimum)

    def address(cls: type[rd.A | rd.AAAA]) -> Callable[..., Any]:
        parse = ipaddress.IPv4Address if cls is rd.A else ipaddress.IPv6Address

        def make(address: str) -> Callable[[Callable[[str], Name]], rd.RData]:
            value = cls(str(parse(address)))
            return lambda n: value
        make.__name__ = cls.__name__
        return make

    def one_name(cls: type[rd.RData]) -> Callable[..., Any]:
        def make(target: str) -> Callable[[Callable[[str], Name]], rd.RData]:
            return lambda n: cls(n(target))  # type: ignore[call-arg]
        make.__name__ = cls.__name__
        return make

    def mx(preference: int, exchange: str) -> Callable[[Callable[[str], Name]], rd.RData]:
        return lambda n: rd.MX(preference, n(exchange))

    def txt(cls: type[rd.TXT]) -> Callable[..., Any]:
        def make(*strings: str | bytes) -> Callable[[Callable[[str], Name]], rd.RData]:
            value = cls(tuple(_data(s) for s in strings))
            return lambda n: value
        make.__name__ = cls.__name__
        return make

    def srv(priority: int, weight: int, port: int,
            target: str) -> Callable[[Callable[[str], Name]], rd.RData]:
        return lambda n: rd.SRV(priority, weight, port, n(target))

    def naptr(order: int, preference: int, flags: str, services: str, regexp: str,
              replacement: str) -> Callable[[Callable[[str], Name]], rd.RData]:
        return lambda n: rd.NAPTR(order, preference, _data(flags), _data(services),
                                  _data(regexp), n(replacement))

    def hinfo(cpu: str, os: str) -> Callable[[Callable[[str], Name]], rd.RData]:
        value = rd.HINFO(_data(cpu), _data(os))
        return lambda n: value

    def caa(flags: int, tag: str, value: str) -> Callable[[Callable[[str], Name]], rd.RData]:
        data = rd.CAA(flags, _data(tag), _data(value))
        return lambda n: data

    def sshfp(algorithm: int, fp_type: int,
              fingerprint: str) -> Callable[[Callable[[str], Name]], rd.RData]:
        data = rd.SSHFP(algorithm, fp_type, bytes.fromhex(fingerprint))
        return lambda n: data

    def record(text: str) -> PendingRecord:
        if not isinstance(text, str):
            raise TypeError(f"record() takes a zone-file line, got {text!r}")
        return PendingRecord("", None, None, _caller_line(filename), text)

    ns: dict[str, Any] = {
        "__file__": filename, "__name__": "__pyzone__",
        "SOA": helper(soa), "A": helper(address(rd.A)), "AAAA": helper(address(rd.AAAA)),
        "NS": helper(one_name(rd.NS)), "CNAME": helper(one_name(rd.CNAME)),
        "DNAME": helper(one_name(rd.DNAME)), "PTR": helper(one_name(rd.PTR)),
        "MX": helper(mx), "TXT": helper(txt(rd.TXT)), "SPF": helper(txt(rd.SPF)),
        "SRV": helper(srv), "NAPTR": helper(naptr), "HINFO": helper(hinfo),
        "CAA": helper(caa), "SSHFP": helper(sshfp), "record": record,
    }
    return ns


def _error_line(exc: BaseException, filename: str) -> int:
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return exc.lineno or 0
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == filename:
            line = frame.lineno or 0
    return line


def load_python_zone(path: str | os.PathLike[str], origin: Name | str | None = None) -> Zone:
    """Run the zone file at ``path`` and check the zone it defines."""
    filename = os.path.abspath(os.fspath(path))
    shown = os.fspath(path)
    try:
        with open(filename, "rb") as fh:
            source = fh.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise ZoneError(f"{shown}:0: cannot read: {exc.strerror or exc}") from None
    if len(source) > MAX_SOURCE_BYTES:
        raise ZoneError(f"{shown}:0: larger than {MAX_SOURCE_BYTES} bytes")
    namespace = python_zone_namespace(filename)
    try:
        code = compile(source, filename, "exec")
        exec(code, namespace)  # noqa: S102 - a pyzone file is code the operator chose to run
    except Exception as exc:  # noqa: BLE001 - the file is the operator's code: any failure is a zone error
        line = _error_line(exc, filename)
        what = exc.msg if isinstance(exc, SyntaxError) else f"{type(exc).__name__}: {exc}"
        raise ZoneError(f"{shown}:{line}: {what}") from None
    return _build(namespace, shown, origin)


def _build(namespace: dict[str, Any], shown: str, origin: Name | str | None) -> Zone:
    entries = namespace.get("zone")
    if not isinstance(entries, (list, tuple)):
        raise ZoneError(f"{shown}:0: the file must define zone = [SOA(...), ...], "
                        f"got {type(entries).__name__ if 'zone' in namespace else 'nothing'}")
    file_origin = namespace.get("origin")
    base: Name | None = None
    if file_origin is not None:
        if not isinstance(file_origin, str):
            raise ZoneError(f"{shown}:0: origin must be text, got {file_origin!r}")
        base = origin_name(file_origin)
    elif origin is not None:
        base = origin_name(origin)
    ttl_default = namespace.get("default_ttl", DEFAULT_TTL)
    if not isinstance(ttl_default, int) or not 0 <= ttl_default < 2**31:
        raise ZoneError(f"{shown}:0: default_ttl must be an integer TTL, got {ttl_default!r}")
    relative = file_origin is not None

    def to_name(text: str, line: int) -> Name:
        if not isinstance(text, str):
            raise ZoneError(f"{shown}:{line}: a name must be text, got {text!r}")
        try:
            if text == "@":
                if base is None:
                    raise ValueError("'@' needs origin = ... in the file")
                return base
            if relative or text.endswith("."):
                return Name.from_text(text, base)
            return Name.from_text(text + ".")
        except ValueError as exc:
            raise ZoneError(f"{shown}:{line}: bad name {text!r}: {exc}") from None

    records: list[RR] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, PendingRecord):
            raise ZoneError(f"{shown}:0: zone[{index}] is {entry!r}, not a record "
                            "made by SOA(...), A(...) and the other helpers")
        line = entry.line
        if entry.text is not None:
            try:
                records.append(RR.from_text(entry.text, base, ttl_default))
            except ZoneFileError as exc:
                raise ZoneError(f"{shown}:{line}: {exc.message}") from None
            continue
        assert entry.build is not None
        try:
            data = entry.build(lambda t, line=line: to_name(t, line))  # type: ignore[misc]
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ZoneError):
                raise
            raise ZoneError(f"{shown}:{line}: {exc}") from None
        ttl = ttl_default if entry.ttl is None else entry.ttl
        if not isinstance(ttl, int) or not 0 <= ttl < 2**31:
            raise ZoneError(f"{shown}:{line}: bad ttl {ttl!r}")
        records.append(RR(to_name(entry.owner, line), data.type_code(), RRClass.IN, ttl, data))
    zone_origin = origin if origin is not None else base
    if zone_origin is None:
        soas = [rr for rr in records if rr.rtype == RRType.SOA]
        if not soas:
            raise ZoneError(f"{shown}:0: the zone has no SOA record")
        zone_origin = soas[0].name
    return Zone.from_records(zone_origin, records)
