"""Names and helpers shared by the extime parsers and formatters.

Month and day names live here rather than coming from ``strftime`` because the wire
formats (RFC 2822, HTTP dates) must be English whatever the process locale is.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

__all__ = [
    "DAY_ABBREVIATIONS", "DAY_NAMES", "EPOCH", "MONTH_ABBREVIATIONS", "MONTH_NUMBERS",
    "ONE_DAY", "ONE_HOUR", "ONE_MICROSECOND", "ONE_MINUTE", "ONE_SECOND", "ONE_WEEK", "UTC",
    "build", "fixed_offset", "invalid", "offset_text", "utc_midnight",
]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

ONE_MICROSECOND = timedelta(microseconds=1)
ONE_SECOND = timedelta(seconds=1)
ONE_MINUTE = timedelta(minutes=1)
ONE_HOUR = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
ONE_WEEK = timedelta(days=7)

MONTH_ABBREVIATIONS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(MONTH_ABBREVIATIONS, 1)}


def invalid(kind: str, text: object, reason: str | None = None) -> ValueError:
    """A ValueError naming the input, so a bad value in a log line can be found again."""
    message = f"not {kind}: {text!r}"
    return ValueError(f"{message} ({reason})" if reason else message)


def build(kind: str, text: str, year: int, month: int, day: int, hour: int = 0,
          minute: int = 0, second: int = 0, microsecond: int = 0,
          tz: tzinfo = UTC) -> datetime:
    """A datetime from parsed fields; out-of-range fields name the input, not just the field."""
    try:
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=tz)
    except (ValueError, OverflowError) as error:
        raise invalid(kind, text, str(error)) from None


def utc_midnight(day: date) -> datetime:
    """The instant a floating calendar date is stored as: midnight UTC of that date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def offset_text(offset: timedelta, colon: bool) -> str:
    """``+05:30`` / ``+0530`` for a UTC offset (seconds are dropped: no format carries them)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"


def fixed_offset(sign: str, hours: int, minutes: int, kind: str, text: str) -> tzinfo:
    """A fixed-offset zone, rejecting offsets no real zone uses (e.g. ``+25:00``)."""
    if hours > 23 or minutes > 59:
        raise invalid(kind, text, "UTC offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    if not delta:
        return UTC
    return timezone(-delta if sign == "-" else delta)
