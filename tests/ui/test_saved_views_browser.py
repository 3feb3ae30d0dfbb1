"""Saved views in a real browser: save the explorer's filter under a name, open the view's link
in a fresh tab, and see the same filter and the same curves."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import query, screenshot
from tests.ui.test_curves_browser import STATUS, open_page, status

pytestmark = pytest.mark.ui

NAME = "Rejected parts, saved by the browser test"


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def filtered_count(page, everything: int) -> int:
    """The count once the filtered view has landed (a render of the view before may still be
    on its way when the status line first changes)."""
    deadline = time.monotonic() + 30
    while (shown := status(page)[0]) == everything and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return shown


def test_a_saved_view_reopens_by_its_link(served, page, browser):
    open_page(page, served.url)
    everything, _, _ = status(page)
    before = page.get_by_text(STATUS).first.inner_text()
    page.get_by_role("button", name="NOK", exact=True).click()
    expect(page.get_by_text(STATUS).first).not_to_have_text(before, timeout=30_000)
    nok = filtered_count(page, everything)
    assert 0 < nok < everything
    page.wait_for_function("() => location.search.includes('result=NOK')")
    saved_query = query(page)

    page.get_by_text("Saved views", exact=True).click()  # folded until asked for
    page.get_by_placeholder("e.g. NOK at station 2").fill(NAME)
    page.get_by_placeholder("e.g. NOK at station 2").press("Enter")
    page.get_by_text("Share with the project").click()
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text(re.compile(r"^Saved “Rejected parts"))).to_be_visible(timeout=10_000)
    link = page.locator("a[href^='/curves?view=']")
    href = link.get_attribute("href")
    assert re.fullmatch(r"/curves\?view=\d+", href)

    # A fresh tab of the same person, straight to the link.
    fresh = page.context.new_page()
    fresh.goto(served.url.rstrip("/") + href, wait_until="networkidle")
    fresh.wait_for_function("() => location.search.includes('result=NOK')", timeout=30_000)
    assert filtered_count(fresh, everything) == nok
    assert query(fresh) == saved_query  # the same filter, project and process
    expect(fresh.get_by_role("button", name="NOK", exact=True)).to_have_class(
        re.compile("active"), timeout=10_000
    )
    picker = fresh.locator("select").filter(has_text="(shared)")
    expect(picker).to_have_count(1)
    assert NAME in picker.locator("option:checked").inner_text()
    screenshot(fresh, "explorer-saved-view")
    # Every button of the card inside it (in one row "Delete" ran past the 300 px sidebar).
    card = fresh.locator(".card").filter(has_text="Saved views").first.bounding_box()
    delete = fresh.get_by_role("button", name="Delete", exact=True).bounding_box()
    assert delete["x"] + delete["width"] <= card["x"] + card["width"], (delete, card)

    # Deleted, its link finds nothing and says so.
    fresh.get_by_role("button", name="Delete", exact=True).click()
    expect(fresh.get_by_text(re.compile(r"^Deleted “Rejected parts"))).to_be_visible(timeout=10_000)
    gone = page.context.new_page()
    gone.goto(served.url.rstrip("/") + href, wait_until="networkidle")
    status(gone)
    expect(gone.get_by_text(re.compile(r"There is no saved view \d+"))).to_be_visible()
    assert "result" not in query(gone)
    assert page.js_errors == []
