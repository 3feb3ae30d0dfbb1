"""Ingest tokens in a real browser, against `curvehouse serve` with its own broker: an admin
makes one on the project's page, the `mosquitto_pub` command shown there works as written, a
refused message shows under the project with its reason, and once revoked the broker refuses
the token."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time

import pytest
from playwright.sync_api import expect

from tests.pipelines.live.conftest import _require_mosquitto
from tests.ui.conftest import BIN, Served, screenshot

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    _require_mosquitto()
    home = tmp_path_factory.mktemp("ingest-home")
    subprocess.run(
        [str(BIN / "curvehouse"), "demo", "--curves", "20"],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    server = Served(home, [str(BIN / "curvehouse"), "serve"], env={"CURVEHOUSE_SIMULATE": "0"})
    yield server
    server.stop()


def publish(command: list[str], message: str | None = None) -> subprocess.CompletedProcess:
    if message is not None:
        command = [*command[: command.index("-m") + 1], message]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def until(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return found


def test_a_token_made_on_the_page_publishes_until_revoked(served, page):
    page.goto(served.url + "projects?project=demo")
    page.get_by_text("Live ingest over MQTT").click()
    expect(page.get_by_text(re.compile(r"publish this project's curves to"))).to_be_visible()
    page.get_by_text("Ingest tokens: who may publish curves over MQTT").click()
    page.get_by_placeholder("press 3 gateway").fill("press 3 gateway")
    page.get_by_role("button", name="Make an ingest token").click()
    shown = page.get_by_text(re.compile(r"^mosquitto_pub "))
    expect(shown).to_be_visible(timeout=15_000)
    command = shlex.split(shown.inner_text())
    screenshot(page, "project-ingest-token")
    # The broker reads new tokens every 2 s: the command works as written within a few.
    first = until(lambda: (r := publish(command)).returncode == 0 and r)
    assert first.returncode == 0, first.stderr
    # The same key with other samples is refused (so the first was stored), as is bad JSON.
    assert (
        publish(command, '{"curve_key": "P-0001/ST010", "x": [0, 1], "y": [7, 8]}').returncode == 0
    )
    assert publish(command, "{not json").returncode == 0
    refresh = page.get_by_role("button", name="Refresh")

    def refused() -> bool:
        refresh.click()
        return page.get_by_text(re.compile(r"2 messages refused")).count() > 0

    until(refused)
    expect(page.get_by_text("conflict", exact=True)).to_be_visible()
    expect(page.get_by_text("not_json", exact=True)).to_be_visible()
    screenshot(page, "project-refused-messages")
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No ingest token works for this project now.")).to_be_visible()
    gone = until(lambda: (r := publish(command)).returncode != 0 and r)
    assert "not authorised" in (gone.stderr + gone.stdout).lower()
    assert not page.js_errors
