"""extime.Time.from_humanly / as_humanly with a fixed now, in New York and UTC."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from plait.epsilon.extime import UTC, Precision, Time

NY = ZoneInfo("America/New_York")
# Saturday 2024-03-09, 12:00 in New York (17:00 UTC); DST starts Sunday 2024-03-10 02:00.
NOW = Time.from_iso8601_time_and_date("2024-03-09T17:00:00Z")
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)

HUMANLY_NY = [
    # text, ISO output in New York (dates are floating), resolution
    ("today", "2024-03-09", DAY),
    ("Today", "2024-03-09", DAY),
    ("tomorrow", "2024-03-10", DAY),
    ("yesterday", "2024-03-08", DAY),
    ("saturday", "2024-03-09", DAY),          # a bare weekday: today counts
    ("this saturday", "2024-03-09", DAY),
    ("next saturday", "2024-03-16", DAY),
    ("last saturday", "2024-03-02", DAY),
    ("monday", "2024-03-11", DAY),
    ("next monday", "2024-03-11", DAY),
    ("last friday", "2024-03-08", DAY),
    ("friday", "2024-03-15", DAY),
    ("Sun", "2024-03-10", DAY),
    ("next tues", "2024-03-12", DAY),
    ("noon", "2024-03-09T12:00-05:00", MINUTE),
    ("midnight", "2024-03-09T00:00-05:00", MINUTE),
    ("3pm", "2024-03-09T15:00-05:00", MINUTE),
    ("3 pm", "2024-03-09T15:00-05:00", MINUTE),
    ("3 PM", "2024-03-09T15:00-05:00", MINUTE),
    ("3:30 p.m.", "2024-03-09T15:30-05:00", MINUTE),
    ("10:30 am", "2024-03-09T10:30-05:00", MINUTE),
    ("10:30am", "2024-03-09T10:30-05:00", MINUTE),
    ("12am", "2024-03-09T00:00-05:00", MINUTE),
    ("12pm", "2024-03-09T12:00-05:00", MINUTE),
    ("12:15 am", "2024-03-09T00:15-05:00", MINUTE),
    ("15:30", "2024-03-09T15:30-05:00", MINUTE),
    ("00:05", "2024-03-09T00:05-05:00", MINUTE),
    ("15:30:45", "2024-03-09T15:30:45-05:00", timedelta(seconds=1)),
    ("at 3pm", "2024-03-09T15:00-05:00", MINUTE),
    # the day after is in daylight time: noon is still noon
    ("tomorrow 3pm", "2024-03-10T15:00-04:00", MINUTE),
    ("tomorrow at 3pm", "2024-03-10T15:00-04:00", MINUTE),
    ("3pm tomorrow", "2024-03-10T15:00-04:00", MINUTE),
    ("noon tomorrow", "2024-03-10T12:00-04:00", MINUTE),
    ("tomorrow noon", "2024-03-10T12:00-04:00", MINUTE),
    ("midnight tomorrow", "2024-03-10T00:00-05:00", MINUTE),
    ("next monday 9:15 am", "2024-03-11T09:15-04:00", MINUTE),
    ("monday, 9:15am", "2024-03-11T09:15-04:00", MINUTE),
    ("9:15am on monday", "2024-03-11T09:15-04:00", MINUTE),
    ("yesterday 23:59", "2024-03-08T23:59-05:00", MINUTE),
    ("last friday 5pm", "2024-03-08T17:00-05:00", MINUTE),
    # 02:30 on the spring-forward day does not exist; read with the offset before the jump
    ("tomorrow 2:30am", "2024-03-10T03:30-04:00", MINUTE),
]


@pytest.mark.parametrize(("text", "expected", "resolution"), HUMANLY_NY)
def test_humanly_in_new_york(text: str, expected: str, resolution: timedelta) -> None:
    t = Time.from_humanly(text, NY, NOW)
    assert t.as_iso8601_time_and_date(tzinfo=NY) == expected
    assert t.resolution == resolution


HUMANLY_UTC = [
    ("today", "2024-03-09"),
    ("tomorrow", "2024-03-10"),
    ("3pm", "2024-03-09T15:00Z"),
    ("tomorrow 3pm", "2024-03-10T15:00Z"),
    ("noon", "2024-03-09T12:00Z"),
    ("next monday", "2024-03-11"),
]


@pytest.mark.parametrize(("text", "expected"), HUMANLY_UTC)
def test_humanly_in_utc(text: str, expected: str) -> None:
    assert Time.from_humanly(text, UTC, NOW).as_iso8601_time_and_date() == expected
    assert Time.from_humanly(text, None, NOW).as_iso8601_time_and_date() == expected


def test_humanly_today_depends_on_the_zone() -> None:
    late = Time.from_iso8601_time_and_date("2024-03-10T03:00Z")  # still the 9th in New York
    assert Time.from_humanly("today", NY, late).as_iso8601_time_and_date() == "2024-03-09"
    assert Time.from_humanly("today", UTC, late).as_iso8601_time_and_date() == "2024-03-10"


def test_humanly_now() -> None:
    t = Time.from_humanly("now", NY, NOW)
    assert t == NOW
    assert t.resolution == timedelta(microseconds=1)
    assert Time.from_humanly("  NOW ") <= Time()


def test_humanly_fall_back_ambiguous_hour_takes_the_first() -> None:
    before = Time.from_iso8601_time_and_date("2024-11-02T16:00Z")  # Saturday in New York
    t = Time.from_humanly("tomorrow 1:30am", NY, before)
    assert t.as_iso8601_time_and_date(tzinfo=NY) == "2024-11-03T01:30-04:00"


def test_humanly_days_have_local_bounds() -> None:
    start, end = Time.from_humanly("tomorrow", NY, NOW).get_bounds(NY)
    assert start.as_iso8601_time_and_date(tzinfo=NY) == "2024-03-10T00:00:00.000000-05:00"
    assert end.as_iso8601_time_and_date(tzinfo=NY) == "2024-03-11T00:00:00.000000-04:00"
    assert end - start == timedelta(hours=23)


HUMANLY_BAD = [
    "", "   ", "whenever", "3", "tomorrow 3", "13pm", "0am", "25:00", "10:61",
    "10:30:61", "today tomorrow", "3pm 4pm", "next", "next week", "last 3pm",
    "tomorrow at", "monday friday", "noon midnight", "3pm garbage", "now tomorrow",
]


@pytest.mark.parametrize("text", HUMANLY_BAD)
def test_humanly_errors_name_the_input(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Time.from_humanly(text, NY, NOW)
    assert str(caught.value).startswith(f"not a humanly readable time: {text!r}")


# -- as_humanly -----------------------------------------------------------------------------

AS_HUMANLY = [
    # ISO input, New York output, UTC output
    ("2024-03-09T15:30:00Z", "10:30 am", "3:30 pm"),
    ("2024-03-09T17:05:00Z", "12:05 pm", "5:05 pm"),
    ("2024-03-09T05:00:00Z", "12:00 am", "5:00 am"),
    ("2024-03-09T02:00:00Z", "Mar 8, 9:00 pm", "2:00 am"),
    ("2024-03-05T15:30:00Z", "Mar 5, 10:30 am", "Mar 5, 3:30 pm"),
    ("2004-03-05T15:30:00Z", "Mar 5 2004, 10:30 am", "Mar 5 2004, 3:30 pm"),
    ("2025-01-01T03:00:00Z", "Dec 31, 10:00 pm", "Jan 1 2025, 3:00 am"),
    ("2024-03-09", "all day", "all day"),
    ("2024-03-05", "Mar 5", "Mar 5"),
    ("2004-03-05", "Mar 5 2004", "Mar 5 2004"),
    ("2004-03", "Mar 2004", "Mar 2004"),
    ("2004", "2004", "2004"),
]


@pytest.mark.parametrize(("text", "in_new_york", "in_utc"), AS_HUMANLY)
def test_as_humanly(text: str, in_new_york: str, in_utc: str) -> None:
    t = Time.from_iso8601_time_and_date(text)
    assert t.as_humanly(NY, NOW) == in_new_york
    assert t.as_humanly(now=NOW) == in_utc


def test_as_humanly_precision_seconds() -> None:
    t = Time.from_iso8601_time_and_date("2024-03-09T15:30:07Z")
    assert t.as_humanly(NY, NOW, Precision.SECONDS) == "10:30:07 am"
    assert t.as_humanly(NY, NOW, precision=Precision.MINUTES) == "10:30 am"
    earlier = Time.from_iso8601_time_and_date("2023-03-09T15:30:07Z")
    assert earlier.as_humanly(NY, NOW, Precision.SECONDS) == "Mar 9 2023, 10:30:07 am"
    with pytest.raises(TypeError, match="not a Precision: 'hours'"):
        t.as_humanly(NY, NOW, "hours")  # type: ignore[arg-type]


def test_as_humanly_defaults_to_the_current_time() -> None:
    assert Time().as_humanly().endswith(("am", "pm"))


@pytest.mark.parametrize(("text", "_expected", "_resolution"), HUMANLY_NY)
def test_humanly_round_trips_through_as_humanly(text: str, _expected: str,
                                                _resolution: timedelta) -> None:
    t = Time.from_humanly(text, NY, NOW)
    shown = t.as_humanly(NY, NOW, Precision.SECONDS)
    if t.is_all_day() or "," in shown:
        return  # "Mar 10" and "Mar 10, 3:00 pm" are outputs, not humanly inputs
    assert Time.from_humanly(shown, NY, NOW) == t
