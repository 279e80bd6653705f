"""``Time``: one instant plus how precisely it is known.

Why a class of our own rather than bare ``datetime``: a parsed ``2005-01-17`` is a
whole day, not midnight, and mail, HTTP, ISO 8601 and people each write times their
own way.  ``Time`` keeps the instant (an aware UTC ``datetime``) and its resolution
together, so every output can be exactly as precise as its input was.

Resolutions of a day or more describe *floating* calendar dates: they are stored as
midnight UTC of their first day and mean that date in whatever zone is asked about
(``get_bounds(tzinfo)`` gives that zone's midnights).
"""
from __future__ import annotations

import time as _stdlib_time
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from ._common import EPOCH, ONE_DAY, ONE_MICROSECOND, ONE_SECOND, UTC, invalid, utc_midnight
from ._humanly import Precision, format_humanly, parse_humanly
from ._iso8601 import format_iso8601, parse_iso8601
from ._rfc import format_rfc1123, format_rfc2822, parse_http_date, parse_rfc2822

__all__ = ["UTC", "Precision", "Time"]


class Time:
    """An instant with a resolution; ``Time()`` is now, to the microsecond."""

    __slots__ = ("_resolution", "_time")

    _time: datetime
    _resolution: timedelta

    def __init__(self) -> None:
        self._time = datetime.now(UTC)
        self._resolution = ONE_MICROSECOND

    @classmethod
    def _make(cls, instant: datetime, resolution: timedelta) -> Time:
        self = cls.__new__(cls)
        self._time = instant
        self._resolution = resolution
        return self

    @property
    def resolution(self) -> timedelta:
        """How precise the source was: a day for a date, a second for an RFC 2822 time."""
        return self._resolution

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def from_iso8601_time_and_date(cls, text: str, tzinfo: tzinfo | None = None) -> Time:
        """Parse ISO 8601: calendar, week and ordinal dates, reduced precision, times with
        fractions and offsets.  A time without an offset is in ``tzinfo`` (UTC if None)."""
        if not isinstance(text, str):
            raise invalid("an ISO 8601 date and time", text)
        return cls._make(*parse_iso8601(text, tzinfo))

    @classmethod
    def from_rfc2822(cls, text: str) -> Time:
        """Parse a mail ``Date:`` value, obsolete forms (EST, GMT, 2-digit years) too."""
        return cls._make(*parse_rfc2822(text))

    @classmethod
    def from_rfc1123(cls, text: str) -> Time:
        """Parse an HTTP date: RFC 1123, and the RFC 850 and asctime forms HTTP allows."""
        return cls._make(*parse_http_date(text))

    from_http_date = from_rfc1123

    @classmethod
    def from_posix_timestamp(cls, seconds: float) -> Time:
        """Seconds since the epoch, as from ``time.time()``, to the microsecond."""
        try:
            instant = EPOCH + timedelta(seconds=seconds)
        except (OverflowError, TypeError, ValueError):
            raise ValueError(f"not a POSIX timestamp: {seconds!r}") from None
        return cls._make(instant, ONE_MICROSECOND)

    @classmethod
    def from_datetime(cls, dt: datetime) -> Time:
        """A ``datetime``; a naive one is taken to be UTC."""
        if not isinstance(dt, datetime):
            raise TypeError(f"expected a datetime, got {dt!r}")
        aware = dt.replace(tzinfo=UTC) if dt.tzinfo is None or dt.utcoffset() is None else dt
        return cls._make(aware.astimezone(UTC), ONE_MICROSECOND)

    @classmethod
    def from_struct_time(cls, st: _stdlib_time.struct_time | tuple[int, ...],
                         tzinfo: tzinfo | None = None) -> Time:
        """A ``time.struct_time`` read as wall time in ``tzinfo`` (UTC if None), to the
        second; ``tm_isdst`` picks the side of an ambiguous fall-back hour."""
        fields = tuple(st)
        if len(fields) < 6:
            raise ValueError(f"not a struct_time: {st!r}")
        year, month, day, hour, minute, second = (int(v) for v in fields[:6])
        is_dst = int(fields[8]) if len(fields) > 8 else -1
        try:
            local = datetime(year, month, day, hour, minute, min(second, 59),
                             tzinfo=tzinfo or UTC, fold=1 if is_dst == 0 else 0)
        except (ValueError, OverflowError) as error:
            raise ValueError(f"not a struct_time: {st!r} ({error})") from None
        return cls._make(local.astimezone(UTC), ONE_SECOND)

    @classmethod
    def from_humanly(cls, text: str, tzinfo: tzinfo | None = None,
                     now: Time | None = None) -> Time:
        """Parse ``now``, ``today``, ``tomorrow 3pm``, ``next monday``, ``noon``, ``15:30``
        and such, relative to ``now`` (default: the current time) in ``tzinfo``."""
        current = (now if now is not None else cls())._time
        return cls._make(*parse_humanly(text, tzinfo, current))

    # -- outputs ------------------------------------------------------------------------

    def as_iso8601_time_and_date(self, include_delimiters: bool = True,
                                 tzinfo: tzinfo | None = None,
                                 include_timezone: bool = True) -> str:
        """ISO 8601 exactly as precise as the resolution (a date for a day, and so on)."""
        return format_iso8601(self._time, self._resolution, include_delimiters, tzinfo,
                              include_timezone)

    def as_rfc2822(self, tzinfo: tzinfo | None = None, include_day_of_week: bool = True) -> str:
        """``Mon, 17 Jan 2005 10:30:15 +0000`` for a mail ``Date:`` header."""
        return format_rfc2822(self._time, tzinfo, include_day_of_week)

    def as_rfc1123(self) -> str:
        """``Mon, 17 Jan 2005 10:30:15 GMT`` for HTTP headers."""
        return format_rfc1123(self._time)

    as_http_date = as_rfc1123

    def as_posix_timestamp(self) -> float:
        """Seconds since the epoch."""
        return (self._time - EPOCH) / ONE_SECOND

    def as_datetime(self, tzinfo: tzinfo | None = None) -> datetime:
        """An aware ``datetime`` in ``tzinfo`` (UTC if None)."""
        return self._time if tzinfo is None else self._time.astimezone(tzinfo)

    def as_naive_datetime(self, tzinfo: tzinfo | None = None) -> datetime:
        """Wall time in ``tzinfo`` (UTC if None) without a zone, for APIs that want one."""
        return self.as_datetime(tzinfo).replace(tzinfo=None)

    def as_struct_time(self, tzinfo: tzinfo | None = None) -> _stdlib_time.struct_time:
        """A ``time.struct_time`` of the wall time in ``tzinfo`` (UTC if None)."""
        return self.as_datetime(tzinfo).timetuple()

    def as_humanly(self, tzinfo: tzinfo | None = None, now: Time | None = None,
                   precision: Precision = Precision.MINUTES) -> str:
        """``10:30 am`` today, ``Mar 5, 10:30 am`` this year, ``Mar 5 2004, 10:30 am``."""
        current = (now if now is not None else Time())._time
        return format_humanly(self._time, self._resolution, tzinfo, current, precision)

    # -- resolution ---------------------------------------------------------------------

    def get_bounds(self, tzinfo: tzinfo | None = None) -> tuple[Time, Time]:
        """``(start, end)``, end exclusive, covering the resolution.  For floating dates the
        bounds are the midnights of ``tzinfo`` (UTC if None), so a day may be 23 or 25 hours."""
        if self._resolution < ONE_DAY:
            start, end = self._time, self._time + self._resolution
        else:
            first = self._time.date()
            last = first + timedelta(days=self._resolution.days)
            start, end = _local_midnight(first, tzinfo), _local_midnight(last, tzinfo)
        return Time._make(start, ONE_MICROSECOND), Time._make(end, ONE_MICROSECOND)

    def one_day(self, tzinfo: tzinfo | None = None) -> Time:
        """The calendar day (in ``tzinfo``, UTC if None) this instant falls on, all day."""
        day = self._time.date() if self._resolution >= ONE_DAY else self.as_datetime(tzinfo).date()
        return Time._make(utc_midnight(day), ONE_DAY)

    def is_all_day(self) -> bool:
        """True when this is exactly one whole (floating) day, like a parsed date."""
        return self._resolution == ONE_DAY

    # -- arithmetic, ordering, hashing --------------------------------------------------

    def __add__(self, other: Any) -> Time:
        if isinstance(other, timedelta):
            return Time._make(self._time + other, self._resolution)
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, timedelta):
            return Time._make(self._time - other, self._resolution)
        if isinstance(other, Time):
            return self._time - other._time
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        return self._time == other._time if isinstance(other, Time) else NotImplemented

    def __ne__(self, other: object) -> bool:
        return self._time != other._time if isinstance(other, Time) else NotImplemented

    def __lt__(self, other: Time) -> bool:
        return self._time < other._time if isinstance(other, Time) else NotImplemented

    def __le__(self, other: Time) -> bool:
        return self._time <= other._time if isinstance(other, Time) else NotImplemented

    def __gt__(self, other: Time) -> bool:
        return self._time > other._time if isinstance(other, Time) else NotImplemented

    def __ge__(self, other: Time) -> bool:
        return self._time >= other._time if isinstance(other, Time) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._time)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Time._make, (self._time, self._resolution))

    def __repr__(self) -> str:
        return (f"<Time {self._time.isoformat().replace('+00:00', 'Z')} "
                f"resolution={self._resolution!r}>")


def _local_midnight(day: date, zone: tzinfo | None) -> datetime:
    """The first instant of ``day`` in ``zone``.  Where a DST jump skips midnight, fold=0
    reads 00:00 with the offset before the jump: exactly the instant of the jump."""
    return datetime(day.year, day.month, day.day, tzinfo=zone or UTC).astimezone(UTC)
