"""The Quality page in chromium, on the demo plant served by `curvehouse serve`."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import screenshot

pytestmark = pytest.mark.ui


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def test_charts_rules_capability_and_drifts_of_a_station(served, page):
    # A bare address, as the menu links it: the page opens on the project with the curves
    # (demo), not on the empty "Default project" listed first.
    page.goto(served.url + "quality", wait_until="networkidle")
    page.get_by_text(re.compile(r"flagged point|No run rule is broken")).first.wait_for(
        timeout=60_000
    )
    assert page.get_by_text("Type a lower or an upper spec limit").count() == 1
    page.get_by_text(re.compile(r"Drifting stations|drifts in its parts")).first.wait_for()
    page.get_by_text(re.compile(r"Most unusual parts|unusual parts need")).first.wait_for()
    page.wait_for_timeout(1000)
    assert page.locator("canvas").count() >= 2  # the location and the spread chart
    lower = page.get_by_placeholder("none").first
    lower.fill("0")
    lower.press("Enter")
    page.get_by_text(re.compile(r"Capability of [\d,]+ parts")).wait_for(timeout=30_000)
    assert page.get_by_text(re.compile(r"Cpk -?\d+\.\d\d")).count() == 1
    baseline = page.get_by_placeholder(re.compile("every part"))
    baseline.fill("last week")
    baseline.press("Enter")
    page.get_by_text(re.compile("not a date|ISO")).first.wait_for(timeout=30_000)
    baseline.fill("")
    baseline.press("Enter")
    page.get_by_text(re.compile(r"Capability of")).wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"flagged point|No run rule is broken")).first.wait_for()
    page.wait_for_timeout(1500)
    # The location chart, the spread chart and the distribution with its normal fit.
    assert page.locator(".bk-Canvas").count() >= 3
    screenshot(page, "quality")
    page.get_by_text(
        re.compile(r"Most unusual parts|unusual parts need")
    ).first.scroll_into_view_if_needed()
    screenshot(page, "quality-lists")
    # Brushing the first chart's middle draws those parts' curves, linked to the explorer.
    page.locator(".bk-Canvas").first.scroll_into_view_if_needed()
    first = page.locator(".bk-Canvas").first.bounding_box() or {}
    if not first:
        first = page.locator("canvas").first.bounding_box()
    page.mouse.move(first["x"] + first["width"] * 0.35, first["y"] + first["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(first["x"] + first["width"] * 0.65, first["y"] + first["height"] * 0.5, steps=8)
    page.mouse.up()
    brushed = page.get_by_text(re.compile(r"[\d,]+ parts? brushed"))
    brushed.wait_for(timeout=30_000)
    link = page.get_by_role("link", name="open them in the Curve Explorer")
    assert "start=" in link.get_attribute("href") and "end=" in link.get_attribute("href")
    brushed.scroll_into_view_if_needed()
    screenshot(page, "quality-brushed")
    # Clicking near a point of the first chart offers its part in the explorer.
    page.locator(".bk-Canvas").first.scroll_into_view_if_needed()
    first = page.locator(".bk-Canvas").first.bounding_box()
    page.mouse.click(first["x"] + first["width"] * 0.5, first["y"] + first["height"] * 0.5)
    opened = page.get_by_role("link", name="open it in the Curve Explorer")
    opened.wait_for(timeout=30_000)
    href = opened.get_attribute("href")
    part = parse_qs(urlsplit(href).query)["reference"][0]
    # The link opens the explorer with that part drawn over the density, named in the legend.
    explorer = page.context.new_page()
    explorer.goto(urljoin(page.url, href))
    expect(explorer.locator(".ch-legend")).to_contain_text(f"Reference part {part}", timeout=60_000)
    explorer.close()
    # The unusual parts leave as a spreadsheet, most unusual first, as the API gives them.
    with page.expect_download() as download:
        page.get_by_text("Export unusual parts (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows and list(rows[0])[:2] == ["curve_id", "part_serial"]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    # A flagged point leads to the explorer with its part drawn over the station's density.
    links = page.locator("a[href*='reference=']")
    if links.count():
        assert "station=" in links.first.get_attribute("href")
    page.get_by_text(re.compile(r"Capability of")).scroll_into_view_if_needed()
    screenshot(page, "quality-distribution")
    assert page.js_errors == []
