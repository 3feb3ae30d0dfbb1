"""Plants compared in the Curve Explorer (issue 20), in Debian's chromium against
`curvehouse serve` on the 600-curve demo: "Colour by: plant" draws one colour per plant, the
legend names each once, and the key figures under it have one row per plant in its colour."""

import re

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import address, query, screenshot
from tests.ui.test_curves_browser import open_page

pytestmark = pytest.mark.ui

DEMO_PLANTS = ["Greenville", "Győr", "Leipzig"]  # pipelines/synthetic/plant.py
NUMBER = re.compile(r"^[\d,]+$")
SHARE = re.compile(r"^(\d+\.\d%|–)$")


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def swatch_colour(locator) -> str:
    return locator.locator("span.swatch").first.evaluate("el => getComputedStyle(el).background")


def test_colour_by_plant_shows_one_legend_entry_and_one_kpi_row_per_plant(served, page):
    open_page(page, served.url)
    expect(page.locator(".ch-kpis")).to_have_count(0)  # density: no groups, no table
    page.locator("select").filter(has_text="(density)").select_option("plant")
    page.wait_for_function("() => location.search.includes('color_by=plant')")
    rows = page.locator("tr.ch-kpi-row")
    expect(rows).to_have_count(len(DEMO_PLANTS), timeout=30_000)
    legend = page.locator(".ch-legend")
    expect(legend).to_contain_text("plant")
    entries = legend.locator(".entry").filter(has=page.locator(".swatch"))  # not rule strokes
    expect(entries).to_have_count(len(DEMO_PLANTS))
    assert [e.inner_text().split(" (")[0] for e in entries.all()] == DEMO_PLANTS
    expect(page.locator(".ch-kpis th").first).to_have_text("Plant")
    for entry, row in zip(entries.all(), rows.all(), strict=True):
        cells = [c.inner_text().strip() for c in row.locator("td").all()]
        assert cells[0] == entry.inner_text().split(" (")[0]
        assert NUMBER.match(cells[1]) and int(cells[1].replace(",", "")) > 0, cells
        assert SHARE.match(cells[2]) and SHARE.match(cells[3]), cells
        assert swatch_colour(row) == swatch_colour(entry)  # the legend's colour
    expect(page.locator(".ch-kpis-note")).to_contain_text("by plant: 3 plants")
    assert query(page)["color_by"] == "plant"
    screenshot(page, "explorer-compare-plants")
    # Back to the density: the table goes with the categories.
    page.locator("select").filter(has_text="(density)").select_option(label="(density)")
    expect(rows).to_have_count(0, timeout=30_000)
    assert page.js_errors == []


def test_side_by_side_draws_one_picture_per_plant_from_its_box_and_its_link(served, page):
    open_page(page, served.url + "?color_by=plant")
    expect(page.locator("tr.ch-kpi-row")).to_have_count(len(DEMO_PLANTS), timeout=30_000)
    page.get_by_text("Side by side (plant, line or station)").click()
    page.wait_for_function("() => location.search.includes('side_by_side=1')")
    panels = page.locator("figure.ch-side-panel")
    expect(panels).to_have_count(len(DEMO_PLANTS), timeout=30_000)
    captions = [p.locator("figcaption").inner_text().split(" (")[0] for p in panels.all()]
    assert captions == DEMO_PLANTS
    for panel in panels.all():
        image = panel.locator("img")
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth") == 960
        box = image.bounding_box()
        assert 300 <= box["width"] <= 480 and abs(box["width"] / box["height"] - 2) < 0.05
    page.set_viewport_size({"width": 1400, "height": 1200})  # the panels in the picture too
    panels.last.scroll_into_view_if_needed()  # the page scrolls inside its main area
    screenshot(page, "explorer-compare-side-by-side")
    link = address(page)
    fresh = page.context.new_page()
    open_page(fresh, link)  # the link opens on the same comparison
    expect(fresh.locator("figure.ch-side-panel")).to_have_count(len(DEMO_PLANTS), timeout=30_000)
    fresh.close()
    assert page.js_errors == []
