"""The overview page in a real browser, served by `curvehouse serve` and by `panel serve`."""

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.ui.conftest import BIN, Served, screenshot

pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def figures(page) -> list[str]:
    """The figure cards' values, in order (Number indicators: a name, then the value)."""
    return [card.locator("div").last.inner_text() for card in page.locator(".ch-figure").all()]


def test_landing_page_shows_the_demo_plant(served, page):
    page.goto(served.url + "home", wait_until="networkidle")
    page.get_by_text("Curves per plant, line and station").wait_for(timeout=30_000)
    kpis = figures(page)
    assert kpis[0] == "600"
    assert kpis[-1].endswith("B/pt")  # storage, the last card
    for plant in ("Leipzig", "Győr", "Greenville"):
        assert page.get_by_text(f"plant: {plant}").count() == 1
    # One raster per process, drawn by bokeh on canvas.
    page.wait_for_timeout(1500)
    assert page.locator("canvas").count() >= 3
    shot = screenshot(page, "home")
    assert shot.stat().st_size > 50_000
    assert page.js_errors == []


def test_no_request_leaves_the_machine(served, browser):
    context = browser.new_context()
    page = context.new_page()
    outside = []

    def record(request):
        url = urlsplit(request.url)  # blob: and data: URLs never leave the browser
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in (
            "localhost",
            "127.0.0.1",
        ):
            outside.append(request.url)

    page.on("request", record)
    served.sign_in(page)
    for slug in ("", "home", "clusters"):
        page.goto(served.url + slug, wait_until="networkidle")
    context.close()
    assert outside == []


def test_panel_serve_on_the_page_modules(demo_home, shared_demo, page):
    shared_demo.release()  # chDB lets one process open a data directory
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "app" / "pages").glob("[a-z]*.py"))
    # "=" keeps a secret that starts with "-" from reading as an option.
    login = ["--auth-module", "app/auth/module.py", f"--cookie-secret={secrets.token_urlsafe(48)}"]
    server = Served(demo_home, [str(BIN / "panel"), "serve", *modules, "--index", "curves", *login])
    try:
        server.sign_in(page)
        page.goto(server.url, wait_until="networkidle")  # the index: the explorer
        page.get_by_text(re.compile(r"curves · x .* ms")).first.wait_for(timeout=30_000)
        page.get_by_role("link", name="Overview").click()
        page.get_by_text("Newest curves").wait_for(timeout=30_000)
        assert figures(page)[0] == "600"
    finally:
        server.stop()
