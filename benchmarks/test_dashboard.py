"""What a person waits for when opening a dashboard: in Chromium, from navigating to its URL to
every panel drawn (issue 20 asks for 2 s on the 10k demo).

A real ``curvehouse serve`` on a demo store, a dashboard of two saved views (one coloured by
result), two KPI tiles and a trend made in its metadata store, and Debian's chromium through
Playwright. An init script checks on every animation frame, in the page's own clock
(``performance.now()``, 0 at navigation start), whether each panel shows its figures: a painted
canvas in a view or trend panel, a number in a KPI tile; the first frame where all do is the
time ("grid shown": when the page first showed every panel, still drawing). The toy run
(``make test``) checks that every panel is drawn with real figures; timings are for ``make
bench`` (the 10k demo).
"""

from __future__ import annotations

import statistics

import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from benchmarks.conftest import DEMO_CURVES, FULL, report
from models import dashboards, saved_views
from models.access import operator
from models.settings import Settings
from models.store import open_metadata
from models.tables import Project
from tests.ui.conftest import BIN, Served

pytestmark = pytest.mark.ui

CURVES = DEMO_CURVES
REPEATS = 5 if FULL else 1
RESULTS: list[dict] = []

# Panels and what shows they are drawn, walking Panel's shadow roots.
WATCH = """(() => {
  const ch = window.__dash = {expected: EXPECTED, drawnAt: null, seen: 0, panelsAt: null};
  const painted = (canvas) => {
    if (canvas.width * canvas.height < 4000) return false;
    try {
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < data.length; i += 4 * 97) if (data[i] !== 0) return true;
    } catch (e) { return false; }
    return false;
  };
  const inside = (root, test) => {
    for (const el of root.querySelectorAll('*')) {
      if (test(el)) return true;
      if (el.shadowRoot && inside(el.shadowRoot, test)) return true;
    }
    return false;
  };
  const panels = (root, out) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.classList && el.classList.contains('ch-panel')) out.push(el);
      else if (el.shadowRoot) panels(el.shadowRoot, out);
    }
    return out;
  };
  const drawn = (panel) => {
    const root = panel.shadowRoot || panel;
    if (panel.classList.contains('ch-panel-kpi'))
      return inside(root, (el) => el.matches && el.matches('b[data-metric]') &&
                                  /\\d/.test(el.textContent));
    return inside(root, (el) => el.tagName === 'CANVAS' && painted(el));
  };
  const frame = () => {
    if (ch.drawnAt === null && document.body) {
      const found = panels(document, []);
      if (ch.panelsAt === null && found.length === ch.expected) ch.panelsAt = performance.now();
      ch.seen = found.filter(drawn).length;
      if (found.length === ch.expected && ch.seen === ch.expected) ch.drawnAt = performance.now();
    }
    if (ch.drawnAt === null) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();"""


def seed(home) -> tuple[int, int]:
    """Two shared saved views and a dashboard of five panels in the demo project."""
    store = open_metadata(Settings(home=home))
    try:
        with store.sessions() as session:
            project = session.scalar(sa.select(Project).where(Project.name == "demo"))
            actor = operator("benchmark")
            views = [
                saved_views.save_view(
                    session=session,
                    actor=actor,
                    project=project,
                    name=name,
                    query=query,
                    shared=True,
                )
                for name, query in (
                    ("Press-fit NOK", {"project": "demo", "process": "press-fit", "result": "NOK"}),
                    (
                        "Screwdriving",
                        {"project": "demo", "process": "screwdriving", "color_by": "result"},
                    ),
                )
            ]
            session.flush()
            panels = [
                {"kind": "view", "view_id": views[0].id, "x": 0, "y": 0, "w": 6, "h": 4},
                {"kind": "view", "view_id": views[1].id, "x": 6, "y": 0, "w": 6, "h": 4},
                {
                    "kind": "kpi",
                    "metric": "first_pass_yield",
                    "filter": {},
                    "x": 0,
                    "y": 4,
                    "w": 3,
                    "h": 2,
                },
                {
                    "kind": "kpi",
                    "metric": "nok_rate",
                    "filter": {"process": "press-fit"},
                    "x": 3,
                    "y": 4,
                    "w": 3,
                    "h": 2,
                },
                {
                    "kind": "trend",
                    "metric": "parts_per_hour",
                    "bucket": "shift",
                    "filter": {},
                    "x": 6,
                    "y": 4,
                    "w": 6,
                    "h": 3,
                },
            ]
            board = dashboards.create_dashboard(
                session=session,
                actor=actor,
                project=project,
                name="Benchmark",
                panels=panels,
                shared=True,
            )
            session.commit()
            return board.id, len(panels)
    finally:
        store.close()


@pytest.fixture(scope="module")
def served(demo_home):
    server = Served(demo_home, [str(BIN / "curvehouse"), "serve"], env={"CURVEHOUSE_SIMULATE": "0"})
    server.board, server.panels = seed(demo_home)
    yield server
    server.stop()


@pytest.mark.benchmark(group="browser-wait")
def test_opening_a_dashboard(served, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # The count is in the script itself: set from here after "commit", it could land on the
    # document before the dashboard's, and the new one would wait for nothing for ever.
    context.add_init_script(WATCH.replace("EXPECTED", str(served.panels)))
    page = context.new_page()
    served.sign_in(page)
    page.close()
    link = f"{served.url}dashboards?dashboard={served.board}"
    runs = []
    warm = 1 if FULL else 0  # the full run's first opening warms the server: not counted
    for _ in range(REPEATS + warm):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(link, wait_until="commit")
        try:
            page.wait_for_function("() => window.__dash.drawnAt !== null", timeout=60_000)
        except PlaywrightTimeout:
            seen = page.evaluate("() => window.__dash")
            raise AssertionError(f"not every panel drawn after 60 s: {seen}") from None
        runs.append(
            page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return [window.__dash.panelsAt, window.__dash.drawnAt, n.responseStart,"
                " n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd]; }"
            )
        )
        assert errors == []
        page.close()
    context.close()
    grids, drawn, first_byte, page_sent, scripts, loaded = zip(*runs[warm:], strict=True)
    RESULTS.append(
        {
            "step": "open a dashboard (5 panels)",
            "curves": f"{CURVES:,}",
            "runs": len(drawn),
            # Where the wait goes: the server's page (first byte, last byte), the browser's
            # scripts (DOMContentLoaded), the page's load event, then the panels.
            "first byte": f"{statistics.median(first_byte):.0f}",
            "page sent": f"{statistics.median(page_sent):.0f}",
            "scripts run": f"{statistics.median(scripts):.0f}",
            "loaded": f"{statistics.median(loaded):.0f}",
            "grid shown median": f"{statistics.median(grids):.0f}",
            "all drawn median": f"{statistics.median(drawn):.0f}",
            "all drawn max": f"{max(drawn):.0f}",
        }
    )


def test_report():
    if not RESULTS:
        pytest.skip("the dashboard benchmark did not run")
    report(
        "Opening a dashboard in Chromium (ms from navigation start)",
        RESULTS,
        list(RESULTS[0]),
    )
