"""Shift reports over HTTP: the demo uploaded as a CSV (tests/app/api/test_kpis_api.py), read
back through the curves listing, and a shift's report downloaded as HTML and as PDF, its parts
and first-pass yield held to pandas on those rows; refusals as the other endpoints."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.app.api.test_kpis_api import demo_world
from tests.pipelines.reports.demo import shift_figures, shift_rows
from tests.providers.test_pdf import CHROMIUM, read_pdf

pytestmark = pytest.mark.integration
# Shift B of Győr (default shifts, on UTC clocks) on the demo's second day, written out by hand.
SHIFT = {"plant": "Győr", "date": "2026-11-17", "shift": "B"}
WINDOW = (pd.Timestamp("2026-11-17 14:00", tz="UTC"), pd.Timestamp("2026-11-17 22:00", tz="UTC"))


@pytest.fixture(scope="module")
def report_world(tmp_path_factory):
    with demo_world(tmp_path_factory, "reports") as world:
        yield world


def ask(world, who="owner", **params):
    return world.call(
        "GET", f"/api/projects/{world.project_a}/reports/shift", who, params={**SHIFT, **params}
    )


def expected(world, **equals) -> dict:
    rows = shift_rows(world.extra["rows"], plant=SHIFT["plant"], window=WINDOW)
    for column, value in equals.items():
        rows = rows[rows[column] == value]
    return shift_figures(rows)


def visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_viewer_downloads_the_shifts_html_report(report_world):
    answer = ask(report_world, "viewer")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="shift-report-press-shop-Gy_r-2026-11-17-B.html"'
    )
    figures = expected(report_world)
    assert figures["parts"] >= 3 and 0 < figures["first_pass_yield"] < 1  # a telling shift
    text = visible(answer.text)
    assert f"{figures['parts']:,} Parts" in text
    assert f"{100 * figures['first_pass_yield']:.1f} % First-pass yield" in text
    assert f"{figures['nok_parts']:,} NOK parts" in text
    # Győr is an hour ahead of UTC in November.
    assert "From 2026-11-17 15:00 to 2026-11-17 23:00 (Europe/Budapest)" in text
    assert answer.text.count("<img") == len(figures["processes"])


def test_curve_filters_and_panels_narrow_the_report(report_world):
    process = expected(report_world)["processes"][0]
    answer = ask(report_world, process=process, panels=["kpis"])
    assert answer.status_code == 200, answer.text
    figures = expected(report_world, process=process)
    assert f"{figures['parts']:,} Parts" in visible(answer.text)
    assert "<img" not in answer.text and "Pareto" not in answer.text


def test_a_shift_without_parts_says_so(report_world):
    answer = ask(report_world, date="2026-12-01")
    assert answer.status_code == 200, answer.text
    assert "No parts were made in this shift." in visible(answer.text)


def test_a_days_report_covers_its_shifts(report_world):
    answer = report_world.call(
        "GET",
        f"/api/projects/{report_world.project_a}/reports/period",
        "viewer",
        params={"plant": "Győr", "date": "2026-11-17", "cadence": "daily", "panels": ["kpis"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="day-report-press-shop-Gy_r-2026-11-17.html"'
    )
    # Győr's default shifts on UTC clocks: the day runs from 06:00 to 06:00 the next morning.
    day = (pd.Timestamp("2026-11-17 06:00", tz="UTC"), pd.Timestamp("2026-11-18 06:00", tz="UTC"))
    rows = shift_rows(report_world.extra["rows"], plant="Győr", window=day)
    text = visible(answer.text)
    assert f"{shift_figures(rows)['parts']:,} Parts" in text
    assert f"2026-11-17 B 2026-11-17 15:00 {expected(report_world)['parts']:,} " in text
    refused = report_world.call(
        "GET",
        f"/api/projects/{report_world.project_a}/reports/period",
        params={"plant": "Győr", "date": "2026-11-17", "cadence": "hourly"},
    )
    assert refused.status_code == 422 and "cadence" in refused.text
    # Someone outside the project learns nothing, not even that the date is bad.
    for params in ({"cadence": "daily", "date": "2026-11-17"}, {"cadence": "x", "date": "?"}):
        outside = report_world.call(
            "GET",
            f"/api/projects/{report_world.project_a}/reports/period",
            "outsider",
            params={"plant": "Győr", **params},
        )
        assert outside.status_code == 404, outside.text


@pytest.mark.ui
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM}")
def test_the_pdf_holds_the_same_figures(report_world):
    answer = ask(report_world, "viewer", format="pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"].endswith('B.pdf"')
    text, pages = read_pdf(answer.content)
    figures = expected(report_world)
    assert f"{figures['parts']:,} Parts" in text
    assert f"{100 * figures['first_pass_yield']:.1f} % First-pass yield" in text
    assert len(pages) >= 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"shift": "Früh"}, "has no shift 'Früh'; its shifts are A, B, C"),
        ({"date": "16.11.2026"}, "date"),
        ({"date": "1066-10-14"}, "years 1900 to 2261"),
        ({"format": "docx"}, "format"),
        ({"panels": ["spc"]}, "panels"),
        ({"result": "MAYBE"}, "result"),
    ],
)
def test_what_cannot_be_reported_is_refused_with_reasons(report_world, params, message):
    answer = ask(report_world, **params)
    assert answer.status_code == 422, answer.text
    assert message in str(answer.json())


def test_the_shift_is_required(report_world):
    answer = report_world.call(
        "GET", f"/api/projects/{report_world.project_a}/reports/shift", params={"plant": "Győr"}
    )
    assert answer.status_code == 422
    assert "shift" in answer.text and "date" in answer.text


def schedules_path(world) -> str:
    return f"/api/projects/{world.project_a}/reports/schedules"


def test_an_engineer_schedules_a_report_everyone_sees_it_and_it_can_be_stopped(report_world):
    world = report_world
    body = {
        "name": "Győr late shift",
        "plant": "Győr",
        "cadence": "shift",
        "shifts": ["B"],
        "recipients": ["Lead@Plant.example"],
        "station": ["GYR-L1-ST010"],
        "panels": ["kpis", "pareto"],
    }
    made = world.call("POST", schedules_path(world), "engineer", json=body)
    assert made.status_code == 201, made.text
    schedule = made.json()
    assert schedule["recipients"] == ["lead@plant.example"]
    assert schedule["filters"] == {"station": ["GYR-L1-ST010"]}
    listed = world.call("GET", schedules_path(world), "viewer").json()
    assert [s["id"] for s in listed["items"]] == [schedule["id"]]
    refused = world.call("POST", schedules_path(world), "viewer", json=body)
    assert refused.status_code == 403
    gone = world.call("DELETE", f"{schedules_path(world)}/{schedule['id']}", "engineer")
    assert gone.status_code == 204
    assert world.call("GET", schedules_path(world)).json()["items"] == []
    again = world.call("DELETE", f"{schedules_path(world)}/{schedule['id']}", "engineer")
    assert again.status_code == 404
    actions = [
        e["action"]
        for e in world.call("GET", f"/api/projects/{world.project_a}/audit").json()["items"]
    ]
    assert "report.schedule" in actions and "report.unschedule" in actions


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shifts": ["Früh"]}, "has no shift 'Früh'; its shifts are A, B, C"),
        ({"cadence": "hourly"}, "cadence"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["not an address"]}, "recipients"),
        ({"panels": ["spc"]}, "panels"),
    ],
)
def test_a_schedule_that_cannot_be_mailed_is_refused(report_world, changes, message):
    body = {"name": "x", "plant": "Győr", "cadence": "daily", "recipients": ["a@b.de"]}
    answer = report_world.call("POST", schedules_path(report_world), json={**body, **changes})
    assert answer.status_code == 422, answer.text
    assert message in str(answer.json())


def test_an_engineer_changes_a_schedule_a_viewer_cannot_and_the_trail_says_what_changed(
    report_world,
):
    world = report_world
    body = {"name": "Győr days", "plant": "Győr", "cadence": "daily", "recipients": ["a@b.de"]}
    schedule = world.call("POST", schedules_path(world), "engineer", json=body).json()
    path = f"{schedules_path(world)}/{schedule['id']}"
    change = {"cadence": "shift", "shifts": ["A", "C"], "station": ["GYR-L1-ST010"]}
    refused = world.call("PATCH", path, "viewer", json=change)
    assert refused.status_code == 403
    changed = world.call("PATCH", path, "engineer", json=change)
    assert changed.status_code == 200, changed.text
    assert changed.json()["cadence"] == "shift" and changed.json()["shifts"] == ["A", "C"]
    assert changed.json()["filters"] == {"station": ["GYR-L1-ST010"]}
    assert changed.json()["mailed_until"] == schedule["mailed_until"]  # goes on from there
    # Only what is named changes; an empty filter drops it.
    again = world.call("PATCH", path, "engineer", json={"station": [], "name": "Győr shifts"})
    assert again.json()["filters"] == {} and again.json()["cadence"] == "shift"
    listed = world.call("GET", schedules_path(world), "viewer").json()["items"]
    assert [s["name"] for s in listed if s["id"] == schedule["id"]] == ["Győr shifts"]
    trail = world.call("GET", f"/api/projects/{world.project_a}/audit").json()["items"]
    edits = [e for e in trail if e["action"] == "report.reschedule"]
    assert len(edits) == 2
    assert {tuple(e["detail"]["changed"]) for e in edits} == {
        ("cadence", "filters", "shifts"),
        ("filters", "name"),
    }
    other = f"/api/projects/{world.project_b}/reports/schedules/{schedule['id']}"
    assert world.call("PATCH", other, json={"name": "x"}).status_code == 404
    assert world.call("DELETE", path, "engineer").status_code == 204


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"shifts": ["Früh"]}, "has no shift 'Früh'; its shifts are A, B, C"),
        ({"cadence": "hourly"}, "cadence"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["not an address"]}, "recipients"),
        ({"created_by": "someone"}, "created_by"),
    ],
)
def test_a_change_that_cannot_be_mailed_is_refused(report_world, changes, message):
    world = report_world
    body = {"name": "y", "plant": "Győr", "cadence": "daily", "recipients": ["a@b.de"]}
    schedule = world.call("POST", schedules_path(world), json=body).json()
    path = f"{schedules_path(world)}/{schedule['id']}"
    answer = world.call("PATCH", path, json=changes)
    assert answer.status_code == 422, answer.text
    assert message in str(answer.json())
    assert world.call("GET", schedules_path(world)).json()["items"][-1]["cadence"] == "daily"
    world.call("DELETE", path)
