"""The Curve Explorer in a real browser against a real `curvehouse serve` on the demo data."""

import io
import re
import time

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.ui.conftest import BIN, Served, address, free_port, query, query_of, screenshot

pytestmark = pytest.mark.ui

STATUS = re.compile(r"^([\d,]+) curves? · x (\S+) to (\S+) · \d+ ms")


@pytest.fixture(scope="module")
def served(shared_demo, demo_home):
    # A server of its own: the zoom test's renders came out of step with its URL twice in four
    # runs on the shared one (other modules' sessions and cache before it), never on its own.
    shared_demo.release()
    server = Served(demo_home, [str(BIN / "curvehouse"), "serve"])
    yield server
    # The same command on the same home: the modules after this one share it from here.
    shared_demo.adopt(server)


def status(page) -> tuple[int, float, float]:
    """Curves shown and x range of the last finished render, from the status line."""
    text = page.get_by_text(STATUS).first.text_content(timeout=30_000)
    match = STATUS.search(text)
    assert match, f"status line {text!r}"
    return int(match[1].replace(",", "")), float(match[2]), float(match[3])


def wait_for_status_change(page, before: str) -> None:
    expect(page.get_by_text(STATUS).first).not_to_have_text(before, timeout=30_000)


# The plot's own "Drawing…" is a Bokeh label on its canvas, not text in the page: watch the model,
# right after each wheel event's handlers ran (the server hears of a gesture only once it has
# rested 100 ms, so a notice seen then was shown by the browser itself).
WATCH_LOADING = """() => {
    window.seen = new Set();
    const notice = () => {
        for (const doc of (window.Bokeh && window.Bokeh.documents) || [])
            for (const model of doc._all_models.values())
                if (model.name === 'ch-drawing' && model.visible) return true;
        return false;
    };
    window.addEventListener('wheel', () => setTimeout(() => {
        if (notice()) window.seen.add('notice at the gesture');
    }, 0), true);
}"""


def open_page(page, url: str):
    page.goto(url, wait_until="networkidle")
    status(page)
    return page


def stat(page, label: str) -> str:
    """The figure card's value (a Number indicator: its name, then its value), once shown: the
    browser may lay out the status line a moment before the card's value (a CI run read it
    empty)."""
    value = page.locator(".ch-figure", has_text=label).locator("div").last
    expect(value).not_to_have_text("", timeout=10_000)
    return value.inner_text()


def plot_box(page) -> dict:
    return page.locator("canvas").first.bounding_box()


def test_opens_on_the_demo_with_a_raster(served, page):
    open_page(page, served.url)
    curves, _, _ = status(page)
    assert 0 < curves < 600  # one process of the 600-curve demo
    assert stat(page, "Curves shown") == f"{curves:,}"
    page.wait_for_function("() => location.search.includes('process=')")
    assert query(page)["project"] == "demo"
    assert page.locator("canvas").count() >= 1
    screenshot(page, "explorer")
    assert page.js_errors == []


def test_a_filter_changes_the_count(served, page):
    open_page(page, served.url)
    before = page.get_by_text(STATUS).first.inner_text()
    everything, _, _ = status(page)
    page.get_by_role("button", name="NOK", exact=True).click()
    wait_for_status_change(page, before)
    # The line can change before the filtered view lands (a render of the same view that was
    # still on its way): read it until it counts other curves, for at most 30 s.
    deadline = time.monotonic() + 30
    while (nok := status(page)[0]) == everything and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert 0 < nok < everything
    assert stat(page, "OK / NOK curves") == f"0 / {nok:,}"
    assert query(page)["result"] == "NOK"


def test_a_zoom_renders_a_new_raster_with_a_loading_state(served, page):
    open_page(page, served.url)
    before = page.get_by_text(STATUS).first.inner_text()
    _, x0, x1 = status(page)
    page.evaluate(WATCH_LOADING)
    box = plot_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.wheel(0, -500)
    wait_for_status_change(page, before)
    # The last range event's render, at the end; if it never comes, what the page showed.
    assert poll(lambda: shows_the_url_view(page)), (
        query(page),
        page.get_by_text(STATUS).first.text_content(timeout=1_000),
        page.js_errors,
    )
    _, z0, z1 = status(page)
    assert x0 < z0 < z1 < x1
    # The plot's notice shows at the gesture, before the server hears of it. (The status
    # line's "Drawing…" may never be on screen: a render from memory can replace it within the
    # same message.)
    assert "notice at the gesture" in page.evaluate("[...window.seen]")
    screenshot(page, "explorer-zoomed")


def box_select(page) -> None:
    """Drag a box over the middle of the plot with Bokeh's box-select tool."""
    page.get_by_title("Box Select").click()
    box = plot_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.9, steps=8)
    page.mouse.up()


def test_a_box_selection_lists_the_parts(served, page):
    open_page(page, served.url)
    box_select(page)
    title = page.get_by_text(re.compile(r"parts\*?\*? pass through the selection"))
    title.wait_for(timeout=30_000)
    assert re.search(r"[\d,]+ parts", title.inner_text())
    rows = page.locator(".tabulator-row")
    rows.first.wait_for(timeout=30_000)
    assert poll(lambda: count_color(plot_pixels(page), (255, 127, 14)) > 300)  # drawn in orange
    assert rows.count() >= 1
    assert re.match(r"[A-Z]{3}-L\d-\d{6}-\d{6}", rows.first.inner_text())
    with page.expect_download() as download:
        page.get_by_role("button", name="Export parts (CSV)").click()
    path = download.value.path()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("curve_id,curve_key,part_serial") and len(lines) >= 2
    screenshot(page, "explorer-selection")


def test_the_view_exports_as_png(served, page):
    open_page(page, served.url)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export view (PNG)").click()
    with open(download.value.path(), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    # Issue 16: a report figure at the size chosen beside the button.
    page.locator("select").filter(has_text="A4 landscape").select_option(
        label="A4 report figure, 300 dpi"
    )
    with page.expect_download() as download:
        page.get_by_role("button", name="Export view (PNG)").click()
    assert download.value.suggested_filename == "curvehouse-view-a4-width.png"
    with Image.open(download.value.path()) as png:
        assert png.size == (2008, 1240) and round(png.info["dpi"][0]) == 300
        assert "Project demo · process " in png.info["Description"]


def test_the_url_reopens_the_same_view(served, page):
    link = (
        f"{served.url}?project=demo&process=press-fit&result=NOK&x=2,8&y=0,20"
        "&color_by=result&norm=log"
    )
    open_page(page, link)
    curves, x0, x1 = status(page)
    assert (x0, x1) == (2.0, 8.0)
    assert page.locator(".ch-legend").inner_text().startswith("result")
    assert "NOK" in page.locator(".ch-legend").inner_text()
    assert query(page) == {
        "project": "demo",
        "process": "press-fit",
        "result": "NOK",
        "x": "2,8",
        "y": "0,20",
        "color_by": "result",
        "norm": "log",
    }
    # The same link in a fresh tab gives the same numbers.
    again = page.context.new_page()
    open_page(again, link)
    assert status(again) == (curves, x0, x1)
    screenshot(page, "explorer-shared-link")


def test_errors_and_empty_results_are_messages(served, page):
    page.goto(served.url + "?start=not-a-time", wait_until="networkidle")
    alert = page.get_by_text(re.compile(r"start: 'not-a-time' is not a date and time"))
    alert.wait_for(timeout=30_000)
    assert page.get_by_text("Invalid filter.").is_visible()
    assert page.get_by_text("Traceback").count() == 0
    page.goto(served.url + "?serial=NO-SUCH-PART", wait_until="networkidle")
    page.get_by_text("No curves match these filters.").wait_for(timeout=30_000)
    assert stat(page, "Curves shown") == "0"


def test_navigation_reaches_every_page(served, page):
    open_page(page, served.url)
    page.get_by_role("link", name="Clusters").click()
    page.get_by_text("New cluster").wait_for(timeout=30_000)
    for name, shown in (("Projects", "Create project"), ("Team", "Personal API tokens")):
        page.get_by_role("link", name=name).click()
        page.get_by_text(shown).first.wait_for(timeout=30_000)
    page.get_by_role("link", name="Overview").click()
    page.get_by_text("Curves per plant, line and station").wait_for(timeout=30_000)
    page.get_by_role("link", name="Curves").click()
    status(page)


def test_choosing_a_process_refits_the_view(served, page):
    open_page(page, served.url)
    box_select(page)
    page.locator(".tabulator-row").first.wait_for(timeout=30_000)
    before = page.get_by_text(STATUS).first.inner_text()
    page.locator("select").filter(has_text="screwdriving").select_option("screwdriving")
    wait_for_status_change(page, before)
    _, _, x1 = status(page)
    assert x1 > 1000  # angle in degrees, not displacement in mm
    assert query(page)["process"] == "screwdriving" and "x" not in query(page)
    assert poll(lambda: page.locator(".tabulator-row").count() == 0)  # selection cleared


def test_each_tab_has_its_own_state(served, page):
    open_page(page, served.url)
    everything, _, _ = status(page)
    before = page.get_by_text(STATUS).first.inner_text()
    page.get_by_role("button", name="NOK", exact=True).click()
    wait_for_status_change(page, before)
    other = page.context.new_page()
    open_page(other, served.url)
    assert status(other)[0] == everything and "result" not in query(other)
    assert status(page)[0] < everything


def test_an_unreachable_engine_is_a_message(demo_home, shared_demo, page):
    shared_demo.release()  # one server on a home at a time
    server = Served(
        demo_home,
        [str(BIN / "curvehouse"), "serve"],
        env={
            "CURVEHOUSE_ENGINE": "server",
            "CURVEHOUSE_CLICKHOUSE_URL": f"http://127.0.0.1:{free_port()}/curvehouse",
            # No live ingest (not what this test is about): beside the module's server on this
            # home, its listener met that server's broker and its stop took 10 s, not 0.5 s.
            "CURVEHOUSE_MQTT_LISTEN": "0",
        },
    )
    try:
        server.sign_in(page, then="/api/me")
        page.goto(server.url, wait_until="networkidle")
        notice = page.get_by_text("The curve store is not available.")
        assert poll(notice.is_visible, seconds=60), page.locator("body").inner_text()[:3000]
        assert page.get_by_text(re.compile("Cannot reach ClickHouse at")).count() >= 1
        assert page.get_by_text("Traceback").count() == 0
        screenshot(page, "explorer-engine-unavailable")
    finally:
        server.stop()


def plot_pixels(page, attempts: int = 20) -> np.ndarray:
    """The plot as RGB pixels, from a screenshot of its canvas. A plot rebuilt meanwhile (a
    new colour map, the envelope switched on) replaces its canvas, which is detached or not yet
    visible for a moment: then the new one is taken."""
    from playwright.sync_api import Error

    for attempt in range(attempts):
        try:
            png = page.locator("canvas").first.screenshot(timeout=10_000)
            break
        except Error as error:
            swapped = "not attached" in str(error) or "not visible" in str(error)
            if not swapped or attempt == attempts - 1:
                raise
            time.sleep(0.25)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def count_color(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    return int((np.abs(pixels - np.array(rgb)).sum(axis=2) < tolerance).sum())


def poll(check, seconds: float = 20.0) -> bool:
    """Whether ``check()`` becomes true within ``seconds`` (the page redraws asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def shows_the_url_view(page) -> bool:
    """Whether the last finished render is the x range the URL holds."""
    if "x" not in query(page):
        return False
    low, high = (float(v) for v in query(page)["x"].split(","))
    _, x0, x1 = status(page)
    return (x0, x1) == pytest.approx((low, high), rel=1e-3)


def curve_points(page, most: int = 8) -> list[tuple[float, float]]:
    """Where curves are drawn on the plot (dark blue pixels inside the axes), spread over it,
    as fractions of the canvas's width and height."""
    pixels = plot_pixels(page)
    height, width, _ = pixels.shape
    inside = np.zeros((height, width), bool)
    inside[int(height * 0.1) : int(height * 0.85), int(width * 0.1) : int(width * 0.75)] = True
    dark = inside & (pixels.sum(axis=2) < 300) & (pixels[..., 2] > pixels[..., 0] + 30)
    rows, cols = np.nonzero(dark)
    picks = np.linspace(0, len(rows) - 1, num=min(len(rows), most)).astype(int)
    return [(cols[i] / width, rows[i] / height) for i in picks]


def test_hover_names_the_parts_under_the_cursor(served, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    open_page(page, served.url)
    box = plot_box(page)
    found = page.get_by_text(re.compile(r"[\d,]+ curves?\*?\*? at \("))
    # Where curves are drawn first, then a grid over the plot.
    grid = [(fx, fy) for fy in (0.5, 0.6, 0.7, 0.8, 0.4, 0.3, 0.9, 0.2) for fx in (0.3, 0.5, 0.7)]
    for fx, fy in curve_points(page) + grid:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        try:  # the parts are asked once the pointer rests
            found.first.wait_for(timeout=1500)
            break
        except PlaywrightTimeoutError:
            pass
    found.first.wait_for(timeout=10_000)
    assert re.search(r"[A-Z]{3}-L\d-\d{6}-\d{6} \((OK|NOK)\)", found.first.inner_text())


# Bokeh's tooltips on the page (in Panel's shadow roots), and whether each hover inspects.
HOVER_STATE = """() => {
    const tips = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll('.bk-Tooltip')) tips.push(el.textContent);
        for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    const active = [];
    for (const doc of window.Bokeh.documents)
        for (const model of doc._all_models.values())
            if (model.type === 'HoverTool') active.push(model.active);
    return {tips, active};
}"""


def test_the_hover_rests_while_the_plot_is_dragged(served, page):
    """The hover's tooltip goes at a drag's start and the hover stops inspecting (it placed its
    tooltip twice on every move of a pan); it comes back at the first move after the drag."""
    open_page(page, served.url)
    box = plot_box(page)
    x, y = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.45

    def hover() -> dict:
        return page.evaluate(HOVER_STATE)

    page.mouse.move(x, y)
    assert poll(lambda: hover()["tips"]), "no tooltip before the drag"
    assert hover()["active"] == [True]
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=4)
    assert hover() == {"tips": [], "active": [False]}
    page.mouse.up()
    assert hover()["active"] == [True]
    page.mouse.move(x + 42, y)
    assert poll(lambda: hover()["tips"]), "the tooltip did not come back after the drag"


def test_the_unusual_parts_card_lists_parts_once_opened(served, page):
    """The card's table is made when the card first opens (no page pays for it before): its
    rows show, each serial a link to the part's page."""
    open_page(page, served.url)
    page.get_by_text("Unusual parts", exact=True).click()
    page.get_by_text(re.compile(r"most unusual parts")).first.wait_for(timeout=60_000)
    serial = page.get_by_role("link", name=re.compile(r"^[A-Z]{3}-L\d-\d{6}-\d{6}$")).first
    serial.wait_for(timeout=30_000)
    assert "part?project=" in (serial.get_attribute("href") or "")
    serial.scroll_into_view_if_needed()
    # The reasons wrap inside the table's width (as one line they ran past the card's edge).
    why = page.locator('.tabulator-cell[tabulator-field="why"]').first
    table = page.locator(".tabulator", has=why).first
    cell, frame = why.bounding_box(), table.bounding_box()
    assert cell["x"] + cell["width"] <= frame["x"] + frame["width"] + 4, (cell, frame)  # borders
    assert "σ" in why.inner_text()
    screenshot(page, "explorer-unusual-parts")


def test_envelope_and_reference_part_are_drawn(served, page):
    open_page(page, served.url + "?program=PF-6205-bearing")  # an envelope is of one program
    magenta = count_color(plot_pixels(page), (176, 0, 110))
    page.get_by_role("checkbox", name=re.compile("Percentile envelope")).click()
    page.wait_for_function("() => location.search.includes('envelope=1')")
    assert poll(lambda: count_color(plot_pixels(page), (176, 0, 110)) > magenta + 200)
    # A reference part: the first serial of a selection, drawn thick and black.
    box_select(page)
    page.locator(".tabulator-row").first.wait_for(timeout=30_000)
    row = page.locator(".tabulator-row").first
    serial = row.locator('.tabulator-cell[tabulator-field="part_serial"]').inner_text()
    black = count_color(plot_pixels(page), (17, 17, 17))
    reference = page.get_by_placeholder("serial of a golden part")
    reference.fill(serial)
    reference.press("Enter")
    assert poll(lambda: count_color(plot_pixels(page), (17, 17, 17)) > black + 100)
    assert query(page)["reference"] == serial
    screenshot(page, "explorer-envelope-reference")


def test_colour_map_and_normalisation_change_the_picture(served, page):
    open_page(page, served.url)

    def blues(pixels: np.ndarray) -> int:
        return int((pixels[:, :, 2] > pixels[:, :, 0] + 40).sum())

    def reds(pixels: np.ndarray) -> int:
        return int((pixels[:, :, 0] > pixels[:, :, 2] + 40).sum())

    assert poll(lambda: blues(plot_pixels(page)) > 2000)  # Blues, eq_hist: on screen
    first = plot_pixels(page)
    page.locator("select").filter(has_text="fire").select_option("fire")
    page.wait_for_function("() => location.search.includes('cmap=fire')")
    assert poll(lambda: reds(plot_pixels(page)) > blues(first) / 2)
    assert blues(plot_pixels(page)) < blues(first) / 4
    fire = plot_pixels(page)
    page.get_by_role("button", name="linear", exact=True).click()
    page.wait_for_function("() => location.search.includes('norm=linear')")
    assert poll(lambda: np.abs(plot_pixels(page) - fire).sum(axis=2).astype(bool).sum() > 500)


def test_station_serial_and_time_window_narrow_the_curves(served, page):
    open_page(page, served.url)
    everything, _, _ = status(page)
    # One station, chosen in its picker (the third one: plant, line, station).
    page.locator(".choices", has=page.get_by_placeholder("all")).nth(2).click()
    page.get_by_role("option", name=re.compile(r"-ST\d+$")).first.click()
    page.keyboard.press("Escape")
    assert poll(lambda: status(page)[0] < everything)
    station, _, _ = status(page)
    assert query(page)["station"]
    # A serial search within it: sequence numbers 10 to 19 of each day.
    page.get_by_placeholder("part serial contains…").fill("-00001")
    page.get_by_placeholder("part serial contains…").press("Enter")
    assert poll(lambda: 0 < status(page)[0] < station)
    assert query(page)["serial"] == "-00001"
    # A time window with nothing in it: the empty state.
    since = page.get_by_placeholder("YYYY-MM-DD HH:MM").first  # From, then Until
    since.fill("2030-01-01")
    since.press("Enter")
    page.get_by_text("No curves match these filters.").wait_for(timeout=30_000)
    assert query(page)["start"] == "2030-01-01"


def test_rapid_zooms_end_on_the_last_view(served, page):
    open_page(page, served.url)
    box = plot_box(page)
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.6)
    for _ in range(6):
        page.mouse.wheel(0, -150)
        page.wait_for_timeout(30)
    # Once the last render is shown, the page shows exactly the view in the URL.
    page.wait_for_function("() => location.search.includes('x=')")
    assert poll(lambda: shows_the_url_view(page))


def test_a_listed_part_opens_its_page_and_leads_back(served, page):
    """From the parts table to the part's own page (every station's curve, its result and key
    values) and back to the same explorer view."""
    open_page(page, served.url)
    page.get_by_role("button", name="NOK", exact=True).click()
    page.wait_for_function("() => location.search.includes('result=NOK')")
    explorer_view = address(page)
    box_select(page)
    serial = page.locator(".tabulator-row a").first
    serial.wait_for(timeout=30_000)
    name = serial.inner_text()
    serial.click()
    page.wait_for_url(re.compile(r"/part\?"))
    assert query(page)["serial"] == name and query(page)["project"] == "demo"
    expect(page.get_by_role("heading", name=re.compile(f"Part {re.escape(name)}"))).to_be_visible(
        timeout=30_000
    )
    stations = page.locator("h3", has_text=re.compile(r"-ST\d+$"))
    expect(stations.first).to_be_visible(timeout=30_000)
    assert stations.count() >= 2  # the demo's parts pass every station of their line
    assert page.get_by_text("NOK", exact=True).count() >= 1
    assert page.get_by_text(re.compile(r"^Work \(area\)$")).count() == stations.count()
    assert page.locator(".bk-Canvas, canvas").count() >= stations.count()
    screenshot(page, "part-page")
    page.get_by_role("link", name="← Back to the explorer").click()
    page.wait_for_url(re.compile(r"/curves\?"))
    assert query(page) == query_of(explorer_view)
    status(page)
    assert page.js_errors == []
