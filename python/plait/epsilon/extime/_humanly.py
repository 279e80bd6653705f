"""What people type and read: ``tomorrow 3pm``, ``next monday``, ``10:30 am``.

Parsing is relative to a ``now`` and a zone, both injectable, so results are
reproducible; day names resolve on the calendar of that zone (so "tomorrow noon"
across a DST change is still noon).
"""
from __future__ import annotations

import enum
import re
from datetime import date, datetime, timedelta, tzinfo

from ._common import (
    MONTH_ABBREVIATIONS,
    ONE_DAY,
    ONE_MICROSECOND,
    ONE_MINUTE,
    ONE_SECOND,
    UTC,
    build,
    invalid,
    utc_midnight,
)

KIND = "a humanly readable time"


class Precision(enum.Enum):
    """How much of the clock ``Time.as_humanly`` shows."""

    MINUTES = "minutes"
    SECONDS = "seconds"


_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate((
    ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"),
    ("sun", "sunday"),
)):
    for _name in _names:
        _WEEKDAYS[_name] = _number

_RELATIVE_DAYS = {"today": 0, "tomorrow": 1, "yesterday": -1}
_AM_PM = re.compile(r"\b([ap])\.?m\b\.?")
_DIGIT_THEN_SUFFIX = re.compile(r"(\d)(am|pm)\b")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2})(?::(\d{2}))?)?")


def _tokens(text: str) -> list[str]:
    """Lower-cased words with ``a.m.`` folded to ``am`` and ``3pm`` split to ``3 pm``."""
    folded = _AM_PM.sub(r"\1m", text.lower())
    folded = _DIGIT_THEN_SUFFIX.sub(r"\1 \2", folded)
    return folded.replace(",", " ").split()


def _weekday_date(today: date, weekday: int, relation: str) -> date:
    ahead = (weekday - today.weekday()) % 7
    if relation == "next":
        return today + timedelta(days=ahead or 7)
    if relation == "last":
        return today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
    return today + timedelta(days=ahead)  # bare or "this": today counts


def _clock(text: str, digits: str, suffix: str | None) -> tuple[int, int, int, bool]:
    """``(hour, minute, second, has_seconds)`` from ``15:30`` or ``3:30`` + ``pm``."""
    m = _CLOCK.fullmatch(digits)
    if m is None:
        raise invalid(KIND, text)
    hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if suffix is None:
        if m[2] is None:
            raise invalid(KIND, text, "a bare hour needs am or pm")
        if hour > 23:
            raise invalid(KIND, text, "hour must be in 0..23")
    else:
        if not 1 <= hour <= 12:
            raise invalid(KIND, text, "hour must be in 1..12 with am/pm")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if minute > 59 or second > 59:
        raise invalid(KIND, text, "minute and second must be in 0..59")
    return hour, minute, second, m[3] is not None


def parse_humanly(text: str, tz: tzinfo | None, now: datetime) -> tuple[datetime, timedelta]:
    """``(instant in UTC, resolution)``: a floating day (one-day resolution) for a day
    alone, an instant to the minute (or second) when a clock time is given."""
    if not isinstance(text, str):
        raise invalid(KIND, text)
    zone = tz or UTC
    words = _tokens(text)
    if words == ["now"]:
        return now.astimezone(UTC), ONE_MICROSECOND
    today = now.astimezone(zone).date()
    day: date | None = None
    clock: tuple[int, int, int, bool] | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("at", "on") and i + 1 < len(words):
            i += 1
            continue
        if day is None and word in _RELATIVE_DAYS:
            day = today + timedelta(days=_RELATIVE_DAYS[word])
        elif day is None and word in ("next", "last", "this") and i + 1 < len(words) \
                and words[i + 1] in _WEEKDAYS:
            day = _weekday_date(today, _WEEKDAYS[words[i + 1]], word)
            i += 1
        elif day is None and word in _WEEKDAYS:
            day = _weekday_date(today, _WEEKDAYS[word], "this")
        elif clock is None and word in ("noon", "midnight"):
            clock = (12 if word == "noon" else 0, 0, 0, False)
        elif clock is None and word[:1].isdigit():
            suffix = None
            if i + 1 < len(words) and words[i + 1] in ("am", "pm"):
                suffix = words[i + 1]
                i += 1
            clock = _clock(text, word, suffix)
        else:
            raise invalid(KIND, text)
        i += 1
    if clock is None:
        if day is None:
            raise invalid(KIND, text)
        return utc_midnight(day), ONE_DAY
    day = day or today
    hour, minute, second, has_seconds = clock
    local = build(KIND, text, day.year, day.month, day.day, hour, minute, second, 0, zone)
    return local.astimezone(UTC), (ONE_SECOND if has_seconds else ONE_MINUTE)


def _date_text(day: date, this_year: int) -> str:
    text = f"{MONTH_ABBREVIATIONS[day.month - 1]} {day.day}"
    return text if day.year == this_year else f"{text} {day.year}"


def format_humanly(instant: datetime, resolution: timedelta, tz: tzinfo | None,
                   now: datetime, precision: Precision) -> str:
    """``10:30 am`` today, ``Mar 5, 10:30 am`` this year, ``Mar 5 2004, 10:30 am`` before;
    floating days read ``all day`` (today), ``Mar 5``, ``Mar 2005`` or ``2005``."""
    if not isinstance(precision, Precision):
        raise TypeError(f"not a Precision: {precision!r}")
    zone = tz or UTC
    today = now.astimezone(zone).date()
    if resolution >= ONE_DAY:
        day = instant.astimezone(UTC).date()
        if resolution >= timedelta(days=365):
            return str(day.year)
        if resolution >= timedelta(days=28):
            return f"{MONTH_ABBREVIATIONS[day.month - 1]} {day.year}"
        if day == today and resolution == ONE_DAY:
            return "all day"
        return _date_text(day, today.year)
    local = instant.astimezone(zone)
    clock = f"{local.hour % 12 or 12}:{local.minute:02d}"
    if precision is Precision.SECONDS:
        clock += f":{local.second:02d}"
    clock += " am" if local.hour < 12 else " pm"
    if local.date() == today:
        return clock
    return f"{_date_text(local.date(), today.year)}, {clock}"
