"""What a person waits for: the Curve Explorer in Chromium, from a gesture to the new picture.

A real ``curvehouse serve`` on a demo store, Debian's chromium through Playwright. An init
script timestamps, in the page's own clock (``performance.now()``), the gesture (the first
wheel, mouse-down or input event after the step is armed), every animation frame on which the
plot's canvases show different pixels (a cheap hash of ``getImageData``), and the moment the
"Drawing…" notice appears (the status line's, or the plot's own notice the browser shows at
a gesture). Per step:

- feedback: the first frame whose pixels changed after the gesture (the old picture rescaled,
  or the page's first paint),
- notice: when "Drawing…" showed,
- picture: the last frame that changed before the page went quiet, i.e. the new picture;
- after release: for a drag, the picture counted from the mouse's release, when the server can
  first be asked for the new view (the drag itself is the person's own time).

Page loads (a shared link, the Overview) count from navigation start. Each step is repeated;
the table gives median and max in ms. The toy run (``make test``) checks that each gesture
really changed the picture; timings are for ``make bench`` (the 10k demo).
"""

from __future__ import annotations

import statistics
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from benchmarks.conftest import DEMO_CURVES, FULL, parent_and_cpu, report
from tests.ui.conftest import BIN, Served

pytestmark = pytest.mark.ui

CURVES = DEMO_CURVES
REPEATS = 5 if FULL else 1
IDLE_PAGES, IDLE_SECONDS = (6, 15) if FULL else (2, 2)
QUIET_MS = 700 if FULL else 400  # no new pixels for this long: the picture is final
RESULTS: list[dict] = []
IDLE: list[dict] = []

# Panel renders into shadow roots: walk them. Big canvases only (the plots', not icons').
WATCH = """(() => {
  const ch = window.__ch = {t0: null, armed: false, changes: [], notices: [], hash: 0,
                            noticeShown: false, released: null};
  // Finding the canvases and texts walks every shadow root: done every 200 ms (or when a
  // canvas left the page), not on every frame, so the watch itself costs the page little.
  const walk = (root, out) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' && el.width * el.height >= 40000) out.canvases.push(el);
      else if (el.childElementCount === 0 && /Drawing…| curves? · x /.test(el.textContent || ''))
        out.texts.add(el.getRootNode());
      if (el.shadowRoot) walk(el.shadowRoot, out);
    }
    return out;
  };
  const survey = () => {
    const seen = walk(document, {canvases: [], texts: new Set(), models: []});
    for (const doc of (window.Bokeh && window.Bokeh.documents) || [])
      for (const model of doc._all_models.values())  // the plot's own notice
        if (model.name === 'ch-drawing') seen.models.push(model);
    seen.at = performance.now();
    return seen;
  };
  // Every 12th row of each canvas: any new picture changes some of them.
  const hashOf = (canvas) => {
    let h = canvas.width * 31 + canvas.height;
    try {
      const context = canvas.getContext('2d');
      for (let y = 0; y < canvas.height; y += 12) {
        const words = new Uint32Array(context.getImageData(0, y, canvas.width, 1).data.buffer);
        for (let i = 0; i < words.length; i += 3) h = (Math.imul(h, 16777619) ^ words[i]) >>> 0;
      }
    } catch (e) { h = -1; }
    return h;
  };
  ch.arm = () => {
    ch.t0 = null; ch.armed = true; ch.changes = []; ch.notices = []; ch.released = null;
  };
  ch.gesture = (t) => { if (ch.armed && ch.t0 === null) ch.t0 = t; };
  for (const kind of ['wheel', 'mousedown', 'input', 'change'])
    window.addEventListener(kind, () => ch.gesture(performance.now()), true);
  // A drag's end: the server can only be asked for the new view once the mouse lets go.
  window.addEventListener('mouseup', () => { if (ch.armed) ch.released = performance.now(); },
                          true);
  let seen = null;
  const frame = () => {
    const now = performance.now();
    if (document.body) {
      if (!seen || now - seen.at > 200 || seen.canvases.some((c) => !c.isConnected))
        seen = survey();
      let h = seen.canvases.length;
      for (const c of seen.canvases) h = (Math.imul(h, 31) + hashOf(c)) >>> 0;
      if (h !== ch.hash) { ch.hash = h; ch.changes.push(now); }
      const notice = seen.models.some((m) => m.visible) ||
        [...seen.texts].some((root) => (root.textContent || '').includes('Drawing…'));
      if (notice && !ch.noticeShown) ch.notices.push(now);
      ch.noticeShown = notice;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();"""


STATUS = r"/^[\d,]+ curves? · x \S+ to \S+ · \d+ ms/"


@pytest.fixture(scope="module")
def served(demo_home):
    server = Served(demo_home, [str(BIN / "curvehouse"), "serve"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def context(served, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(WATCH)
    page = context.new_page()
    served.sign_in(page)
    page.close()
    yield context
    context.close()


def status_text(page) -> str:
    return page.get_by_text(_status_re()).first.text_content(timeout=60_000)


def _status_re():
    import re

    return re.compile(STATUS.strip("/"))


def settle(page, before: str | None, timeout: float = 60.0) -> dict:
    """Wait for the server's answer (a new status line), then for the pixels to go quiet."""
    from playwright.sync_api import expect

    status = page.get_by_text(_status_re()).first
    if before is None:
        status.wait_for(timeout=timeout * 1e3)
    else:
        expect(status).not_to_have_text(before, timeout=timeout * 1e3)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        quiet = page.evaluate("() => performance.now() - (window.__ch.changes.at(-1) ?? 0)")
        if quiet >= QUIET_MS:
            break
        time.sleep(0.05)
    return page.evaluate("() => window.__ch")


def timings(marks: dict, t0: float) -> dict:
    changes = [t for t in marks["changes"] if t >= t0]
    notices = [t for t in marks["notices"] if t >= t0]
    return {
        "feedback": changes[0] - t0 if changes else None,
        "notice": notices[0] - t0 if notices else None,
        "picture": changes[-1] - t0 if changes else None,
        "after release": (
            changes[-1] - marks["released"] if changes and marks.get("released") else None
        ),
        "hash": marks["hash"],
    }


def gesture(page, action) -> dict:
    """Arm the watch, act, wait until the picture is final; times from the gesture event."""
    before = status_text(page)
    old = page.evaluate("() => { window.__ch.arm(); return window.__ch.hash; }")
    fallback = page.evaluate("() => performance.now()")
    action()
    marks = settle(page, before)
    done = timings(marks, marks["t0"] if marks["t0"] is not None else fallback)
    done["changed"] = done["hash"] != old
    return done


def plot_box(page) -> dict:
    return page.locator("canvas").first.bounding_box()


def wheel(page, i: int) -> None:
    box = plot_box(page)
    page.mouse.move(box["x"] + box["width"] * (0.4 + 0.05 * i), box["y"] + box["height"] * 0.5)
    page.mouse.wheel(0, -300)


def drag(page, i: int) -> None:
    box = plot_box(page)
    y = box["y"] + box["height"] * 0.5
    a, b = (0.35, 0.6) if i % 2 == 0 else (0.6, 0.4)
    page.mouse.move(box["x"] + box["width"] * a, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * b, y, steps=6)
    page.mouse.up()


def choose_process(page, i: int) -> None:
    select = page.locator("select").filter(has_text="screwdriving")
    options = [o for o in select.locator("option").all_inner_texts() if o.strip()]
    current = select.input_value()
    others = [o for o in options if o != current]
    select.select_option(others[i % len(others)])


def summarise(step: str, runs: list[dict]) -> dict:
    row = {"step": step, "curves": f"{CURVES:,}", "runs": len(runs)}
    for key in ("feedback", "notice", "picture", "after release"):
        values = [r[key] for r in runs if r[key] is not None]
        row[f"{key} median"] = f"{statistics.median(values):.0f}" if values else "-"
        row[f"{key} max"] = f"{max(values):.0f}" if values else "-"
    return row


@pytest.mark.benchmark(group="browser-wait")
def test_gestures_to_pixels(served, context):
    page = context.new_page()
    page.goto(served.url, wait_until="domcontentloaded")
    settle(page, None)
    for step, act in (
        ("wheel zoom", wheel),
        ("pan (drag)", drag),
        ("change process", choose_process),
    ):
        runs = [gesture(page, lambda i=i, act=act: act(page, i)) for i in range(REPEATS)]
        assert all(r["changed"] for r in runs), f"{step}: the picture did not change"
        assert all(r["picture"] is not None for r in runs), step
        RESULTS.append(summarise(step, runs))
    # A zoomed view to share.
    gesture(page, lambda: wheel(page, 0))
    link = page.url
    assert "x" in parse_qs(urlsplit(link).query), f"no view in the shared link {link}"
    page.close()

    runs = []
    for _ in range(REPEATS):
        opened = context.new_page()
        opened.goto(link, wait_until="commit")
        marks = settle(opened, None)
        done = timings(marks, 0.0)
        assert marks["changes"], "a shared link drew nothing"
        runs.append(done)
        opened.close()
    RESULTS.append(summarise("open a shared link", runs))


@pytest.mark.benchmark(group="browser-wait")
def test_overview_first_load(served, context):
    runs = []
    for _ in range(REPEATS):
        page = context.new_page()
        page.goto(served.url + "home", wait_until="commit")
        page.get_by_text("Curves per plant, line and station").wait_for(timeout=120_000)
        page.locator("canvas").first.wait_for(timeout=120_000)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            quiet = page.evaluate("() => performance.now() - (window.__ch.changes.at(-1) ?? 0)")
            if quiet >= QUIET_MS:
                break
            time.sleep(0.05)
        marks = page.evaluate("() => window.__ch")
        assert marks["changes"], "the Overview drew no picture"
        runs.append(timings(marks, 0.0))
        page.close()
    RESULTS.append(summarise("Overview first load", runs))


@pytest.mark.benchmark(group="browser-wait")
def test_server_while_explorer_pages_sit_open(served, context):
    """A line's screens left open: what the server spends on pages nobody touches (their
    polls and clocks), in per cent of one core."""
    pages = []
    try:
        for _ in range(IDLE_PAGES):
            page = context.new_page()
            page.goto(served.url, wait_until="commit")
            settle(page, None)
            pages.append(page)
        time.sleep(2)
        pid = served.process.pid
        began, cpu = time.monotonic(), parent_and_cpu(pid)[1]
        time.sleep(IDLE_SECONDS)
        used = (parent_and_cpu(pid)[1] - cpu) / (time.monotonic() - began)
    finally:
        for page in pages:
            page.close()
    IDLE.append(
        {
            "explorer pages open": IDLE_PAGES,
            "seconds": IDLE_SECONDS,
            "server CPU, % of a core": f"{100 * used:.1f}",
        }
    )


def test_report():
    if IDLE:
        report("The server while explorer pages sit open, untouched", IDLE, list(IDLE[0]))
    if not RESULTS:
        pytest.skip("browser benchmarks did not run")
    report(
        "What a person waits for, in Chromium (ms from the gesture or navigation start)",
        RESULTS,
        [
            "step",
            "curves",
            "runs",
            "feedback median",
            "feedback max",
            "notice median",
            "notice max",
            "picture median",
            "picture max",
            "after release median",
            "after release max",
        ],
    )
