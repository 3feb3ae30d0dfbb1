"""The Quality page's control charts of 100,000 parts (issue 19 asks ≤ 1 s): the charts built
from features as the page builds them, drawn as one glyph per point (what the page drew before)
and as counts per cell (:mod:`app.quality.charts`), on the server and in chromium.

- series: :func:`pipelines.feature_charts.chart_feature` over synthetic features with times (the
  page's own step; no curves need storing for it),
- draw: both charts (individuals and moving range) as HoloViews overlays turned into Bokeh
  models and serialised as the server sends them (kB sent),
- on screen: a standalone page of both charts in chromium, from navigation start to the last
  frame whose canvases changed before they went quiet; "charts' own" counts from when the
  page's scripts had run (DOMContentLoaded: BokehJS parsed, which a served page has cached).

Full size also draws 1,000 to 20,000 points both ways, where the glyphs start costing more than
the counts (``DENSE_POINTS``). Medians of a few runs; read them as ratios on a loaded machine.
"""

from __future__ import annotations

import json
import statistics
import time

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
from bokeh.embed import file_html, json_item
from bokeh.layouts import column
from bokeh.resources import INLINE

from app.quality.charts import ControlChart, Shown
from benchmarks.conftest import FULL, report
from pipelines.feature_charts import DENSE_POINTS, chart_feature

hv.extension("bokeh", logo=False)

POINTS = 100_000 if FULL else 1_000
ROUNDS = 3 if FULL else 1
SIZES = [1_000, 2_000, 5_000, 10_000, 20_000] if FULL else []
QUIET_MS = 600 if FULL else 300
WAYS = {"glyphs": 1 << 62, "counts": 0}  # dense_from: never, always
RESULTS: list[dict] = []

# In the page's own clock (0 at navigation start): every frame on which the plots' canvases
# show different pixels (every 8th row hashed).
WATCH = """(() => {
  const w = window.__spc = {changes: [], hash: 0};
  const canvases = (root, out) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' && el.width * el.height >= 40000) out.push(el);
      if (el.shadowRoot) canvases(el.shadowRoot, out);
    }
    return out;
  };
  const frame = () => {
    if (document.body) {
      let h = 0;
      for (const c of canvases(document, [])) {
        h = (Math.imul(h, 31) + c.width) >>> 0;
        const context = c.getContext('2d');
        for (let y = 0; y < c.height; y += 8) {
          const words = new Uint32Array(context.getImageData(0, y, c.width, 1).data.buffer);
          for (let i = 0; i < words.length; i += 2) h = (Math.imul(h, 16777619) ^ words[i]) >>> 0;
        }
      }
      if (h !== w.hash) { w.hash = h; w.changes.push(performance.now()); }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();"""


def features(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` parts' area, one every ~30 s, drifting a little, as Curves.features gives them."""
    rng = np.random.default_rng(seed)
    started = pd.Timestamp("2026-11-02 06:00") + pd.to_timedelta(
        np.arange(n) * 30 + rng.uniform(0, 5, n), unit="s"
    )
    area = rng.normal(10, 1, n) + np.linspace(0, 0.8, n)
    return pd.DataFrame({"curve_id": np.arange(n), "started_at": started, "area": area})


def plots_of(made, dense_from: int, *, brushable: bool = True) -> list:
    """Both charts as the page draws them, as Bokeh models."""
    plots = []
    for i, plotted in enumerate(made.charts):
        at = pd.to_datetime(plotted.at).to_numpy()
        chart = ControlChart(
            Shown(plotted, at, "area", "UTC"),
            dense_from=dense_from,
            on_brush=(lambda boundsx=None: None) if brushable and i == 0 else None,
        )
        plots.append(hv.renderer("bokeh").get_plot(chart.overlay).state)
    return plots


def drawn(made, dense_from: int) -> int:
    """The charts drawn and serialised as the server sends them: bytes sent."""
    return sum(len(json.dumps(json_item(p))) for p in plots_of(made, dense_from))


def best(fn, rounds: int = ROUNDS) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


@pytest.fixture(scope="module")
def made():
    rows = features(POINTS)
    seconds, made = best(lambda: chart_feature(rows, "area"))
    row = {"step": "series (chart_feature)", "points": f"{POINTS:,}", "s": f"{seconds:.3f}"}
    RESULTS.append(row)
    return made


@pytest.mark.benchmark(group="spc")
def test_drawing_the_charts_both_ways(made):
    seconds = {}
    for way, dense_from in WAYS.items():
        drawn(made, dense_from)  # warm: imports, first Bokeh models
        seconds[way], sent = best(lambda d=dense_from: drawn(made, d))
        RESULTS.append(
            {
                "step": f"draw ({way})",
                "points": f"{POINTS:,}",
                "s": f"{seconds[way]:.3f}",
                "kB sent": f"{sent / 1e3:,.0f}",
            }
        )
    RESULTS.append(
        {"step": "draw glyphs / counts", "s": f"{seconds['glyphs'] / seconds['counts']:.1f}×"}
    )
    for n in SIZES:  # where the counts start to pay
        few = chart_feature(features(n, seed=n), "area")
        row = {"step": "draw, glyphs vs counts", "points": f"{n:,}"}
        glyphs, _ = best(lambda f=few: drawn(f, WAYS["glyphs"]))
        counts, _ = best(lambda f=few: drawn(f, WAYS["counts"]))
        RESULTS.append({**row, "s": f"{glyphs:.3f} vs {counts:.3f}"})


@pytest.mark.benchmark(group="spc")
def test_on_screen_in_chromium_both_ways(made, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(WATCH)
    screens = {}
    for way, dense_from in WAYS.items():
        plots = plots_of(made, dense_from, brushable=False)
        page_file = tmp_path / f"{way}.html"
        page_file.write_text(file_html(column(*plots, sizing_mode="stretch_width"), INLINE))
        runs = []
        for _ in range(ROUNDS):  # glyphs: 9 s a page
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            page.goto(page_file.as_uri(), wait_until="commit")
            page.wait_for_function(
                f"() => window.__spc && window.__spc.changes.length > 0 && "
                f"performance.now() - window.__spc.changes.at(-1) > {QUIET_MS}",
                timeout=120_000,
            )
            runs.append(
                page.evaluate(
                    "() => [window.__spc.changes.at(-1), window.__spc.changes.at(-1) - "
                    "performance.getEntriesByType('navigation')[0].domContentLoadedEventStart]"
                )
            )
            assert errors == []
            page.close()
        screens[way] = statistics.median(r[0] for r in runs)
        charts = statistics.median(r[1] for r in runs)
        RESULTS.append(
            {
                "step": f"on screen ({way}), from navigation",
                "points": f"{POINTS:,}",
                "s": f"{screens[way] / 1e3:.3f}",
                "charts' own s": f"{charts / 1e3:.3f}",
                "kB sent": f"{page_file.stat().st_size / 1e3:,.0f} (html)",
            }
        )
    context.close()
    RESULTS.append(
        {"step": "on screen glyphs / counts", "s": f"{screens['glyphs'] / screens['counts']:.1f}×"}
    )


def teardown_module() -> None:
    if RESULTS:
        report(
            f"SPC charts (DENSE_POINTS = {DENSE_POINTS:,}; medians of {ROUNDS})",
            RESULTS,
            ["step", "points", "s", "charts' own s", "kB sent"],
        )
