"""The Reports page in chromium, on the demo served by `curvehouse serve`: it opens on the
last shift that ended on the plant's clocks, shows that shift's report, downloads its PDF and
shows the whole day's report."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from models.plants import load_plants
from pipelines.reports.shifts import last_ended_shift
from tests.ui.conftest import screenshot

pytestmark = pytest.mark.ui


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def test_the_last_shifts_report_is_shown_and_its_pdf_downloaded(served, page):
    book = load_plants()
    before = last_ended_shift("Greenville", pd.Timestamp(datetime.now(UTC)), book).ref
    page.goto(served.url + "reports?project=demo", wait_until="networkidle")
    heading = page.get_by_text(re.compile(r"Shift \w+ · Greenville · \d{4}-\d\d-\d\d")).first
    heading.wait_for(timeout=60_000)
    after = last_ended_shift("Greenville", pd.Timestamp(datetime.now(UTC)), book).ref
    shown = {f"Shift {r.shift} · Greenville · {r.day.isoformat()}" for r in (before, after)}
    assert heading.inner_text() in shown  # the demo is older: the report says it has no parts
    page.get_by_text(re.compile(r"No parts were made in this shift|Key figures")).first.wait_for()
    screenshot(page, "reports")
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="Download PDF").click()
        page.get_by_text("Printing the PDF").wait_for(timeout=10_000)
    saved = download.value
    assert re.fullmatch(
        r"shift-report-demo-Greenville-\d{4}-\d\d-\d\d-[A-C]\.pdf", saved.suggested_filename
    )
    assert Path(saved.path()).read_bytes()[:5] == b"%PDF-"
    page.get_by_text("Printing the PDF").wait_for(state="hidden", timeout=10_000)
    # The whole day of the newest shift with parts, its shifts side by side.
    newest = page.get_by_role("button", name="Newest shift with parts")
    if newest.is_visible():
        newest.click()
        page.get_by_text("Key figures").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Day", exact=True).click()
    page.get_by_text(re.compile(r"Day report · Greenville · \d{4}-\d\d-\d\d")).first.wait_for(
        timeout=60_000
    )
    page.get_by_text("Per shift").first.wait_for()
    screenshot(page, "reports-day")
    assert page.js_errors == []
