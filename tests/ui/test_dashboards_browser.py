"""Dashboards in a real browser: make one, add a saved view (drawn live), a KPI tile and an SPC
chart, move one panel and resize another with the mouse, save, reload, and see the same panels
in the same places, as the metadata store keeps them."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.dashboards.tiles import ROW_PX as ROW
from models import dashboards, saved_views
from models.access import operator
from models.settings import Settings
from models.store import open_metadata
from models.tables import Dashboard, Project
from tests.ui.conftest import screenshot

pytestmark = pytest.mark.ui

VIEW = "Press-fit for the dashboard test"
NAME = "Line 1, made by the browser test"
# Each panel's kind and its cells, as gridstack.js writes them on the page (a missing w or h
# attribute is 1 cell).
PLACES = """() => {
  const items = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.classList && el.classList.contains('grid-stack-item')) items.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const kindOf = (item) => {
    let kind = null;
    const find = (root) => {
      for (const el of root.querySelectorAll('*')) {
        const match = [...(el.classList || [])].find((c) => c.startsWith('ch-panel-'));
        if (match) { kind = match.slice(9); return; }
        if (el.shadowRoot) find(el.shadowRoot);
        if (kind) return;
      }
    };
    find(item);
    return kind;
  };
  const cell = (el, name) => Number(el.getAttribute('gs-' + name) || 1);
  return items.map((el) => [kindOf(el), Number(el.getAttribute('gs-x') || 0),
                            Number(el.getAttribute('gs-y') || 0), cell(el, 'w'), cell(el, 'h')])
              .sort();
}"""


@pytest.fixture(scope="module")
def served(shared_demo, demo_home):
    server = shared_demo.get()
    store = open_metadata(Settings(home=demo_home))
    with store.sessions() as session:
        project = session.scalar(sa.select(Project).where(Project.name == "demo"))
        view = saved_views.save_view(
            session=session,
            actor=operator("ui test"),
            project=project,
            name=VIEW,
            query={"project": "demo", "process": "press-fit"},
            shared=True,
        )
        session.commit()
        view_id = view.id
    yield server
    with store.sessions() as session:  # the demo home as it was, for the other UI modules
        for board in session.scalars(sa.select(Dashboard).where(Dashboard.name == NAME)):
            session.delete(board)
        saved_views.delete_view(
            session=session,
            actor=operator("ui test"),
            view=saved_views.find_view(session, operator("ui test"), view_id),
        )
        session.commit()
    store.close()


def drawn(page, panels: int) -> None:
    """Until ``panels`` panels show their figures: a view's canvas, a KPI tile's number."""
    page.wait_for_function(
        """(n) => {
          const inside = (root, test) => {
            for (const el of root.querySelectorAll('*')) {
              if (test(el) || (el.shadowRoot && inside(el.shadowRoot, test))) return true;
            }
            return false;
          };
          const shows = (el) => (el.tagName === 'CANVAS' && el.width > 200) ||
            (el.matches('b[data-metric]') && /\\d/.test(el.textContent));
          const found = [];
          const walk = (root) => {
            for (const el of root.querySelectorAll('*')) {
              if (el.classList && el.classList.contains('ch-panel')) found.push(el);
              else if (el.shadowRoot) walk(el.shadowRoot);
            }
          };
          walk(document);
          return found.length === n && found.every((p) => inside(p.shadowRoot || p, shows));
        }""",
        arg=panels,
        timeout=60_000,
    )


def centre(locator) -> dict:
    box = locator.bounding_box()
    return {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}


def drag(page, source: dict, dx: float, dy: float) -> None:
    """Press at ``source``'s point, move by (dx, dy) in steps, release: as a hand does."""
    page.mouse.move(source["x"], source["y"])
    page.mouse.down()
    page.mouse.move(source["x"] + dx / 2, source["y"] + dy / 2, steps=8)
    page.mouse.move(source["x"] + dx, source["y"] + dy, steps=8)
    page.mouse.up()


def test_build_save_and_reload_a_dashboard(served, page):
    page.goto(served.url + "dashboards?project=demo")
    page.get_by_placeholder("e.g. Line 1, mornings").fill(NAME)
    page.get_by_role("button", name="New dashboard").click()
    expect(page.get_by_text("This dashboard has no panels yet")).to_be_visible(timeout=30_000)
    assert re.search(r"dashboard=\d+", page.url)

    # A saved view, drawn live, then a KPI tile beside it.
    page.get_by_label("Saved view").select_option(label=VIEW)
    page.get_by_role("button", name="Add panel").click()
    drawn(page, 1)
    page.get_by_role("button", name="KPI", exact=True).click()
    page.get_by_label("Figure").select_option(label="NOK rate (curves)")
    page.get_by_role("button", name="Add panel").click()
    drawn(page, 2)
    # An SPC chart of a feature, at the first free place.
    page.get_by_role("button", name="SPC", exact=True).click()
    page.get_by_label("Feature").select_option(label="Peak y")
    page.get_by_role("button", name="Add panel").click()
    drawn(page, 3)
    expect(page.locator(".ch-panel-spc").get_by_text(re.compile(r"\d+ parts"))).to_be_visible()
    before = page.evaluate(PLACES)
    assert before == [["kpi", 6, 0, 3, 2], ["spc", 6, 2, 6, 4], ["view", 0, 0, 6, 4]]

    # Move the KPI tile by its grip to the right edge, then resize the view by its corner.
    items = page.locator(".grid-stack-item")
    tile = items.filter(has=page.locator(".ch-panel-kpi"))
    column = tile.bounding_box()["width"] / 3
    drag(page, centre(tile.locator(".ch-grip")), 3 * column, 0)
    page.wait_for_function(f"() => ({PLACES})().some(p => p[0] === 'kpi' && p[1] === 9)")
    view = items.filter(has=page.locator(".ch-panel-view"))
    view.hover()
    drag(page, centre(view.locator(".ui-resizable-se")), 2 * column, 1.2 * ROW)
    page.wait_for_function(
        f"() => ({PLACES})().some(p => p[0] === 'view' && p[3] === 8 && p[4] === 5)"
    )
    after = page.evaluate(PLACES)
    assert after != before
    expect(page.get_by_role("button", name="Save changes")).to_be_visible()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text(re.compile(r"^Saved “Line 1, made by"))).to_be_visible(timeout=30_000)
    screenshot(page, "dashboard-built")

    # Reloaded: the same panels at the same places, drawn again; the store says the same.
    page.reload()
    drawn(page, 3)
    assert page.evaluate(PLACES) == after
    store = open_metadata(Settings(home=served.home))
    with store.sessions() as session:
        board = session.scalar(sa.select(Dashboard).where(Dashboard.name == NAME))
        kept = sorted([p["kind"], p["x"], p["y"], p["w"], p["h"]] for p in board.panels)
        assert dashboards.find_dashboard(session, operator(), board.id) is board
    store.close()
    assert kept == after
    assert page.js_errors == []
