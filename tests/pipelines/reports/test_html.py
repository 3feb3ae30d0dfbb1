"""A shift report rendered from a stored demo: its figures held to pandas on the stored rows,
its times on the plant's clocks, every shown value escaped, nothing fetched from elsewhere, and
a shift without parts that says so."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pandas as pd
import pytest

from pipelines.reports import ReportDefinition, ShiftRef, render_shift_report
from pipelines.reports.shifts import ReportError
from pipelines.views import CurveFilter
from tests.pipelines.reports.demo import (
    HOSTILE_DEFECT,
    HOSTILE_STATION,
    SHIFT,
    shift_figures,
    shift_rows,
    stored_demo,
)

# Logic above the engine's reading: the node runs the reading and SQL tests elsewhere.
pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]
MADE = datetime(2026, 11, 17, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(engine):
    with stored_demo(engine) as stored:
        yield stored


@pytest.fixture(scope="module")
def report(demo):
    curves, _ = demo
    return render_shift_report(curves, ReportDefinition("demo", SHIFT), made=MADE)


class Page(HTMLParser):
    """What a browser would load: tags, the addresses they point at, and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.addresses: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.addresses += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action")]

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_the_report_shows_the_shifts_parts_and_yield_as_pandas_counts_them(demo, report):
    _, rows = demo
    expected = shift_figures(shift_rows(rows))
    assert expected["parts"] > 5 and 0 < expected["first_pass_yield"] < 1  # a telling shift
    assert report.totals["parts"] == expected["parts"]
    assert report.totals["nok_parts"] == expected["nok_parts"]
    assert report.totals["first_pass_yield"] == pytest.approx(expected["first_pass_yield"])
    text = " ".join(parsed(report.html).text)
    assert f"{expected['parts']:,} Parts" in re.sub(r"\s+", " ", text)
    assert f"{100 * expected['first_pass_yield']:.1f} % First-pass yield" in text


def test_times_are_on_the_plants_clocks_with_the_zone_named(report):
    text = " ".join(parsed(report.html).text)
    # Shift B is 14:00-22:00 UTC; Leipzig's clocks are an hour ahead in November.
    assert "From 2026-11-16 15:00 to 2026-11-16 23:00 (Europe/Berlin)" in text
    assert "Made 2026-11-17 08:00 (Europe/Berlin)" in text
    assert "starts at 14:00 on UTC clocks" in text


def test_the_report_is_one_self_contained_file(demo, report):
    _, rows = demo
    page = parsed(report.html)
    assert not {"script", "link", "iframe", "object", "embed"} & set(page.tags)
    assert page.addresses and all(a.startswith("data:image/png;base64,") for a in page.addresses)
    assert "url(" not in report.html and "@import" not in report.html
    # One density figure per process of the shift.
    assert page.tags.count("img") == len(shift_figures(shift_rows(rows))["processes"])


def test_every_shown_value_is_escaped(report):
    page = parsed(report.html)
    assert HOSTILE_STATION not in report.html and HOSTILE_DEFECT not in report.html
    text = "".join(page.text)
    assert HOSTILE_STATION in text  # shown as text, not as markup
    assert HOSTILE_DEFECT in text
    assert page.tags.count("script") == 0


def test_another_projects_curves_are_not_in_the_report(demo):
    curves, _ = demo
    other = render_shift_report(curves, ReportDefinition("other", SHIFT), made=MADE)
    assert other.empty  # the reader sees project demo only
    assert "No parts were made in this shift" in other.html
    everyone = replace(curves, projects=None)  # a reader of every project does see them
    assert render_shift_report(everyone, ReportDefinition("other", SHIFT)).totals["parts"] > 0


def test_a_shift_without_parts_says_so_plainly(demo):
    curves, _ = demo
    idle = ShiftRef("Leipzig", date(2026, 12, 1), "A")
    report = render_shift_report(curves, ReportDefinition("demo", idle), made=MADE)
    assert report.empty
    page = parsed(report.html)
    assert "No parts were made in this shift." in "".join(page.text)
    assert not {"table", "img"} & set(page.tags)
    assert report.filename("pdf") == "shift-report-demo-Leipzig-2026-12-01-A.pdf"


def test_a_narrowing_filter_is_named_and_counted(demo):
    curves, rows = demo
    chosen = shift_rows(rows)
    process = sorted(set(chosen["process"]))[0]
    definition = ReportDefinition(
        "demo", SHIFT, where=CurveFilter.of(process=process), panels=("kpis",)
    )
    report = render_shift_report(curves, definition, made=MADE)
    expected = shift_figures(chosen[chosen["process"] == process])
    assert report.totals["parts"] == expected["parts"]
    assert f"process {process}" in report.html
    assert "<img" not in report.html  # only the panels asked for
    nothing = ReportDefinition("demo", SHIFT, where=CurveFilter.of(station="nowhere"))
    text = render_shift_report(curves, nothing, made=MADE).html
    assert "No parts were made in this shift that match the report" in text


def day_period(day: date, cadence: str = "daily", names=()):
    from models.plants import load_plants
    from pipelines.reports.schedule import ended_periods

    book = load_plants()
    (period,) = [
        p
        for p in ended_periods(
            cadence=cadence,
            plant="Leipzig",
            shifts=names,
            after=pd.Timestamp(day, tz="UTC") - pd.Timedelta(days=1),
            now=pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=8),
            book=book,
        )
        if p.shifts[0].ref.day == day
    ]
    return period


def test_a_day_report_covers_its_shifts_with_each_shift_beside_the_others(demo):
    """One report of a day's three shifts: its totals are the day's as pandas counts them,
    and its table gives each shift's parts as the shift's own report does."""
    curves, rows = demo
    period = day_period(date(2026, 11, 16))
    assert period.combined and len(period.shifts) == 3
    day = render_shift_report(
        curves, ReportDefinition("demo", period.shifts[0].ref), made=MADE, period=period
    )
    window = (period.shifts[0].start, period.end)
    expected = shift_figures(shift_rows(rows, window=window))
    assert day.totals["parts"] == expected["parts"] and day.totals["parts"] > 0
    assert day.totals["first_pass_yield"] == pytest.approx(expected["first_pass_yield"])
    assert day.filename("pdf") == "day-report-demo-Leipzig-2026-11-16.pdf"
    text = re.sub(r"\s+", " ", " ".join(parsed(day.html).text))
    assert "Day report · Leipzig · 2026-11-16" in text and "Per shift" in text
    for shift in period.shifts:
        alone = render_shift_report(curves, ReportDefinition("demo", shift.ref), made=MADE)
        row = f"2026-11-16 {shift.ref.shift} "
        assert row in text
        assert text.split(row, 1)[1].split(" ")[2] == f"{alone.totals['parts']:,}"  # after From


def test_a_week_report_and_shifts_with_gaps(demo):
    curves, rows = demo
    week = day_period(date(2026, 11, 16), "weekly")
    assert len(week.shifts) == 21 and week.combined
    report = render_shift_report(
        curves, ReportDefinition("demo", week.shifts[0].ref), made=MADE, period=week
    )
    assert report.totals["parts"] == shift_figures(rows[rows["plant"] == "Leipzig"])["parts"]
    assert report.filename("html") == "week-report-demo-Leipzig-2026-W47.html"
    assert "No parts were made" not in report.html  # the demo's two days are in it
    text = re.sub(r"\s+", " ", " ".join(parsed(report.html).text))
    # Friday has no parts: its shifts' rows say so with zeros, not gaps.
    assert re.search(r"2026-11-20 A \S+ \S+ 0 0 0 – – – –", text), text
    gaps = day_period(date(2026, 11, 16), "daily", names=("A", "C"))
    assert not gaps.combined
    with pytest.raises(ReportError, match="consecutive shifts only"):
        render_shift_report(
            curves, ReportDefinition("demo", gaps.shifts[0].ref), made=MADE, period=gaps
        )
