"""The Reports page without a browser: the shift report panel on a stored demo (its default
shift, a shift with parts against pandas, an empty one, the downloads) and the schedules panel
over a real metadata store (what a viewer is offered, making, changing, deleting, refusals)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from html import unescape

import pytest

from app.reports.schedules import NEW, SchedulesPanel
from app.reports.shift import ShiftReportPanel
from models import accounts
from models.access import Principal
from models.audit import project_trail
from models.settings import Settings
from models.store import open_metadata
from models.tables import ProjectMember
from tests.pipelines.reports.demo import SHIFT, shift_figures, shift_rows, stored_demo

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 17, 15, 30, tzinfo=UTC)  # shift B of the demo's second day runs


@pytest.fixture(scope="module")
def demo(embedded_provider):
    with stored_demo(embedded_provider) as (curves, rows):
        yield curves, rows


@pytest.fixture(scope="module")
def panel(demo):
    curves, _ = demo
    # Without the density figures (a second each): they are pipelines.reports' to test.
    return ShiftReportPanel(
        "demo", curves, chromium="/nonexistent", now=lambda: NOW, panels=("kpis", "pareto")
    )


def test_it_opens_on_the_last_ended_shift_and_shows_a_chosen_one_as_pandas_counts_it(panel, demo):
    # At 15:30 UTC shift B runs: the last ended one is A of the same day (UTC clocks), shown
    # on the first plant's (Greenville is five hours behind UTC in November).
    panel.go_to_last()
    assert (panel.plant.value, panel.day.value, panel.shift.value) == (
        "Greenville",
        date(2026, 11, 17),
        "A",
    )
    assert "2026-11-17 01:00 to 2026-11-17 09:00 (America/New_York)" in unescape(panel.when.object)
    panel.choose(SHIFT)
    figures = shift_figures(shift_rows(demo[1]))
    assert f"{figures['parts']:,} parts." in unescape(panel.when.object)
    assert f"{figures['parts']:,}</div><div class='k'>Parts" in panel.view.object
    assert "<script>alert" not in panel.view.object  # the hostile defect stays text
    assert ".ch-report h1 {" in panel.view.object  # its styles kept to its box
    assert panel.pdf_file.filename == "shift-report-demo-Leipzig-2026-11-16-B.pdf"
    assert not panel.newest.visible and not panel.message.visible
    html = panel._html_file().getvalue().decode()
    assert html.startswith("<!DOCTYPE html>") and html == panel.report.html
    panel.panels.value = ["kpis"]
    assert "Defects (Pareto)" not in panel.view.object and "Key figures" in panel.view.object
    panel.panels.value = []
    assert "at least one" in panel.message.object and panel.message.visible
    panel.panels.value = ["kpis", "pareto"]
    assert "Defects (Pareto)" in panel.view.object


def awaited(coroutine):
    """``coroutine`` run to its end on a thread of its own: a browser test in the same worker
    may leave an event loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_the_pdf_is_printed_off_the_page_and_a_failure_is_said(panel):
    panel.choose(SHIFT)
    panel.print_pdf = lambda html: b"%PDF-1.4 " + html[:15].encode()
    pdf = awaited(panel._pdf_file()).getvalue()
    assert pdf == b"%PDF-1.4 <!DOCTYPE html>" and not panel.printing.visible
    del panel.print_pdf  # the real printer, with no Chromium where it is told to look
    with pytest.raises(Exception, match="No Chromium"):
        awaited(panel._pdf_file())
    assert "No Chromium at /nonexistent" in unescape(panel.message.object)
    assert not panel.pdf_file.disabled


def test_a_shift_without_parts_says_so_and_offers_the_newest_shift_with_parts(panel, demo):
    panel.choose(SHIFT.__class__("Leipzig", date(2026, 11, 25), "A"))
    assert "no parts" in unescape(panel.when.object) and "No parts were made" in panel.view.object
    assert panel.newest.visible
    panel.go_to_newest()
    newest = demo[1][demo[1]["plant"] == "Leipzig"]["started_at"].max()
    window = panel.report.window
    assert window.start <= newest < window.end and int(panel.report.totals["parts"]) > 0


def test_a_day_a_week_and_a_narrowed_report(panel, demo):
    """The whole day of the chosen day, its week, and one process of it, each as pandas
    counts its parts; back to one shift."""
    _, rows = demo
    panel.choose(SHIFT)
    panel.covers.value = "daily"
    assert not panel.shift.visible and panel.report.period.key == "2026-11-16"
    day = (panel.report.period.shifts[0].start, panel.report.period.end)
    figures = shift_figures(shift_rows(rows, window=day))
    assert unescape(panel.when.object).startswith("**Day 2026-11-16, Leipzig:**")
    assert f"{figures['parts']:,} parts." in unescape(panel.when.object)
    assert "Per shift" in panel.view.object
    assert panel.pdf_file.filename == "day-report-demo-Leipzig-2026-11-16.pdf"
    process = figures["processes"][0]
    panel.process.value = [process]
    one = shift_rows(rows, window=day)
    narrowed = shift_figures(one[one["process"] == process])
    assert f"{narrowed['parts']:,} parts." in unescape(panel.when.object)
    assert f"process {process}" in panel.view.object
    panel.process.value = []
    panel.covers.value = "weekly"
    leipzig = shift_figures(rows[rows["plant"] == "Leipzig"])
    assert f"{leipzig['parts']:,} parts so far: **the week has not ended" in unescape(
        panel.when.object
    )
    panel.covers.value = "shift"
    assert panel.shift.visible and panel.report.period is None
    assert panel.report.totals["parts"] == shift_figures(shift_rows(rows))["parts"]


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("reports-store"))
    with open_metadata(settings) as store, store.sessions() as session:
        project = accounts.default_project(session)
        people = {}
        for name, role in (("eng", "engineer"), ("vic", "viewer")):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password="correct horse 1"
            )
            session.add(ProjectMember(project=project, user=user, role=role))
            people[name] = Principal(user.email, user.id)
        session.commit()
        yield store, project.id, people


def schedules(plant, who: str) -> SchedulesPanel:
    store, project_id, people = plant
    return SchedulesPanel(
        store=store,
        who=people[who],
        project_id=project_id,
        plants=["Leipzig", "Győr"],
        choices={"station": ["LPZ-L1-ST010", "LPZ-L1-ST020"]},
        may_manage=who == "eng",
    )


def test_an_engineer_makes_changes_and_deletes_a_schedule_all_audited(plant):
    panel = schedules(plant, "eng")
    assert "No report is mailed" in panel.table.object
    panel.schedule_name.value, panel.cadence.value = "Leipzig mornings", "daily"
    panel.recipients.value = "Lead@Plant.example\nqa@plant.example"
    panel.filters["station"].value = ["LPZ-L1-ST010"]
    panel.submit()
    assert panel.message.alert_type == "success", panel.message.object
    (made,) = panel.listed()
    assert (made.cadence, made.recipients) == ("daily", ["lead@plant.example", "qa@plant.example"])
    assert made.filters == {"station": ["LPZ-L1-ST010"]} and panel.pick.value == made.id
    assert "Leipzig mornings" in panel.table.object and "nothing yet" in panel.table.object
    # The form holds the schedule picked: change it.
    panel.cadence.value, panel.shifts.value = "shift", ["A"]
    panel.filters["station"].value = []
    panel.submit()
    (changed,) = panel.listed()
    assert (changed.cadence, changed.shifts, changed.filters) == ("shift", ["A"], {})
    panel.pick.value = 0
    assert panel.schedule_name.value == "" and panel.save.label == "Make schedule"
    panel.pick.value = made.id
    assert panel.schedule_name.value == "Leipzig mornings" and panel.shifts.value == ["A"]
    panel._ask_delete()
    assert panel.confirm.visible
    panel.remove()
    assert panel.listed() == [] and panel.pick.options == {NEW: 0}
    store, project_id, _ = plant
    with store.sessions() as session:
        actions = [e.action for e in session.scalars(project_trail(project_id, "report."))]
    assert {"report.schedule", "report.reschedule", "report.unschedule"} <= set(actions)


def test_refusals_are_said_in_words_and_change_nothing(plant):
    panel = schedules(plant, "eng")
    panel.schedule_name.value, panel.recipients.value = "x", "not an address"
    panel.submit()
    assert "recipients must be 1 to 50 e-mail addresses" in unescape(panel.message.object)
    assert panel.message.alert_type == "danger" and panel.listed() == []
    panel.recipients.value, panel.panels.value = "a@b.de", []
    panel.submit()
    assert "at least one" in unescape(panel.message.object) and panel.listed() == []


def test_a_viewer_sees_the_schedules_but_is_offered_no_form_and_cannot_change_them(plant):
    eng = schedules(plant, "eng")
    eng.schedule_name.value, eng.recipients.value = "Shared", "a@b.de"
    eng.submit()
    viewer = schedules(plant, "vic")
    assert "Shared" in viewer.table.object
    layout = viewer.__panel__()
    assert viewer.save not in list(layout.select(type(viewer.save)))
    viewer.pick.value = eng.pick.value
    viewer.schedule_name.value = "taken over"
    viewer.submit()  # as if the hidden form were sent anyway
    assert "share views needs engineer" in unescape(viewer.message.object).replace("_", " ")
    assert [s.name for s in viewer.listed()] == ["Shared"]
    eng.remove()
