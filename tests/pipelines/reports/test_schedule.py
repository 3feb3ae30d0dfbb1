"""Which periods a schedule mails: whole shifts, days and weeks that ended since the last
mailing, on the shifts' clocks. The expected periods are written out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.reports import ReportError
from pipelines.reports.schedule import MAX_BACKLOG, ended_periods
from tests.pipelines.reports.test_shifts import BOOK


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def keys(**kwargs) -> list[str]:
    return [p.key for p in ended_periods(book=BOOK, **kwargs)]


def test_each_shift_is_due_once_when_it_ends():
    # Győr keeps the default shifts on UTC: A 06-14, B 14-22, C 22-06.
    ask = dict(cadence="shift", plant="Győr")
    assert keys(**ask, after=utc("2026-11-17 13:00"), now=utc("2026-11-17 14:00")) == [
        "2026-11-17 A"
    ]
    assert keys(**ask, after=utc("2026-11-17 14:00"), now=utc("2026-11-17 21:59")) == []
    assert keys(**ask, after=utc("2026-11-17 14:00"), now=utc("2026-11-18 06:30")) == [
        "2026-11-17 B",
        "2026-11-17 C",
    ]
    # The night of the 16th ends at 06:00 on the 17th, after the last mailing.
    only_c = keys(**ask, shifts=("C",), after=utc("2026-11-17 00:00"), now=utc("2026-11-19 07:00"))
    assert only_c == ["2026-11-16 C", "2026-11-17 C", "2026-11-18 C"]


def test_a_day_is_due_when_its_last_shift_ends():
    # The 16th was mailed when its Nacht shift ended, at 04:30 UTC on the 17th.
    ask = dict(cadence="daily", plant="Leipzig", after=utc("2026-11-17 04:30"))
    # Leipzig's Nacht shift of the 17th (21:30 Berlin) ends 05:30 Berlin on the 18th: 04:30 UTC.
    assert keys(**ask, now=utc("2026-11-18 04:29")) == []
    periods = ended_periods(book=BOOK, **ask, now=utc("2026-11-18 04:30"))
    assert [p.key for p in periods] == ["2026-11-17"]
    assert [w.ref.shift for w in periods[0].shifts] == ["Früh", "Spät", "Nacht"]
    assert periods[0].end == utc("2026-11-18 04:30")


def test_a_week_is_due_after_sundays_last_shift_and_not_before():
    ask = dict(cadence="weekly", plant="Győr", after=utc("2026-11-15 12:00"))
    assert keys(**ask, now=utc("2026-11-20 12:00")) == []  # Friday: the week runs on
    periods = ended_periods(book=BOOK, **ask, now=utc("2026-11-23 06:00"))
    assert [p.key for p in periods] == ["2026-W47"]
    assert len(periods[0].shifts) == 21
    assert periods[0].shifts[0].start == utc("2026-11-16 06:00")


def test_a_long_outage_mails_the_newest_periods_only():
    got = keys(cadence="shift", plant="Győr", after=utc("2026-11-01"), now=utc("2026-11-20"))
    assert len(got) == MAX_BACKLOG and got[-1] == "2026-11-19 B"


def test_unknown_cadences_and_shifts_are_refused():
    with pytest.raises(ReportError, match="shift, daily, weekly"):
        keys(cadence="hourly", plant="Győr", after=utc("2026-11-01"), now=utc("2026-11-02"))
    with pytest.raises(ReportError, match="its shifts are Früh, Spät, Nacht"):
        keys(
            cadence="shift",
            plant="Leipzig",
            shifts=("A",),
            after=utc("2026-11-01"),
            now=utc("2026-11-02"),
        )
