"""Following the line in a real browser: parts published over MQTT while the page is open are
committed by the server's own listener and appear on the page."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from pipelines.live.broker import SERVICE_USER, EmbeddedBroker, Publisher
from tests.pipelines.live.conftest import Gateway, _require_mosquitto
from tests.pipelines.live.plant import map_feed
from tests.ui.conftest import BIN, Served, screenshot

pytestmark = pytest.mark.ui
LIVE = re.compile(r"Live · last 15 min · updated \d\d:\d\d:\d\d .* · (\d+) curves? · ")


GATEWAY = Publisher("line-gateway", "gateway-secret-7", "demo")


@pytest.fixture(scope="module")
def plant_broker(tmp_path_factory):
    """The plant's broker (a mosquitto of its own), with a gateway that may publish to demo."""
    _require_mosquitto()
    broker = EmbeddedBroker(tmp_path_factory.mktemp("plant"), port=0, publishers=[GATEWAY])
    yield broker.start()
    broker.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory, plant_broker):
    home = tmp_path_factory.mktemp("live-home")
    environment = {**os.environ, "CURVEHOUSE_HOME": str(home)}
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", "60"],
        env=environment,
        check=True,
        capture_output=True,
        timeout=300,
    )
    # On the plant's broker the project takes its topic through a feed its owner mapped.
    secret = plant_broker.service_secret()
    map_feed(home, "demo", "curvehouse/demo/curves", SERVICE_USER, secret)
    server = Served(
        home, [str(BIN / "curvehouse"), "serve"], env={"CURVEHOUSE_MQTT_URL": plant_broker.url}
    )
    yield server
    server.stop()


def publish_parts(gateway: Gateway, count: int) -> None:
    """``count`` press-fit parts started a minute ago, one message each, as a line publishes."""
    started = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for c in range(count):
        body = {
            "curve_key": f"live-{datetime.now(UTC):%H%M%S%f}-{c}",
            "x": [i / 2 for i in range(20)],
            "y": [c + i * i / 5 for i in range(20)],
            "process": "press-fit",
            "station": "ST-LIVE",
            "started_at": started,
        }
        gateway.publish("curvehouse/demo/curves", json.dumps(body))


@pytest.fixture
def gateway(plant_broker):
    gw = Gateway(plant_broker.port, GATEWAY.username, GATEWAY.secret)
    assert gw.connected.wait(30) and not gw.refused
    yield gw
    gw.close()


def test_parts_published_while_following_appear_and_a_zoom_pauses(served, gateway, page):
    page.goto(served.url + "curves?project=demo&process=press-fit")
    # The switch as a person turns it on: Follow the line → Last 15 min.
    page.get_by_label("Follow the line (live)").select_option(label="Last 15 min", timeout=30_000)
    expect(page.get_by_text("No part of this line started in the last 15 min yet")).to_be_visible(
        timeout=30_000
    )
    expect(page).to_have_url(re.compile(r"live=15m"), timeout=15_000)
    publish_parts(gateway, 4)
    status = page.get_by_text(LIVE).first
    expect(status).to_contain_text(" · 4 curves · ", timeout=15_000)
    screenshot(page, "live-following")
    publish_parts(gateway, 3)
    expect(status).to_contain_text(" · 7 curves · ", timeout=15_000)
    # Pointing at the curves pauses following until Resume; so does a wheel zoom (the pointer
    # is over the curves then too, so the page may say either; tests/app/explorer/test_live.py
    # pauses by each alone).
    box = page.locator("canvas").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.get_by_text("Live paused: you pointed at curves")).to_be_visible(timeout=15_000)
    screenshot(page, "live-paused")
    resume = page.get_by_role("button", name="Resume following")
    resume.click()
    expect(page.get_by_text(LIVE).first).to_be_visible(timeout=15_000)
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)  # the click moved it
    page.mouse.wheel(0, -300)
    expect(
        page.get_by_text(re.compile("Live paused: you (zoomed or panned|pointed at curves)"))
    ).to_be_visible(timeout=15_000)
    expect(page).to_have_url(re.compile(r"[?&]x="), timeout=15_000)  # the zoom reached the server
    resume.click()
    expect(page.get_by_text(LIVE).first).to_be_visible(timeout=15_000)
    assert not page.js_errors


def test_the_station_board_shows_a_station_as_its_parts_arrive_on_a_tv_and_a_phone(
    served, gateway, page
):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(served.url + "board?project=demo")
    expect(page.get_by_text(re.compile(r"Station board · demo"))).to_be_visible(timeout=30_000)
    publish_parts(gateway, 3)
    tile = page.locator('[data-station="ST-LIVE"]')
    expect(tile).to_contain_text("● running", timeout=15_000)
    expect(tile).to_contain_text("NOK this shift (0 of")
    screenshot(page, "board-tv")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(tile).to_be_visible()
    page.wait_for_timeout(500)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    screenshot(page, "board-phone")
    assert not page.js_errors


def test_a_kiosk_link_shows_the_board_signed_out_until_it_is_revoked(served, page, browser):
    page.goto(served.url + "board?project=demo")
    page.get_by_text("Kiosk links for a screen at the line").click()
    page.get_by_placeholder("TV at line 1").fill("TV at the press line")
    page.get_by_role("button", name="Make a kiosk link").click()
    shown = page.get_by_text(re.compile(r"/board\?project=demo&kiosk=chk_"))
    expect(shown).to_be_visible(timeout=15_000)
    address = re.search(r"http\S+kiosk=chk_[\w-]+", shown.first.inner_text())[0]
    screen = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
    screen.goto(address)
    expect(screen.locator("[data-station]").first).to_be_visible(timeout=30_000)
    expect(screen.locator(".ch-tile a")).to_have_count(0)  # no way elsewhere
    expect(screen.get_by_role("link", name="Curves")).to_have_count(0)
    screenshot(screen, "board-kiosk")
    screen.goto(served.url + "curves")  # the link opens the board, nothing else
    expect(screen).to_have_url(re.compile(r"/login"))
    screen.goto(address)
    expect(screen.locator("[data-station]").first).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Revoke").click()
    expect(screen.get_by_text("This kiosk link was revoked")).to_be_visible(timeout=15_000)
    screen.goto(address)
    expect(screen).to_have_url(re.compile(r"/login"))
    screen.context.close()


def test_make_runs_demo_plant_is_a_line_producing_parts(tmp_path_factory, browser):
    """`make run` serves with CURVEHOUSE_SIMULATE=1: the demo plant publishes over MQTT to the
    server's own broker and listener, and the board shows its stations running."""
    home = tmp_path_factory.mktemp("simulated-home")
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", "30"],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    server = Served(
        home,
        [str(BIN / "curvehouse"), "serve"],
        env={"CURVEHOUSE_SIMULATE": "1", "CURVEHOUSE_SIMULATE_RATE": "20/s"},
    )
    try:
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        server.sign_in(page, then="/api/me")
        page.goto(server.url + "board?project=demo&line=LEJ-L1")
        running = page.locator(".ch-tile", has_text="● running")
        expect(running).to_have_count(3, timeout=90_000)  # the line's three stations
        screenshot(page, "board-simulated")
        page.context.close()
    finally:
        server.stop()
    assert "The demo plant publishes curves at 20/s" in server.output
