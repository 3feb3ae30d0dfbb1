"""Where a named shift lies in time, and what a report definition accepts. The expected
windows are written out by hand from the KPI tests' plant book, on the plants' clocks."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from models.plants import load_plants
from pipelines.reports import PANELS, ReportDefinition, ReportError, ShiftRef, shift_window
from pipelines.reports.shifts import last_ended_shift, shift_at
from pipelines.views import CurveFilter

# The plant book the KPI tests use: Leipzig keeps its own shifts, Győr the default ones.
from tests.pipelines.test_kpis import BOOK


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize(
    ("plant", "day", "shift", "start", "end", "zone"),
    [
        # Own shifts on Berlin's clocks, winter (UTC+1) and summer (UTC+2).
        ("Leipzig", "2026-11-17", "Früh", "2026-11-17 04:30", "2026-11-17 12:30", "Europe/Berlin"),
        ("Leipzig", "2026-07-01", "Spät", "2026-07-01 11:30", "2026-07-01 19:30", "Europe/Berlin"),
        # The night shift ends on the next day; across the autumn change it lasts nine hours.
        ("Leipzig", "2026-10-24", "Nacht", "2026-10-24 19:30", "2026-10-25 04:30", "Europe/Berlin"),
        # Default shifts on UTC clocks, shown in the plant's zone.
        ("Győr", "2026-11-17", "C", "2026-11-17 22:00", "2026-11-18 06:00", "Europe/Budapest"),
        # A plant missing from the book: UTC and the default shifts.
        ("Greenville", "2026-11-17", "A", "2026-11-17 06:00", "2026-11-17 14:00", "UTC"),
    ],
)
def test_a_shift_is_placed_on_its_clocks(plant, day, shift, start, end, zone):
    window = shift_window(ShiftRef(plant, date.fromisoformat(day), shift), BOOK)
    assert (window.start, window.end) == (utc(start), utc(end))
    assert window.zone == zone


def test_the_packaged_demo_plants_keep_the_default_shifts_on_utc():
    window = shift_window(ShiftRef("Leipzig", date(2026, 11, 16), "B"), load_plants())
    assert (window.start, window.end) == (utc("2026-11-16 14:00"), utc("2026-11-16 22:00"))
    assert (window.zone, window.shift_zone, window.shift_clock) == ("Europe/Berlin", "UTC", "14:00")


def test_an_unknown_shift_names_the_plants_shifts():
    with pytest.raises(ReportError, match="Früh, Spät, Nacht"):
        shift_window(ShiftRef("Leipzig", date(2026, 11, 17), "A"), BOOK)


def test_a_definition_checks_its_panels_and_keeps_their_order():
    ref = ShiftRef("Győr", date(2026, 11, 17), "A")
    assert ReportDefinition("p", ref, panels=("density", "kpis")).panels == ("kpis", "density")
    assert ReportDefinition("p", ref).panels == PANELS
    with pytest.raises(ReportError, match="no report panel 'spc'"):
        ReportDefinition("p", ref, panels=("spc",))
    with pytest.raises(ReportError, match="at least one panel"):
        ReportDefinition("p", ref, panels=())


def test_a_definition_takes_its_period_from_the_shift():
    ref = ShiftRef("Győr", date(2026, 11, 17), "A")
    with pytest.raises(ReportError, match="period is its shift"):
        ReportDefinition("p", ref, where=CurveFilter.of(start="2026-11-17"))
    assert ReportDefinition("p", ref, where=CurveFilter.of(station="S1")).where.equals == {
        "station": ("S1",)
    }


@pytest.mark.parametrize("day", [date(1, 1, 1), date(9999, 12, 31)])
def test_a_date_the_store_cannot_hold_is_refused(day):
    with pytest.raises(ReportError, match="years 1900 to 2261"):
        shift_window(ShiftRef("Leipzig", day, "Früh"), BOOK)


@pytest.mark.parametrize(
    ("now", "running", "ended"),
    [
        # Default shifts on UTC clocks: A 06:00, B 14:00, C 22:00 (C runs past midnight).
        ("2026-11-17 05:59", (date(2026, 11, 16), "C"), (date(2026, 11, 16), "B")),
        ("2026-11-17 06:00", (date(2026, 11, 17), "A"), (date(2026, 11, 16), "C")),
        ("2026-11-17 13:00", (date(2026, 11, 17), "A"), (date(2026, 11, 16), "C")),
        ("2026-11-17 22:30", (date(2026, 11, 17), "C"), (date(2026, 11, 17), "B")),
    ],
)
def test_the_shift_running_and_the_last_one_ended(now, running, ended):
    book = load_plants()
    moment = pd.Timestamp(now, tz="UTC")
    assert (
        shift_at("Győr", moment, book).ref.day,
        shift_at("Győr", moment, book).ref.shift,
    ) == running
    last = last_ended_shift("Győr", moment, book)
    assert (last.ref.day, last.ref.shift) == ended and last.end <= moment
