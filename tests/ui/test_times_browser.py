"""From and Until in a real browser: a day-first date is refused next to its field and not
applied; one plant's filter reads times on its clocks and the link stores them in UTC."""

import re

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import query, screenshot

pytestmark = pytest.mark.ui

STATUS = re.compile(r"^([\d,]+) curves · x (\S+) to (\S+) · \d+ ms")


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def curves(page) -> int:
    text = page.get_by_text(STATUS).first.text_content(timeout=30_000)
    return int(STATUS.search(text)[1].replace(",", ""))


def test_a_day_first_date_is_refused_and_times_follow_the_plant(served, page):
    page.goto(served.url + "?plant=Leipzig", wait_until="networkidle")
    everything = curves(page)
    page.get_by_text("From (Europe/Berlin)").wait_for(timeout=30_000)
    until = page.get_by_placeholder("YYYY-MM-DD HH:MM").nth(1)  # From, then Until
    until.fill("11.12.2026")
    until.press("Enter")
    page.get_by_text(re.compile(r"'11\.12\.2026' is ambiguous")).wait_for(timeout=30_000)
    assert page.get_by_text("Type dates as YYYY-MM-DD HH:MM").first.is_visible()
    assert "end" not in query(page) and curves(page) == everything
    page.get_by_role("button", name="Yesterday").scroll_into_view_if_needed()
    screenshot(page, "explorer-date-refused")
    # ISO on Leipzig's clocks: 06:00 CET is 05:00 UTC, and the link says so.
    until.fill("2026-11-17 06:00")
    until.press("Enter")
    page.wait_for_function("() => location.search.includes('end=2026-11-17T05%3A00Z')")
    expect(page.get_by_text(re.compile(r"is ambiguous"))).to_be_hidden()
    assert 0 < curves(page) < everything
    # UTC is a choice away: the same moment, shown on UTC's clocks.
    page.locator("select").filter(has_text="Plant's local time").select_option("UTC")
    page.get_by_text("Until (UTC)").wait_for(timeout=30_000)
    # The label and the value arrive in separate messages; wait for the value.
    expect(until).to_have_value("2026-11-17 05:00", timeout=30_000)
    # and the address, which follows in a message of its own
    page.wait_for_function("() => location.search.includes('zone=')", timeout=30_000)
    assert query(page)["zone"] == "UTC"
    # A quick window fills both fields with resolved times.
    page.get_by_role("button", name="Yesterday").click()
    page.wait_for_function("() => location.search.includes('start=')")
    assert query(page)["start"].endswith("T00:00Z") and query(page)["end"].endswith("T00:00Z")
