"""The served Quality page over a store of 100,000 parts of one station and program (issue 19
asks the SPC page to draw 100,000 points in ≤ 1 s): ``curvehouse serve``, signed in, in
chromium, from navigation start to the last frame whose chart canvases changed before they went
quiet. The page's own work on the server is in it: reading the process's features from the
engine, the drift and unusual-parts summaries, building both charts (individuals and moving
range, counts per cell at this size) and sending them. ``benchmarks/test_spc.py`` takes the
charts' part alone, from synthetic features. A second figure: in the loaded page, choosing
another feature until its charts are on screen.

The store: one process, one station, one program; each part's curve is eight samples of a
ramp whose slope drifts a little, imported from a CSV with ``curvehouse ingest``.
"""

from __future__ import annotations

import os
import statistics
import subprocess

import numpy as np
import pytest

from benchmarks.conftest import FULL, report
from benchmarks.test_spc import WATCH
from tests.ui.conftest import BIN, Served, screenshot

pytestmark = [pytest.mark.benchmark, pytest.mark.ui]

PARTS = 100_000 if FULL else 1_000
ROUNDS = 3 if FULL else 1
QUIET_MS = 1_500
RESULTS: list[dict] = []


def parts_csv(path, parts: int) -> None:
    """``parts`` press-fit parts of ST010/P1, 30 s apart, 8 samples each."""
    rng = np.random.default_rng(1)
    x = np.linspace(0, 7, 8)
    slopes = rng.normal(10, 0.5, parts) + np.linspace(0, 1, parts)
    start = np.datetime64("2026-10-01T06:00:00") + np.arange(parts) * np.timedelta64(30, "s")
    with path.open("w") as out:
        out.write("curve_key,x,y,process,station,program,result,started_at\n")
        for i in range(parts):
            stamp = f"{start[i]}Z"
            for xv in x:
                out.write(f"Q-{i:06d},{xv:g},{slopes[i] * xv:.3f},press-fit,ST010,P1,OK,{stamp}\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("quality-home")
    data = home / "parts.csv"
    parts_csv(data, PARTS)
    subprocess.run(
        [str(BIN / "curvehouse"), "ingest", str(data), "--project", "line"],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=1800,
    )
    server = Served(home, [str(BIN / "curvehouse"), "serve"], env={"CURVEHOUSE_MQTT_LISTEN": "0"})
    yield server
    server.stop()


@pytest.mark.benchmark(group="quality")
def test_the_served_quality_page_draws_every_part(served, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    served.sign_in(page)
    context.add_init_script(WATCH)
    runs, redraws = [], []
    for _ in range(ROUNDS + 1):  # the first one warms the server's page and engine
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(served.url + "quality?project=line", wait_until="commit")
        page.wait_for_function(
            f"() => window.__spc && window.__spc.changes.length > 0 && "
            f"performance.now() - window.__spc.changes.at(-1) > {QUIET_MS}",
            timeout=300_000,
        )
        runs.append(page.evaluate("() => window.__spc.changes.at(-1)"))
        # Another feature chosen in the loaded page: its charts of every part redrawn, from
        # the choice to the last change on screen (what the charts themselves cost a person).
        began = page.evaluate("() => performance.now()")
        page.get_by_label("Feature").select_option(label="Peak y")
        page.wait_for_function(
            f"() => window.__spc.changes.at(-1) > {began} && "
            f"performance.now() - window.__spc.changes.at(-1) > {QUIET_MS}",
            timeout=300_000,
        )
        redraws.append(page.evaluate(f"() => window.__spc.changes.at(-1) - {began}"))
        assert errors == []
        screenshot(page, "quality-served")
        page.close()
    context.close()
    for what, times in (
        ("served Quality page, one station's parts: navigation to charts on screen", runs),
        ("the same page, another feature chosen: choice to charts on screen", redraws),
    ):
        RESULTS.append(
            {
                "what": what,
                "parts": f"{PARTS:,}",
                "median s": f"{statistics.median(times[1:]) / 1e3:.2f}",
                "runs s": ", ".join(f"{r / 1e3:.2f}" for r in times),
            }
        )


def teardown_module() -> None:
    if RESULTS:
        report("The served Quality page", RESULTS, ["what", "parts", "median s", "runs s"])
