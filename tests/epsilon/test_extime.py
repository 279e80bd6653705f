"""extime.Time: ISO 8601, RFC 2822, HTTP dates, conversions, resolution, arithmetic."""
from __future__ import annotations

import pickle
import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from plait.epsilon.extime import UTC, Time

NY = ZoneInfo("America/New_York")
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        microsecond: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


# -- ISO 8601 -----------------------------------------------------------------------------

ISO_PARSE = [
    # text, instant (UTC), resolution, canonical output
    ("2005-01-17", utc(2005, 1, 17), DAY, "2005-01-17"),
    ("20050117", utc(2005, 1, 17), DAY, "2005-01-17"),
    ("2005-01", utc(2005, 1, 1), timedelta(days=31), "2005-01"),
    ("2005-02", utc(2005, 2, 1), timedelta(days=28), "2005-02"),
    ("2004-02", utc(2004, 2, 1), timedelta(days=29), "2004-02"),
    ("2005", utc(2005, 1, 1), timedelta(days=365), "2005"),
    ("2004", utc(2004, 1, 1), timedelta(days=366), "2004"),
    ("2005-W03-1", utc(2005, 1, 17), DAY, "2005-01-17"),
    ("2005W031", utc(2005, 1, 17), DAY, "2005-01-17"),
    ("2005-W03-7", utc(2005, 1, 23), DAY, "2005-01-23"),
    ("2005-W03", utc(2005, 1, 17), timedelta(days=7), "2005-W03"),
    ("2005W03", utc(2005, 1, 17), timedelta(days=7), "2005-W03"),
    ("2009-W01-1", utc(2008, 12, 29), DAY, "2008-12-29"),  # week 1 starts in the prior year
    ("2004-W53-7", utc(2005, 1, 2), DAY, "2005-01-02"),
    ("2005-017", utc(2005, 1, 17), DAY, "2005-01-17"),
    ("2005017", utc(2005, 1, 17), DAY, "2005-01-17"),
    ("2004-366", utc(2004, 12, 31), DAY, "2004-12-31"),
    ("2005-01-17T10", utc(2005, 1, 17, 10), timedelta(hours=1), "2005-01-17T10Z"),
    ("2005-01-17T10:30", utc(2005, 1, 17, 10, 30), MINUTE, "2005-01-17T10:30Z"),
    ("2005-01-17T10:30:15", utc(2005, 1, 17, 10, 30, 15), SECOND, "2005-01-17T10:30:15Z"),
    ("2005-01-17T10:30:15Z", utc(2005, 1, 17, 10, 30, 15), SECOND, "2005-01-17T10:30:15Z"),
    ("2005-01-17t10:30:15z", utc(2005, 1, 17, 10, 30, 15), SECOND, "2005-01-17T10:30:15Z"),
    ("2005-01-17 10:30:15Z", utc(2005, 1, 17, 10, 30, 15), SECOND, "2005-01-17T10:30:15Z"),
    ("20050117T103015Z", utc(2005, 1, 17, 10, 30, 15), SECOND, "2005-01-17T10:30:15Z"),
    ("2005-01-17T10:30:15.5Z", utc(2005, 1, 17, 10, 30, 15, 500000),
     timedelta(milliseconds=100), "2005-01-17T10:30:15.5Z"),
    ("2005-01-17T10:30:15,123Z", utc(2005, 1, 17, 10, 30, 15, 123000),
     timedelta(milliseconds=1), "2005-01-17T10:30:15.123Z"),
    ("2005-01-17T10:30:15.123456Z", utc(2005, 1, 17, 10, 30, 15, 123456),
     timedelta(microseconds=1), "2005-01-17T10:30:15.123456Z"),
    ("2005-01-17T10:30:15.1234567Z", utc(2005, 1, 17, 10, 30, 15, 123456),
     timedelta(microseconds=1), "2005-01-17T10:30:15.123456Z"),
    ("2005-01-17T10:30:15+05:30", utc(2005, 1, 17, 5, 0, 15), SECOND, "2005-01-17T05:00:15Z"),
    ("2005-01-17T10:30:15-0800", utc(2005, 1, 17, 18, 30, 15), SECOND, "2005-01-17T18:30:15Z"),
    ("2005-01-17T10:30-08", utc(2005, 1, 17, 18, 30), MINUTE, "2005-01-17T18:30Z"),
    ("2005-01-17T10:30:15+00:00", utc(2005, 1, 17, 10, 30, 15), SECOND, "2005-01-17T10:30:15Z"),
    ("2005-01-17T23:30-05:00", utc(2005, 1, 18, 4, 30), MINUTE, "2005-01-18T04:30Z"),
    ("2005-W03-1T10:30Z", utc(2005, 1, 17, 10, 30), MINUTE, "2005-01-17T10:30Z"),
    ("2005-017T10:30Z", utc(2005, 1, 17, 10, 30), MINUTE, "2005-01-17T10:30Z"),
    ("2005-01-17T24:00", utc(2005, 1, 18), MINUTE, "2005-01-18T00:00Z"),
    ("2004-12-31T24:00:00Z", utc(2005, 1, 1), SECOND, "2005-01-01T00:00:00Z"),
    ("  2005-01-17  ", utc(2005, 1, 17), DAY, "2005-01-17"),
]


@pytest.mark.parametrize(("text", "instant", "resolution", "canonical"), ISO_PARSE)
def test_iso8601_parse(text: str, instant: datetime, resolution: timedelta,
                       canonical: str) -> None:
    t = Time.from_iso8601_time_and_date(text)
    assert t.as_datetime() == instant
    assert t.resolution == resolution
    assert t.as_iso8601_time_and_date() == canonical
    again = Time.from_iso8601_time_and_date(canonical)  # round trip
    assert (again, again.resolution) == (t, t.resolution)


@pytest.mark.parametrize(("text", "instant", "resolution", "canonical"), ISO_PARSE)
def test_iso8601_basic_format_round_trips(text: str, instant: datetime,
                                          resolution: timedelta, canonical: str) -> None:
    t = Time.from_iso8601_time_and_date(text)
    basic = t.as_iso8601_time_and_date(include_delimiters=False)
    assert ":" not in basic
    again = Time.from_iso8601_time_and_date(basic)
    assert (again, again.resolution) == (t, t.resolution)


def test_iso8601_outputs_in_a_zone() -> None:
    t = Time.from_iso8601_time_and_date("2005-01-17T15:30:15Z")
    assert t.as_iso8601_time_and_date(tzinfo=NY) == "2005-01-17T10:30:15-05:00"
    assert t.as_iso8601_time_and_date(False, NY) == "20050117T103015-0500"
    assert t.as_iso8601_time_and_date(tzinfo=NY, include_timezone=False) == "2005-01-17T10:30:15"
    assert t.as_iso8601_time_and_date(include_timezone=False) == "2005-01-17T15:30:15"
    summer = Time.from_iso8601_time_and_date("2005-07-17T15:30:15Z")
    assert summer.as_iso8601_time_and_date(tzinfo=NY) == "2005-07-17T11:30:15-04:00"
    india = timezone(timedelta(hours=5, minutes=30))
    assert t.as_iso8601_time_and_date(tzinfo=india) == "2005-01-17T21:00:15+05:30"
    # A date is a floating calendar day: no zone shifts it.
    day = Time.from_iso8601_time_and_date("2005-01-17")
    assert day.as_iso8601_time_and_date(tzinfo=NY) == "2005-01-17"


def test_iso8601_time_without_offset_uses_given_zone() -> None:
    t = Time.from_iso8601_time_and_date("2005-07-01T12:00", tzinfo=NY)
    assert t.as_datetime() == utc(2005, 7, 1, 16)
    assert Time.from_iso8601_time_and_date("2005-07-01T12:00Z", tzinfo=NY).as_datetime() \
        == utc(2005, 7, 1, 12)


def test_iso8601_microsecond_time_round_trips() -> None:
    t = Time.from_datetime(datetime(2005, 1, 17, 10, 30, 15, 1))
    assert t.as_iso8601_time_and_date() == "2005-01-17T10:30:15.000001Z"
    assert Time.from_iso8601_time_and_date(t.as_iso8601_time_and_date()) == t


ISO_BAD = [
    "", "x", "2005-13-45", "2005-02-30", "2005-00-10", "2005-13", "2005-W54", "2005-W00",
    "2005-W03-8", "2005-000", "2005-366", "200501", "05-01-17", "2005-1-17", "2005-01-17T",
    "2005-01-17T25:00", "2005-01-17T10:60", "2005-01-17T10:30:61", "2005-01-17T24:30",
    "2005-01-17T10:30+25:00", "2005-01-17T10:30+05:60", "2005-01T10:00", "2005T10:00",
    "2005-01-17T10:30:15.Z", "2005-01-17X10:30", "2005-01-17T10:30 Z", "0000-01-01",
    "2005-01-17 garbage", "2005-01-17+05:00",
]


@pytest.mark.parametrize("text", ISO_BAD)
def test_iso8601_errors_name_the_input(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Time.from_iso8601_time_and_date(text)
    assert str(caught.value).startswith(f"not an ISO 8601 date and time: {text!r}")


def test_iso8601_error_message_exactly() -> None:
    with pytest.raises(ValueError, match=r"^not an ISO 8601 date and time: '2005-13-45'"):
        Time.from_iso8601_time_and_date("2005-13-45")


def test_iso8601_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="20050117"):
        Time.from_iso8601_time_and_date(20050117)  # type: ignore[arg-type]


# -- RFC 2822 -----------------------------------------------------------------------------

RFC2822_PARSE = [
    ("Mon, 17 Jan 2005 10:30:15 +0000", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 -0500", utc(2005, 1, 17, 15, 30, 15), SECOND),
    ("17 Jan 2005 10:30:15 +0530", utc(2005, 1, 17, 5, 0, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30 +0000", utc(2005, 1, 17, 10, 30), MINUTE),
    ("Mon, 7 Jan 2005 10:30:15 GMT", utc(2005, 1, 7, 10, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 UT", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 EST", utc(2005, 1, 17, 15, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 EDT", utc(2005, 1, 17, 14, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 CST", utc(2005, 1, 17, 16, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 CDT", utc(2005, 1, 17, 15, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 MST", utc(2005, 1, 17, 17, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 MDT", utc(2005, 1, 17, 16, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 PST", utc(2005, 1, 17, 18, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 PDT", utc(2005, 1, 17, 17, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 Z", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 A", utc(2005, 1, 17, 10, 30, 15), SECOND),  # military: -0000
    ("Mon, 17 Jan 05 10:30:15 +0000", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Sun, 17 Jan 99 10:30:15 +0000", utc(1999, 1, 17, 10, 30, 15), SECOND),
    ("Mon, 17 Jan 105 10:30:15 +0000", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Mon , 17 Jan 2005 10 : 30 : 15 +0000", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Mon, 17 Jan 2005 10:30:15 +0000 (UTC)", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("Mon, (comment) 17 Jan 2005 10:30:15 +0000", utc(2005, 1, 17, 10, 30, 15), SECOND),
    ("mon, 17 jan 2005 10:30:15 est", utc(2005, 1, 17, 15, 30, 15), SECOND),
    ("Sat, 31 Dec 2005 23:59:60 +0000", utc(2005, 12, 31, 23, 59, 59), SECOND),  # leap second
]


@pytest.mark.parametrize(("text", "instant", "resolution"), RFC2822_PARSE)
def test_rfc2822_parse(text: str, instant: datetime, resolution: timedelta) -> None:
    t = Time.from_rfc2822(text)
    assert t.as_datetime() == instant
    assert t.resolution == resolution
    assert Time.from_rfc2822(t.as_rfc2822()) == t


def test_rfc2822_output() -> None:
    t = Time.from_iso8601_time_and_date("2005-01-17T15:30:15Z")
    assert t.as_rfc2822() == "Mon, 17 Jan 2005 15:30:15 +0000"
    assert t.as_rfc2822(NY) == "Mon, 17 Jan 2005 10:30:15 -0500"
    assert t.as_rfc2822(include_day_of_week=False) == "17 Jan 2005 15:30:15 +0000"
    assert t.as_rfc2822(ZoneInfo("Asia/Kolkata")) == "Mon, 17 Jan 2005 21:00:15 +0530"
    assert Time.from_rfc2822(t.as_rfc2822(NY)) == t
    assert Time.from_rfc2822(t.as_rfc2822(include_day_of_week=False)) == t


RFC2822_BAD = [
    "", "garbage", "Mon, 17 Jan 2005", "Mon, 17 Foo 2005 10:30:15 +0000",
    "Xyz, 17 Jan 2005 10:30:15 +0000", "Mon, 30 Feb 2005 10:30:15 +0000",
    "Mon, 17 Jan 2005 25:30:15 +0000", "Mon, 17 Jan 2005 10:30:15 +9900",
    "Mon, 17 Jan 2005 10:30:15 J", "Mon, 17 Jan 2005 10:30:15 XYZ",
    "Mon, 17 Jan 2005 10:30:15", "Mon, 17 Jan 2005 10:61:15 +0000",
]


@pytest.mark.parametrize("text", RFC2822_BAD)
def test_rfc2822_errors_name_the_input(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Time.from_rfc2822(text)
    assert str(caught.value).startswith(f"not an RFC 2822 date: {text!r}")


# -- HTTP dates ---------------------------------------------------------------------------

HTTP_PARSE = [
    "Sun, 06 Nov 1994 08:49:37 GMT",     # RFC 1123
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",    # RFC 850
    "Sunday, 06-Nov-1994 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",          # asctime
    "Sun Nov 6 08:49:37 1994",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 03:49:37 -0500",
    "sun, 06 nov 1994 08:49:37 gmt",
]


@pytest.mark.parametrize("text", HTTP_PARSE)
def test_http_date_forms(text: str) -> None:
    t = Time.from_rfc1123(text)
    assert t.as_datetime() == utc(1994, 11, 6, 8, 49, 37)
    assert t.resolution == SECOND
    assert t.as_rfc1123() == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert Time.from_rfc1123(t.as_rfc1123()) == t
    assert Time.from_http_date(text) == t


def test_rfc1123_output_is_always_gmt() -> None:
    t = Time.from_iso8601_time_and_date("2005-07-04T23:05:09-04:00")
    assert t.as_rfc1123() == "Tue, 05 Jul 2005 03:05:09 GMT"
    assert t.as_http_date() == t.as_rfc1123()


HTTP_BAD = [
    "", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 08:49:37 EST",
    "Sun, 31 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 PST",
    "Sun Nov  6 08:49:37", "Sun, 06 Nov 94 08:49:37 GMT", "1994-11-06T08:49:37Z",
    "Sun, 06 Non 1994 08:49:37 GMT",
]


@pytest.mark.parametrize("text", HTTP_BAD)
def test_http_date_errors_name_the_input(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Time.from_rfc1123(text)
    assert str(caught.value).startswith(f"not an RFC 1123 (HTTP) date: {text!r}")


# -- POSIX, datetime, struct_time -----------------------------------------------------------

def test_posix_timestamp() -> None:
    t = Time.from_posix_timestamp(1105957815.25)
    assert t.as_datetime() == utc(2005, 1, 17, 10, 30, 15, 250000)
    assert t.as_posix_timestamp() == 1105957815.25
    assert Time.from_posix_timestamp(0).as_datetime() == utc(1970, 1, 1)
    assert Time.from_posix_timestamp(-86400).as_datetime() == utc(1969, 12, 31)
    assert Time.from_posix_timestamp(1105957815).as_posix_timestamp() == 1105957815


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1e20, "12"])
def test_posix_timestamp_errors_name_the_input(bad: object) -> None:
    with pytest.raises(ValueError, match=re.escape(f"not a POSIX timestamp: {bad!r}")):
        Time.from_posix_timestamp(bad)  # type: ignore[arg-type]


def test_datetime_round_trips() -> None:
    naive = datetime(2005, 1, 17, 10, 30, 15, 123456)
    t = Time.from_datetime(naive)
    assert t.as_datetime() == naive.replace(tzinfo=UTC)
    assert t.as_naive_datetime() == naive
    assert t.resolution == timedelta(microseconds=1)
    aware = datetime(2005, 1, 17, 5, 30, 15, tzinfo=NY)
    t = Time.from_datetime(aware)
    assert t.as_datetime() == utc(2005, 1, 17, 10, 30, 15)
    assert t.as_datetime(NY) == aware
    assert t.as_datetime(NY).tzinfo is NY
    assert t.as_naive_datetime(NY) == datetime(2005, 1, 17, 5, 30, 15)
    with pytest.raises(TypeError):
        Time.from_datetime("2005-01-17")  # type: ignore[arg-type]


def test_struct_time_round_trips() -> None:
    st = time.gmtime(1105957815)
    t = Time.from_struct_time(st)
    assert t.as_posix_timestamp() == 1105957815
    assert t.resolution == SECOND
    assert tuple(t.as_struct_time())[:6] == (2005, 1, 17, 10, 30, 15)
    assert tuple(t.as_struct_time(NY))[:6] == (2005, 1, 17, 5, 30, 15)
    assert Time.from_struct_time(t.as_struct_time(NY), NY) == t


def test_struct_time_dst_flag_picks_side_of_ambiguous_hour() -> None:
    # 2005-10-30 01:30 happened twice in New York: EDT (-4) first, then EST (-5).
    edt = Time.from_struct_time((2005, 10, 30, 1, 30, 0, 6, 303, 1), NY)
    est = Time.from_struct_time((2005, 10, 30, 1, 30, 0, 6, 303, 0), NY)
    assert edt.as_datetime() == utc(2005, 10, 30, 5, 30)
    assert est.as_datetime() == utc(2005, 10, 30, 6, 30)


@pytest.mark.parametrize("bad", [(2005, 2, 30, 0, 0, 0, 0, 0, 0), (2005, 1)])
def test_struct_time_errors_name_the_input(bad: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=re.escape(f"not a struct_time: {bad!r}")):
        Time.from_struct_time(bad)


def test_now() -> None:
    before = datetime.now(UTC)
    t = Time()
    after = datetime.now(UTC)
    assert before <= t.as_datetime() <= after
    assert t.resolution == timedelta(microseconds=1)


# -- resolution and bounds -----------------------------------------------------------------

def test_bounds_of_a_day_follow_the_zone_including_dst() -> None:
    day = Time.from_iso8601_time_and_date("2005-01-17")
    start, end = day.get_bounds()
    assert (start.as_datetime(), end.as_datetime()) == (utc(2005, 1, 17), utc(2005, 1, 18))
    start, end = day.get_bounds(NY)
    assert (start.as_datetime(), end.as_datetime()) == (utc(2005, 1, 17, 5), utc(2005, 1, 18, 5))
    spring = Time.from_iso8601_time_and_date("2005-04-03")  # 23 hours in New York
    start, end = spring.get_bounds(NY)
    assert end - start == timedelta(hours=23)
    autumn = Time.from_iso8601_time_and_date("2005-10-30")  # 25 hours
    start, end = autumn.get_bounds(NY)
    assert end - start == timedelta(hours=25)


def test_bounds_of_coarser_and_finer_resolutions() -> None:
    month = Time.from_iso8601_time_and_date("2005-02")
    assert [b.as_datetime() for b in month.get_bounds()] == [utc(2005, 2, 1), utc(2005, 3, 1)]
    year = Time.from_iso8601_time_and_date("2004")
    assert [b.as_datetime() for b in year.get_bounds()] == [utc(2004, 1, 1), utc(2005, 1, 1)]
    week = Time.from_iso8601_time_and_date("2005-W03")
    assert [b.as_datetime() for b in week.get_bounds()] == [utc(2005, 1, 17), utc(2005, 1, 24)]
    minute = Time.from_iso8601_time_and_date("2005-01-17T10:30Z")
    start, end = minute.get_bounds(NY)
    assert (start.as_datetime(), end.as_datetime()) == \
        (utc(2005, 1, 17, 10, 30), utc(2005, 1, 17, 10, 31))


def test_bounds_where_midnight_does_not_exist() -> None:
    # Sao Paulo skipped from 00:00 to 01:00 on 2018-11-04: the day starts at the jump.
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    start, end = Time.from_iso8601_time_and_date("2018-11-04").get_bounds(sao_paulo)
    assert start.as_datetime() == utc(2018, 11, 4, 3)
    assert start.as_datetime(sao_paulo).hour == 1
    assert end - start == timedelta(hours=23)


def test_one_day_and_is_all_day() -> None:
    t = Time.from_iso8601_time_and_date("2005-01-17T02:30Z")
    assert not t.is_all_day()
    day = t.one_day()
    assert day.is_all_day()
    assert day.as_iso8601_time_and_date() == "2005-01-17"
    assert t.one_day(NY).as_iso8601_time_and_date() == "2005-01-16"  # 21:30 the day before
    assert Time.from_iso8601_time_and_date("2005-01-17").is_all_day()
    assert not Time.from_iso8601_time_and_date("2005-01").is_all_day()
    assert not Time.from_iso8601_time_and_date("2005-W03").is_all_day()
    assert day.one_day() == day


# -- arithmetic, ordering, hashing, repr -------------------------------------------------

def test_arithmetic() -> None:
    t = Time.from_iso8601_time_and_date("2005-01-17T10:30Z")
    later = t + timedelta(hours=2)
    assert later.as_iso8601_time_and_date() == "2005-01-17T12:30Z"
    assert later.resolution == t.resolution
    assert timedelta(hours=2) + t == later
    assert later - timedelta(hours=2) == t
    assert later - t == timedelta(hours=2)
    assert t - later == timedelta(hours=-2)
    with pytest.raises(TypeError):
        t + 5  # type: ignore[operator]
    with pytest.raises(TypeError):
        t - 5  # type: ignore[operator]


def test_ordering_and_hashing_by_instant() -> None:
    a = Time.from_iso8601_time_and_date("2005-01-17")
    b = Time.from_datetime(datetime(2005, 1, 17))
    c = Time.from_iso8601_time_and_date("2005-01-17T00:00:01Z")
    assert a == b and hash(a) == hash(b) and a.resolution != b.resolution
    assert a < c and a <= c and c > a and c >= a and a != c and a <= b and a >= b
    assert sorted([c, a]) == [a, c]
    assert len({a, b, c}) == 2
    assert a != "2005-01-17"
    with pytest.raises(TypeError):
        _ = a < "2005-01-17"  # type: ignore[operator]


def test_repr_and_pickle() -> None:
    t = Time.from_iso8601_time_and_date("2005-01-17T10:30:15.5Z")
    assert repr(t) == ("<Time 2005-01-17T10:30:15.500000Z "
                       "resolution=datetime.timedelta(microseconds=100000)>")
    again = pickle.loads(pickle.dumps(t))
    assert again == t and again.resolution == t.resolution


def test_parsing_is_reasonably_fast() -> None:
    # Not a timing assertion: just a smoke test that many parses need no per-call setup.
    for _ in range(2000):
        Time.from_iso8601_time_and_date("2005-01-17T10:30:15.123+05:30")
        Time.from_rfc2822("Mon, 17 Jan 2005 10:30:15 -0500")
