"""Mail (RFC 2822) and HTTP (RFC 1123, RFC 850, asctime) dates.

Both are English-only wire formats, so names come from fixed tables, never the locale.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from ._common import (
    DAY_ABBREVIATIONS,
    DAY_NAMES,
    MONTH_ABBREVIATIONS,
    MONTH_NUMBERS,
    ONE_MINUTE,
    ONE_SECOND,
    UTC,
    build,
    fixed_offset,
    invalid,
    offset_text,
)

RFC2822 = "an RFC 2822 date"
HTTP_DATE = "an RFC 1123 (HTTP) date"

_DAYS = {name.lower() for name in DAY_ABBREVIATIONS + DAY_NAMES}

# RFC 2822 section 4.3: the obsolete US zones, and UT/GMT.  Military letters are
# ambiguous in practice (RFC 1123 notes the signs were defined backwards), so they
# mean -0000, "no zone information": UTC.
_NAMED_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}

_COMMENT = re.compile(r"\([^()]*\)")
_RFC2822 = re.compile(
    r"""
    \s*(?:(?P<wday>[A-Za-z]{3,9})\s*,\s*)?
    (?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3})\s+(?P<year>\d{2,4})\s+
    (?P<hour>\d{2})\s*:\s*(?P<minute>\d{2})(?:\s*:\s*(?P<second>\d{2}))?
    \s+(?P<zone>[+-]\d{4}|[A-Za-z]{1,5})\s*
    """,
    re.VERBOSE,
)
_RFC1123 = re.compile(
    r"\s*(?P<wday>[A-Za-z]{3}),\s+(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3})\s+(?P<year>\d{4})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+"
    r"(?P<zone>GMT|UTC|UT|Z|[+-]\d{4})\s*",
    re.IGNORECASE,
)
_RFC850 = re.compile(
    r"\s*(?P<wday>[A-Za-z]{6,9}),\s+(?P<day>\d{1,2})-(?P<month>[A-Za-z]{3})-(?P<year>\d{2}|\d{4})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+(?P<zone>GMT|UTC)\s*",
    re.IGNORECASE,
)
_ASCTIME = re.compile(
    r"\s*(?P<wday>[A-Za-z]{3})\s+(?P<month>[A-Za-z]{3})\s+(?P<day>\d{1,2})\s+"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\s+(?P<year>\d{4})\s*",
)


def _year(digits: str) -> int:
    """RFC 2822 section 4.3: 00-49 are 2000-2049, 50-99 and three digits add 1900."""
    year = int(digits)
    if len(digits) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(digits) == 3:
        return year + 1900
    return year


def _zone(name: str, kind: str, text: str) -> tzinfo:
    if name[0] in "+-":
        return fixed_offset(name[0], int(name[1:3]), int(name[3:5]), kind, text)
    key = name.lower()
    if key in _NAMED_ZONES:
        hours = _NAMED_ZONES[key]
        return fixed_offset("-" if hours < 0 else "+", abs(hours), 0, kind, text)
    if len(key) == 1 and key != "j":
        return UTC
    raise invalid(kind, text, f"unknown time zone {name!r}")


def _build(m: re.Match[str], kind: str, text: str, zone: tzinfo) -> datetime:
    wday = m["wday"]
    if wday is not None and wday.lower() not in _DAYS:
        raise invalid(kind, text, f"unknown day of week {wday!r}")
    month = MONTH_NUMBERS.get(m["month"].lower())
    if month is None:
        raise invalid(kind, text, f"unknown month {m['month']!r}")
    # A leap second (:60) is allowed on the wire; datetime cannot hold it, so clamp.
    second = int(m["second"] or 0)
    if second == 60:
        second = 59
    local = build(kind, text, _year(m["year"]), month, int(m["day"]), int(m["hour"]),
                  int(m["minute"]), second, 0, zone)
    return local.astimezone(UTC)


def parse_rfc2822(text: str) -> tuple[datetime, timedelta]:
    """``(instant in UTC, resolution)`` for an RFC 2822 date, obsolete syntax included:
    comments, two-digit years, named US zones, military zones."""
    m = _RFC2822.fullmatch(_COMMENT.sub(" ", text)) if isinstance(text, str) else None
    if m is None:
        raise invalid(RFC2822, text)
    instant = _build(m, RFC2822, text, _zone(m["zone"], RFC2822, text))
    return instant, (ONE_SECOND if m["second"] is not None else ONE_MINUTE)


def parse_http_date(text: str) -> tuple[datetime, timedelta]:
    """``(instant in UTC, one second)`` for any HTTP-date form (RFC 7231 section 7.1.1.1):
    RFC 1123, RFC 850 and asctime."""
    if isinstance(text, str):
        for pattern in (_RFC1123, _RFC850, _ASCTIME):
            m = pattern.fullmatch(text)
            if m is not None:
                zone = _zone(m["zone"], HTTP_DATE, text) if "zone" in m.re.groupindex else UTC
                return _build(m, HTTP_DATE, text, zone), ONE_SECOND
    raise invalid(HTTP_DATE, text)


def format_rfc2822(instant: datetime, tz: tzinfo | None = None,
                   include_day_of_week: bool = True) -> str:
    """``Mon, 17 Jan 2005 10:30:15 +0000``, in ``tz`` (UTC when None)."""
    local = instant.astimezone(tz or UTC)
    prefix = f"{DAY_ABBREVIATIONS[local.weekday()]}, " if include_day_of_week else ""
    offset = offset_text(local.utcoffset() or timedelta(0), colon=False)
    return (f"{prefix}{local.day:02d} {MONTH_ABBREVIATIONS[local.month - 1]} {local.year:04d} "
            f"{local.hour:02d}:{local.minute:02d}:{local.second:02d} {offset}")


def format_rfc1123(instant: datetime) -> str:
    """``Sun, 06 Nov 1994 08:49:37 GMT``: the one form HTTP senders must use."""
    utc = instant.astimezone(UTC)
    return (f"{DAY_ABBREVIATIONS[utc.weekday()]}, {utc.day:02d} "
            f"{MONTH_ABBREVIATIONS[utc.month - 1]} {utc.year:04d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT")
