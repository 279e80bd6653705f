"""ISO 8601 dates and times: the profile people actually write, parsed with one regex.

Dates with day precision or coarser (``2005-01-17``, ``2005-W03``, ``2005-01``) are
*floating*: they name calendar days, not instants, so they carry no offset and are
stored as midnight UTC of their first day (see ``Time.get_bounds`` for local bounds).
"""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta, tzinfo

from ._common import (
    ONE_DAY,
    ONE_HOUR,
    ONE_MICROSECOND,
    ONE_MINUTE,
    ONE_SECOND,
    ONE_WEEK,
    UTC,
    build,
    fixed_offset,
    invalid,
    offset_text,
    utc_midnight,
)

KIND = "an ISO 8601 date and time"

# Alternatives are ordered so that a longer form is tried first: ``-DDD`` (ordinal)
# before ``-MM``, ``MMDD`` before ``DDD``.  Basic ``YYYYMM`` is not ISO 8601 and fails.
_ISO8601 = re.compile(
    r"""
    \s*
    (?P<year>\d{4})
    (?:
        -W(?P<xweek>\d{2})(?:-(?P<xwday>\d))?
      | -(?P<xyday>\d{3})(?!\d)
      | -(?P<xmonth>\d{2})(?:-(?P<xday>\d{2}))?
      | W(?P<bweek>\d{2})(?P<bwday>\d)?
      | (?P<bmonth>\d{2})(?P<bday>\d{2})
      | (?P<byday>\d{3})
    )?
    (?:
        [Tt\ ]
        (?P<hour>\d{2})
        (?: :?(?P<minute>\d{2})
            (?: :?(?P<second>\d{2}) (?:[.,](?P<fraction>\d+))? )?
        )?
        (?P<zone>[Zz]|(?P<sign>[+-])(?P<zhour>\d{2})(?::?(?P<zminute>\d{2}))?)?
    )?
    \s*
    """,
    re.VERBOSE,
)


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None:
            return value
    return None


def _parse_date(text: str, m: re.Match[str]) -> tuple[date, timedelta, bool]:
    """The first day, the resolution, and whether the date is precise to the day."""
    year = int(m["year"])
    week = _first(m["xweek"], m["bweek"])
    yday = _first(m["xyday"], m["byday"])
    month = _first(m["xmonth"], m["bmonth"])
    day = _first(m["xday"], m["bday"])
    try:
        if week is not None:
            weekday = _first(m["xwday"], m["bwday"])
            first = date.fromisocalendar(year, int(week), int(weekday or 1))
            return first, (ONE_DAY if weekday else ONE_WEEK), weekday is not None
        if yday is not None:
            ordinal = int(yday)
            length = 366 if calendar.isleap(year) else 365
            if not 1 <= ordinal <= length:
                raise ValueError(f"day of year must be in 1..{length}")
            return date(year, 1, 1) + timedelta(days=ordinal - 1), ONE_DAY, True
        if month is None:
            first = date(year, 1, 1)
            return first, timedelta(days=366 if calendar.isleap(year) else 365), False
        if day is None:
            first = date(year, int(month), 1)
            return first, timedelta(days=calendar.monthrange(year, first.month)[1]), False
        return date(year, int(month), int(day)), ONE_DAY, True
    except ValueError as error:
        raise invalid(KIND, text, str(error)) from None


def parse_iso8601(text: str, default_tz: tzinfo | None = None) -> tuple[datetime, timedelta]:
    """``(instant in UTC, resolution)`` for ISO 8601 text; times without an offset are in
    ``default_tz`` (UTC when None)."""
    m = _ISO8601.fullmatch(text)
    if m is None:
        raise invalid(KIND, text)
    first, resolution, to_the_day = _parse_date(text, m)
    if m["hour"] is None:
        return utc_midnight(first), resolution
    if not to_the_day:
        raise invalid(KIND, text, "a time needs a full date")

    hour = int(m["hour"])
    minute = int(m["minute"] or 0)
    second = int(m["second"] or 0)
    fraction = m["fraction"]
    microsecond = int(fraction[:6].ljust(6, "0")) if fraction else 0
    if fraction:
        resolution = timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
    elif m["second"] is not None:
        resolution = ONE_SECOND
    elif m["minute"] is not None:
        resolution = ONE_MINUTE
    else:
        resolution = ONE_HOUR

    zone: tzinfo
    if m["zone"] is None:
        zone = default_tz or UTC
    elif m["sign"] is None:
        zone = UTC
    else:
        zone = fixed_offset(m["sign"], int(m["zhour"]), int(m["zminute"] or 0), KIND, text)

    end_of_day = hour == 24
    if end_of_day:
        if minute or second or microsecond:
            raise invalid(KIND, text, "24:00 is the only time with hour 24")
        hour = 0
    local = build(KIND, text, first.year, first.month, first.day, hour, minute, second,
                  microsecond, zone)
    if end_of_day:
        local = local.replace(tzinfo=None) + ONE_DAY
        local = local.replace(tzinfo=zone)
    return local.astimezone(UTC), resolution


def _fraction_digits(resolution: timedelta) -> int:
    """How many decimals of a second a sub-second resolution needs (1 ms -> 3)."""
    micros = resolution.microseconds or 1
    digits = 6
    while digits > 1 and micros % 10 == 0:
        micros //= 10
        digits -= 1
    return digits


def format_iso8601(instant: datetime, resolution: timedelta, include_delimiters: bool = True,
                   tz: tzinfo | None = None, include_timezone: bool = True) -> str:
    """ISO 8601 text as precise as ``resolution``: a year, month, week, day, or a time."""
    dash = "-" if include_delimiters else ""
    if resolution >= ONE_DAY:
        day = instant.astimezone(UTC).date()
        if resolution >= timedelta(days=365):
            return f"{day.year:04d}"
        if resolution >= timedelta(days=28):
            return f"{day.year:04d}-{day.month:02d}"  # ISO 8601 has no basic YYYYMM
        if resolution == ONE_WEEK and day.weekday() == 0:
            year, week, _ = day.isocalendar()
            return f"{year:04d}{dash}W{week:02d}"
        return f"{day.year:04d}{dash}{day.month:02d}{dash}{day.day:02d}"

    local = instant.astimezone(tz or UTC)
    colon = ":" if include_delimiters else ""
    text = f"{local.year:04d}{dash}{local.month:02d}{dash}{local.day:02d}T{local.hour:02d}"
    if resolution < ONE_HOUR:
        text += f"{colon}{local.minute:02d}"
    if resolution < ONE_MINUTE:
        text += f"{colon}{local.second:02d}"
    if resolution < ONE_SECOND:
        digits = _fraction_digits(max(resolution, ONE_MICROSECOND))
        text += f".{local.microsecond // 10 ** (6 - digits):0{digits}d}"
    if include_timezone:
        if tz is None:
            text += "Z"
        else:
            text += offset_text(local.utcoffset() or timedelta(0), include_delimiters)
    return text
