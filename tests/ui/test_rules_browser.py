"""A process's evaluation rules drawn over the raster in chromium: made over the REST API on
the demo plant served by `curvehouse serve`, seen as strokes on the Curve Explorer's plot."""

from __future__ import annotations

import re

import numpy as np
import pytest
import requests
from playwright.sync_api import expect

from app.explorer.rule_marks import PART_COLORS
from tests.ui.conftest import screenshot
from tests.ui.test_cluster_home_browser import a_token
from tests.ui.test_curves_browser import box_select, open_page, plot_pixels, poll

pytestmark = pytest.mark.ui

RULES = [  # press-fit of the demo plant: displacement 0-15 mm, force 0-40 kN
    (
        "press-in",
        "window",
        {"x0": 5.5, "x1": 6.5, "y0": 3, "y1": 12, "entry": "left", "exit": "right"},
    ),
    ("no overload", "line", {"x0": 9, "y0": 32, "x1": 14, "y1": 32}),
    ("seated by 13 mm", "threshold", {"level": 20, "low": 11.5, "high": 13}),
]
STROKES = 4 + 1 + 1  # a window's four sides, a line, a threshold's span

SEGMENT_SOURCES = """() => {
    const get = (dict, key) => dict instanceof Map ? dict.get(key) : dict[key];
    const found = [];
    for (const doc of Bokeh.documents) {
        for (const model of doc.all_models) {
            const colors = model.data ? get(model.data, 'color') : null;
            const x0 = model.data ? get(model.data, 'x0') : null;
            if (colors && x0 && colors.length) found.push(Array.from(colors));
        }
    }
    return found;
}"""


@pytest.fixture(scope="module")
def served(shared_demo):
    server = shared_demo.get()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {a_token(server)}"
    (project,) = [
        p["id"]
        for p in api.get(server.url + "api/projects", timeout=60).json()["items"]
        if p["name"] == "demo"
    ]
    for name, kind, params in RULES:
        made = api.post(
            f"{server.url}api/projects/{project}/rules",
            timeout=60,
            json={"name": name, "process": "press-fit", "kind": kind, "params": params},
        )
        assert made.status_code == 201, made.text
    yield server
    api.close()


def test_the_process_rules_are_drawn_over_the_raster(served, page):
    open_page(page, served.url + "curves?project=demo&process=press-fit")
    assert poll(lambda: page.evaluate(SEGMENT_SOURCES), seconds=30)
    (colors,) = page.evaluate(SEGMENT_SOURCES)
    assert len(colors) == STROKES
    parts = ("entry", "exit", "edge", "forbidden", "threshold")
    assert set(colors) == {PART_COLORS[p] for p in parts}
    screenshot(page, "explorer-rules")
    assert page.js_errors == []


def test_a_window_drawn_with_the_mouse_is_saved_and_drawn(served, page):
    open_page(page, served.url + "curves?project=demo&process=press-fit")
    assert poll(lambda: page.evaluate(SEGMENT_SOURCES), seconds=30)
    box_select(page)
    page.get_by_text("Make a rule from this box").click()  # folded: a box selects parts first
    page.get_by_placeholder("e.g. Press-in window").fill("drawn window")
    page.get_by_placeholder("e.g. Press-in window").press("Enter")
    # Tried before it is saved: what it would pass and fail among the parts in view.
    page.get_by_role("button", name="Try it on the parts in view").click()
    expect(
        page.get_by_text(re.compile(r"Tried on the [\d,]+ parts of the filter in view"))
    ).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text(re.compile(r"^Saved rule “drawn window”"))).to_be_visible(
        timeout=30_000
    )
    # Drawn over the picture with the others: four more sides.
    assert poll(lambda: [len(c) for c in page.evaluate(SEGMENT_SOURCES)] == [STROKES + 4], 30)
    screenshot(page, "explorer-rule-drawn")
    # It judges the stored parts in the background; the parts through the box then say which
    # of them it failed, and why.
    failed = re.compile(r"drawn window: (entered|left|starts|never|ends|came back|has|first)")

    def listed_with_reasons() -> bool:
        box_select(page)
        page.locator(".tabulator-row").first.wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        return bool(failed.search(page.locator(".tabulator").first.inner_text()))

    assert poll(listed_with_reasons, seconds=90)
    screenshot(page, "explorer-rule-failures")
    assert page.js_errors == []


def test_the_picture_coloured_by_verdict(served, page):
    # The module's rules judged the stored parts in the background when they were made.
    link = served.url + "curves?project=demo&process=press-fit&color_by=verdict"
    legend = page.locator(".ch-legend")

    def both_shown() -> bool:
        open_page(page, link)
        text = legend.inner_text(timeout=30_000)
        return "failed" in text and "passed" in text

    assert poll(both_shown, seconds=90), legend.inner_text()
    assert legend.inner_text().startswith("verdict")
    r, g, b = np.moveaxis(plot_pixels(page), 2, 0)
    assert ((r > g + 60) & (r > b + 60)).sum() > 100  # red: failed
    assert ((g > r + 40) & (g > b + 40)).sum() > 100  # green: passed
    screenshot(page, "explorer-coloured-by-verdict")
    assert page.js_errors == []
