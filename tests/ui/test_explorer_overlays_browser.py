"""The explorer's legend, overlays, checkbox label, colour bar and selection sentence in
Debian's chromium against `curvehouse serve` on the 600-curve demo, at 1400 px."""

import re

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import screenshot
from tests.ui.test_curves_browser import (
    box_select,
    count_color,
    open_page,
    plot_pixels,
    poll,
    query,
)

pytestmark = pytest.mark.ui

ENVELOPE_RGB = (176, 0, 110)  # elements.ENVELOPE_COLOR
ASK = "Click the raster, or drag a box with the box-select tool"
ONE_PROGRAM = "PF-6205-bearing"  # a press-fit program of the demo plant


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def test_the_station_legend_shows_every_entry_at_1400_px(served, page):
    open_page(page, served.url + "?color_by=station")
    legend = page.locator(".ch-legend")
    expect(legend).to_contain_text("station", timeout=30_000)
    stations = sorted(set(re.findall(r"[A-Z]{3}-L\d-ST\d{3}", legend.inner_text())))
    assert len(stations) >= 5  # the demo's press-fit stations
    width = page.viewport_size["width"]
    for station in stations:
        entry = legend.get_by_text(station)
        box = entry.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, station
        assert entry.is_visible()
    # No sideways scrolling, neither in the legend nor in the page.
    assert legend.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "explorer-legend-station")


def test_clicking_the_envelope_label_ticks_its_box(served, page):
    open_page(page, served.url)
    box = page.get_by_role("checkbox", name=re.compile("Percentile envelope"))
    expect(box).not_to_be_checked()
    page.get_by_text("Percentile envelope (5/25/50/75/95 %)").click()
    expect(box).to_be_checked(timeout=10_000)
    expect(page.get_by_role("checkbox", name=re.compile("Percentile envelope"))).to_have_count(1)
    page.wait_for_function("() => location.search.includes('envelope=1')")
    page.get_by_text("Percentile envelope (5/25/50/75/95 %)").click()
    expect(box).not_to_be_checked(timeout=10_000)
    page.wait_for_function("() => !location.search.includes('envelope=1')")


def test_an_envelope_across_programs_says_to_choose_one(served, page):
    open_page(page, served.url + "?envelope=1")
    note = page.locator(".ch-legend .note")
    expect(note).to_contain_text("Choose one program to draw its envelope", timeout=30_000)
    expect(note).to_contain_text(ONE_PROGRAM)
    assert count_color(plot_pixels(page), ENVELOPE_RGB) < 50
    screenshot(page, "explorer-envelope-refused")


@pytest.mark.parametrize("cmap", ["Blues", "fire", "gray"])
def test_the_envelope_of_one_program_reads_over_the_colour_map(served, page, cmap):
    open_page(page, f"{served.url}?program={ONE_PROGRAM}&cmap={cmap}")
    before = count_color(plot_pixels(page), ENVELOPE_RGB)
    page.get_by_text("Percentile envelope (5/25/50/75/95 %)").click()
    page.wait_for_function("() => location.search.includes('envelope=1')")
    assert poll(lambda: count_color(plot_pixels(page), ENVELOPE_RGB) > before + 300)
    legend = page.locator(".ch-legend")
    expect(legend).to_contain_text(re.compile(rf"Median of [\d,]+ curves \({ONE_PROGRAM}\)"))
    expect(legend).to_contain_text("25–75 % band")
    expect(legend).to_contain_text("5–95 % band")
    screenshot(page, f"explorer-envelope-{cmap.lower()}")


def test_a_new_colour_by_clears_the_selection_sentence(served, page):
    open_page(page, served.url)
    box_select(page)
    sentence = page.get_by_text(re.compile(r"parts\*?\*? pass through the selection"))
    sentence.wait_for(timeout=30_000)
    page.locator("select").filter(has_text="(density)").select_option("station")
    page.wait_for_function("() => location.search.includes('color_by=station')")
    # The station legend shows once the picture coloured by station is drawn (the status
    # line is no signal: its query time can repeat to the millisecond).
    expect(page.locator(".ch-legend")).to_contain_text(re.compile(r"ST\d{3}"), timeout=30_000)
    expect(page.get_by_text(ASK)).to_be_visible(timeout=10_000)
    expect(sentence).to_have_count(0)
    assert "color_by" in query(page)


def test_the_selected_parts_and_the_reference_part_are_named_in_the_legend(served, page):
    open_page(page, served.url)
    box_select(page)
    legend = page.locator(".ch-legend")
    expect(legend).to_contain_text(re.compile(r"Selected parts: the newest \d+"), timeout=30_000)
    row = page.locator(".tabulator-row").first
    serial = row.locator('.tabulator-cell[tabulator-field="part_serial"]').inner_text()
    reference = page.get_by_placeholder("serial of a golden part")
    reference.fill(serial)
    reference.press("Enter")
    expect(legend).to_contain_text(f"Reference part {serial}", timeout=30_000)
    screenshot(page, "explorer-legend-overlays")


COLOUR_BAR_TICKS = """() => {
    const get = (dict, key) => dict instanceof Map ? dict.get(key) : dict[key];
    for (const doc of Bokeh.documents) {
        for (const model of doc.all_models) {
            if (model.constructor.name !== 'ColorBar' && model.type !== 'ColorBar') continue;
            const ticks = Array.from(model.ticker.ticks ?? []);
            let top = 0;  // the largest count in the image's hover column
            for (const other of doc.all_models) {
                const column = other.data ? get(other.data, 'curves') : null;
                if (column) for (const c of column[0]) top = Math.max(top, c);
            }
            return {ticks, labels: ticks.map((t) => get(model.major_label_overrides, t)), top,
                    span: [model.color_mapper.low, model.color_mapper.high]};
        }
    }
    return null;
}"""


def test_the_count_bar_labels_whole_counts_once_and_its_top(served, page):
    """The bar spans the colour levels; its ticks sit at their counts' levels and are labelled
    with whole counts, each once, from 1 to the largest count in the picture."""
    # A small filter: a few curves, so few curves per pixel.
    open_page(page, f"{served.url}?program={ONE_PROGRAM}&result=NOK&norm=linear")
    bar = page.evaluate(COLOUR_BAR_TICKS)
    assert bar and bar["ticks"], f"no fixed colour bar ticks: {bar}"
    ticks, labels = bar["ticks"], bar["labels"]
    assert ticks == sorted(set(ticks)) and bar["span"][0] <= ticks[0] < ticks[-1] <= bar["span"][1]
    assert all(label is not None and label.replace(",", "").isdigit() for label in labels), labels
    counts = [int(label.replace(",", "")) for label in labels]
    assert counts == sorted(set(counts))
    assert counts[0] == 1 and counts[-1] == bar["top"] >= 2  # the top value is labelled
    screenshot(page, "explorer-count-bar")
