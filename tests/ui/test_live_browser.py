"""Following the line in a real browser: parts committed while the page is open appear on it."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import BIN, Served, screenshot

pytestmark = pytest.mark.ui
LIVE = re.compile(r"Live · last 15 min · updated \d\d:\d\d:\d\d .* · (\d+) curves? · ")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("live-home")
    environment = {**os.environ, "CURVEHOUSE_HOME": str(home)}
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", "60"],
        env=environment,
        check=True,
        capture_output=True,
        timeout=300,
    )
    server = Served(home, [str(BIN / "curvehouse"), "serve"])
    server.environment = environment
    yield server
    server.stop()


def commit_parts(served, folder, count: int) -> None:
    """``count`` press-fit parts started a minute ago, through `curvehouse ingest` while the
    server holds the engine (as the MQTT listener commits them)."""
    started = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rows = ["curve_key,x,y,process,station,started_at"]
    for c in range(count):
        key = f"live-{datetime.now(UTC):%H%M%S%f}-{c}"
        rows += [f"{key},{i / 2},{c + i * i / 5},press-fit,ST-LIVE,{started}" for i in range(20)]
    path = folder / f"parts-{datetime.now(UTC):%H%M%S%f}.csv"
    path.write_text("\n".join(rows) + "\n")
    subprocess.run(
        [str(BIN / "curvehouse"), "ingest", str(path), "--project", "demo"],
        env=served.environment,
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_parts_committed_while_following_appear_and_a_zoom_pauses(served, page, tmp_path):
    page.goto(served.url + "curves?project=demo&process=press-fit&live=15m")
    expect(page.get_by_text("No part of this line started in the last 15 min yet")).to_be_visible(
        timeout=30_000
    )
    commit_parts(served, tmp_path, 4)
    status = page.get_by_text(LIVE).first
    expect(status).to_contain_text(" · 4 curves · ", timeout=15_000)
    screenshot(page, "live-following")
    commit_parts(served, tmp_path, 3)
    expect(status).to_contain_text(" · 7 curves · ", timeout=15_000)
    # Pointing at the curves, then a wheel zoom, pause following until Resume.
    box = page.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    expect(
        page.get_by_text(re.compile("Live paused: you (zoomed or panned|pointed at curves)"))
    ).to_be_visible(timeout=15_000)
    screenshot(page, "live-paused")
    page.get_by_role("button", name="Resume following").click()
    expect(page.get_by_text(LIVE).first).to_be_visible(timeout=15_000)
    assert not page.js_errors
