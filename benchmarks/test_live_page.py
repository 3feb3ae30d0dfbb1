"""A live page (issue 18's "Speed"): from a curve's commit to the new picture on screen.

A real ``curvehouse serve`` with its own broker and listener, the Curve Explorer following
press-fit (``live=15m``) in Debian's chromium, watched by the frame script of
``test_browser_wait`` (every animation frame on which the plot's canvases show new pixels, in
the page's clock). A gateway publishes one part at a time over MQTT (QoS 1); per part:

- *commit*: its dataset's ``created_at`` in the engine (this machine's clock),
- *pixels*: the first frame after the publish whose canvases changed, as epoch ms
  (``performance.timeOrigin + performance.now()``),

so *commit to pixels* is what the page adds to ingest, and *publish to pixels* what a person at
the line waits for. Before the rounds the window is filled with a burst of parts (200; toy 5),
so the picture is a real one. Median and max over the rounds; toy size (``make test``) checks
that every part reached the screen."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.conftest import FULL, report
from benchmarks.test_browser_wait import WATCH
from pipelines.live.broker import kept_publishers
from pipelines.synthetic.generator import DEMO_PROJECT
from tests.pipelines.live.conftest import Gateway, _require_mosquitto
from tests.ui.conftest import BIN, Served, screenshot

pytestmark = [pytest.mark.benchmark, pytest.mark.ui]

FILL = 200 if FULL else 5
ROUNDS = 8 if FULL else 2
SIMULATOR = "curvehouse-simulator"  # app.live's login for the demo plant
PAGE = f"curves?project={DEMO_PROJECT}&process=press-fit&live=15m"
RESULTS: list[dict] = []


def part(key: str, i: int) -> bytes:
    started = datetime.now(UTC) - timedelta(seconds=30)
    x = [j / 10 for j in range(300)]
    return json.dumps(
        {
            "curve_key": key,
            "x": x,
            "y": [(1 + (i % 7) / 10) * v * v for v in x],
            "process": "press-fit",
            "station": "ST-PIXELS",
            "started_at": started.isoformat(),
        }
    ).encode()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _require_mosquitto()
    home = tmp_path_factory.mktemp("live-page")
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", "60"],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=600,
    )
    # The demo plant's login, its plant at 1 part an hour: the gateway publishes with it.
    kept_publishers(home / "broker", [(SIMULATOR, DEMO_PROJECT)])
    server = Served(
        home,
        [str(BIN / "curvehouse"), "serve"],
        env={
            "CURVEHOUSE_MQTT_PORT": "0",
            "CURVEHOUSE_SIMULATE": "1",
            "CURVEHOUSE_SIMULATE_RATE": "1/h",
        },
    )
    yield server, home
    server.stop()


def test_commit_to_pixels(served, browser):
    server, home = served
    login = kept_publishers(home / "broker", [(SIMULATOR, DEMO_PROJECT)])[0]
    port = int((home / "broker" / "mosquitto.conf").read_text().split()[1])
    from providers.engines import get_engine

    engine = get_engine("embedded", path=home / "chdb").client()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    server.sign_in(page)
    page.goto(server.url + PAGE)
    page.get_by_text("No part of this line started in the last 15 min yet").wait_for(
        timeout=120_000
    )
    gateway = Gateway(port, login.username, login.secret)
    assert gateway.connected.wait(30) and not gateway.refused
    tag = f"px{time.time_ns() % 10**9}"
    for i in range(FILL):
        gateway.publish(f"curvehouse/{DEMO_PROJECT}/curves", part(f"{tag}-fill-{i}", i))
    page.get_by_text(f"· {FILL} curve").first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    rounds = []
    for r in range(ROUNDS):
        page.evaluate("() => window.__ch.arm()")
        key = f"{tag}-round-{r}"
        published = time.time() * 1000
        gateway.publish(f"curvehouse/{DEMO_PROJECT}/curves", part(key, r))
        page.get_by_text(f"· {FILL + r + 1} curves").first.wait_for(timeout=60_000)
        page.wait_for_timeout(300)
        changes = page.evaluate("() => window.__ch.changes.map((t) => performance.timeOrigin + t)")
        pixels = next((t for t in changes if t > published), None)
        rows = engine.query(
            "SELECT toUnixTimestamp64Milli(d.created_at) FROM curvehouse.datasets AS d "
            "WHERE d.dataset_id IN (SELECT dataset_id FROM curvehouse.curves "
            "WHERE project = {p:String} AND curve_key = {k:String})",
            parameters={"p": DEMO_PROJECT, "k": key},
        ).result_rows
        assert rows and pixels is not None, (rows, changes, published)
        rounds.append({"commit": pixels - rows[0][0], "publish": pixels - published})
        page.wait_for_timeout(700)  # another second's tick: rounds do not share one
    screenshot(page, "bench-live-page")
    gateway.close()
    context.close()
    engine.close()
    assert not errors, errors
    for what in ("commit", "publish"):
        values = [r[what] for r in rounds]
        RESULTS.append(
            {
                "from": f"{what} to pixels",
                "median ms": f"{statistics.median(values):,.0f}",
                "max ms": f"{max(values):,.0f}",
                "rounds": len(values),
                "curves in the window": FILL + ROUNDS,
            }
        )


def test_report():
    if RESULTS:
        report(
            "A live page: from a curve's commit (and publish) to new pixels on screen",
            RESULTS,
            ["from", "median ms", "max ms", "rounds", "curves in the window"],
        )
