"""The one reader of typed dates: ISO 8601 only, refusals that show the accepted form, local
clocks across DST changes, and relative windows against a fixed now."""

from datetime import UTC, datetime, time

import pytest

from models.times import (
    ACCEPTED,
    TimeInputError,
    local_text,
    parse_time,
    relative_window,
    utc_text,
    zone_of,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        ("2026-12-11", utc(2026, 12, 11)),
        ("2026-12-11 06:00", utc(2026, 12, 11, 6)),
        ("2026-12-11T06:00", utc(2026, 12, 11, 6)),
        ("  2026-12-11 06:00:30  ", utc(2026, 12, 11, 6, 0, 30)),
        ("2026-12-11T06:00:00Z", utc(2026, 12, 11, 6)),
        ("2026-12-11T06:00:00.25Z", utc(2026, 12, 11, 6, 0, 0, 250_000)),
        ("2026-12-11T06:00:00+01:00", utc(2026, 12, 11, 5)),
        ("2026-12-11 06:00-0500", utc(2026, 12, 11, 11)),
        ("2026-12-11 06:00 +01:00", utc(2026, 12, 11, 5)),
    ],
)
def test_iso_8601_is_read_and_no_offset_means_utc(typed, moment):
    assert parse_time(typed) == moment
    assert parse_time(typed).tzinfo is UTC


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("11.12.2026", "'11.12.2026' is ambiguous (11 December or 12 November?)"),
        ("12/11/2026", "'12/11/2026' is ambiguous (12 November or 11 December?)"),
        ("11.12.2026 06:00", "'11.12.2026 06:00' is ambiguous (11 December or 12 November?)"),
        ("19.11.2026", "'19.11.2026' is not in year-month-day order"),
        ("05.05.26", "'05.05.26' is not in year-month-day order"),
        ("2026/12/11", "'2026/12/11' is not a date and time"),
        ("20261211", "'20261211' is not a date and time"),
        ("yesterday", "'yesterday' is not a date and time"),
        ("2026-12-11Z", "'2026-12-11Z' is not a date and time"),
        ("2026-11-16T06:01:00 01:00", "has lost the '+' of its offset (send it as %2B in a URL)"),
        ("2026-13-01", "'2026-13-01' is not a date and time (month must be in 1..12)"),
        ("2026-12-11 24:00", "(hour must be in 0..23)"),
    ],
)
def test_anything_else_is_refused_showing_the_accepted_form(typed, why):
    with pytest.raises(TimeInputError) as refused:
        parse_time(typed)
    message = str(refused.value)
    assert why in message
    assert message.endswith(f"{ACCEPTED}.")
    assert ACCEPTED == "Type dates as YYYY-MM-DD HH:MM, e.g. 2026-12-11 06:00"


def test_the_store_s_years_only():
    with pytest.raises(TimeInputError, match="'1066-10-14' must lie between the years 1900"):
        parse_time("1066-10-14")
    assert parse_time("2261-12-31 23:59").year == 2261


def test_a_time_without_offset_is_read_on_the_zone_s_clocks():
    assert parse_time("2026-12-11 06:00", "Europe/Berlin") == utc(2026, 12, 11, 5)  # CET
    assert parse_time("2026-07-01 06:00", "Europe/Berlin") == utc(2026, 7, 1, 4)  # CEST
    assert parse_time("2026-12-11 06:00", "America/New_York") == utc(2026, 12, 11, 11)
    assert parse_time("2026-12-11", "Europe/Budapest") == utc(2026, 12, 10, 23)
    # An offset says it all: the zone is not used.
    assert parse_time("2026-12-11T06:00Z", "Europe/Berlin") == utc(2026, 12, 11, 6)


def test_dst_boundaries_in_berlin():
    # Spring forward, 29 March 2026: 02:00 CET becomes 03:00 CEST.
    assert parse_time("2026-03-29 01:59", "Europe/Berlin") == utc(2026, 3, 29, 0, 59)
    assert parse_time("2026-03-29 03:00", "Europe/Berlin") == utc(2026, 3, 29, 1)
    with pytest.raises(TimeInputError, match="does not exist in Europe/Berlin"):
        parse_time("2026-03-29 02:30", "Europe/Berlin")
    # Fall back, 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice.
    with pytest.raises(TimeInputError) as twice:
        parse_time("2026-10-25 02:30", "Europe/Berlin")
    assert "happens twice in Europe/Berlin" in str(twice.value)
    assert "2026-10-25 02:30+02:00 or 2026-10-25 02:30+01:00" in str(twice.value)
    assert parse_time("2026-10-25 02:30+02:00", "Europe/Berlin") == utc(2026, 10, 25, 0, 30)
    assert parse_time("2026-10-25 02:30+01:00", "Europe/Berlin") == utc(2026, 10, 25, 1, 30)
    assert parse_time("2026-10-25 03:00", "Europe/Berlin") == utc(2026, 10, 25, 2)
    # The same wall-clock times in UTC are plain.
    assert parse_time("2026-03-29 02:30") == utc(2026, 3, 29, 2, 30)


def test_dst_boundaries_in_greenville():
    # 8 March 2026: 02:00 EST becomes 03:00 EDT; 1 November 2026: 01:00-02:00 twice.
    with pytest.raises(TimeInputError, match="does not exist in America/New_York"):
        parse_time("2026-03-08 02:15", "America/New_York")
    with pytest.raises(TimeInputError, match="-04:00 or 2026-11-01 01:15-05:00"):
        parse_time("2026-11-01 01:15", "America/New_York")


def test_shown_times_read_back_as_the_same_moment():
    for moment in (
        utc(2026, 12, 11, 5),
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST, the first of two 02:30s
        utc(2026, 10, 25, 1, 30),  # 02:30 CET, the second
        utc(2026, 3, 29, 1),
        utc(2026, 12, 11, 5, 0, 7, 125_000),
    ):
        for zone in ("UTC", "Europe/Berlin", "America/New_York"):
            assert parse_time(local_text(moment, zone), zone) == moment
        assert parse_time(utc_text(moment)) == moment
    assert local_text(utc(2026, 12, 11, 5), "Europe/Berlin") == "2026-12-11 06:00"
    assert local_text(utc(2026, 10, 25, 1, 30), "Europe/Berlin") == "2026-10-25 02:30+01:00"
    assert utc_text(parse_time("2026-12-11 06:00", "Europe/Berlin")) == "2026-12-11T05:00Z"
    assert utc_text(utc(2026, 12, 11, 5, 0, 7)) == "2026-12-11T05:00:07Z"


def test_an_unknown_zone_is_refused_in_words():
    with pytest.raises(TimeInputError, match="'Mars/Olympus' is not a time zone"):
        zone_of("Mars/Olympus")
    with pytest.raises(TimeInputError, match="not a time zone"):
        parse_time("2026-12-11", "../etc/passwd")


SHIFTS = {"A": time(6), "B": time(14), "C": time(22)}


def window(token, now, zone="UTC", shift_zone="UTC"):
    return relative_window(token, now=now, zone=zone, shift_starts=SHIFTS, shift_zone=shift_zone)


def test_last_8_hours_ends_now():
    now = utc(2026, 12, 11, 9, 30)
    assert window("last-8h", now) == (utc(2026, 12, 11, 1, 30), now)


def test_yesterday_is_the_local_calendar_day():
    now = utc(2026, 12, 11, 9, 30)
    assert window("yesterday", now) == (utc(2026, 12, 10), utc(2026, 12, 11))
    assert window("yesterday", now, "Europe/Berlin") == (
        utc(2026, 12, 9, 23),
        utc(2026, 12, 10, 23),
    )
    # Just after local midnight in Berlin, still 10 December in UTC.
    late = utc(2026, 12, 10, 23, 30)
    assert window("yesterday", late, "Europe/Berlin") == (
        utc(2026, 12, 9, 23),
        utc(2026, 12, 10, 23),
    )
    assert window("yesterday", late) == (utc(2026, 12, 9), utc(2026, 12, 10))


def test_yesterday_across_dst_has_25_or_23_hours():
    start, end = window("yesterday", utc(2026, 10, 26, 12), "Europe/Berlin")
    assert (start, end) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    assert (end - start).total_seconds() == 25 * 3600
    start, end = window("yesterday", utc(2026, 3, 30, 12), "Europe/Berlin")
    assert (start, end) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert (end - start).total_seconds() == 23 * 3600


def test_this_shift_runs_from_its_start_to_the_next():
    assert window("shift", utc(2026, 12, 11, 9, 30)) == (
        utc(2026, 12, 11, 6),
        utc(2026, 12, 11, 14),
    )
    assert window("shift", utc(2026, 12, 11, 6)) == (utc(2026, 12, 11, 6), utc(2026, 12, 11, 14))
    # The night shift spans midnight, from either side.
    night = (utc(2026, 12, 10, 22), utc(2026, 12, 11, 6))
    assert window("shift", utc(2026, 12, 10, 23)) == night
    assert window("shift", utc(2026, 12, 11, 5, 59)) == night


def test_shifts_on_local_clocks_across_dst():
    # The night shift of 24/25 October in Berlin: 22:00 CEST to 06:00 CET, nine hours.
    start, end = window("shift", utc(2026, 10, 25, 2), shift_zone="Europe/Berlin")
    assert (start, end) == (utc(2026, 10, 24, 20), utc(2026, 10, 25, 5))
    assert (end - start).total_seconds() == 9 * 3600
    # The one of 28/29 March: 22:00 CET to 06:00 CEST, seven hours.
    start, end = window("shift", utc(2026, 3, 29, 2), shift_zone="Europe/Berlin")
    assert (end - start).total_seconds() == 7 * 3600


def test_an_unknown_window_is_refused():
    with pytest.raises(TimeInputError, match="no time window 'last-week'"):
        window("last-week", utc(2026, 12, 11))
