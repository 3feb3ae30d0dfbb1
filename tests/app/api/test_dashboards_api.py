"""Dashboards over HTTP: panels and their places round-trip exactly, a panel the app cannot draw
is refused by number and reason, viewers read shared dashboards and change none, private ones
are their owner's alone, another project's dashboards do not exist, replacing keeps the link,
and all of it is in the audit trail. An SPC panel charts the project's configured features
too (``feature_<id>``), never another project's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.tables import AuditEvent

pytestmark = pytest.mark.integration

KPI = {
    "kind": "kpi",
    "metric": "nok_rate",
    "filter": {"station": "S1"},
    "x": 0,
    "y": 0,
    "w": 3,
    "h": 2,
}
TREND = {
    "kind": "trend",
    "metric": "parts_per_hour",
    "bucket": "shift",
    "filter": {"result": "NOK", "live": "shift"},
    "title": "NOK parts per shift",
    "x": 3,
    "y": 0,
    "w": 9,
    "h": 3,
}


def boards(world, method: str, tail: str = "", who: str = "engineer", project=None, **kwargs):
    project = world.project_a if project is None else project
    return world.call(method, f"/api/projects/{project}/dashboards{tail}", who, **kwargs)


def made(world, who: str, name: str, panels=(), shared: bool = False) -> dict:
    body = {"name": name, "shared": shared, "panels": list(panels)}
    answer = boards(world, "POST", who=who, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def stored(board: dict) -> list[dict]:
    """The panels as given: a panel without a title answers ``"title": null``."""
    return [{k: v for k, v in p.items() if v is not None} for p in board["panels"]]


def a_view(world, who: str, name: str, shared: bool) -> int:
    body = {"name": name, "shared": shared, "state": {"station": "S2"}}
    answer = world.call("POST", f"/api/projects/{world.project_a}/views", who, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_panels_and_their_places_round_trip(world):
    view = a_view(world, "engineer", "S2 for the dashboard", shared=True)
    spc = {"kind": "spc", "metric": "peak_y", "filter": {"station": "S2"}}
    panels = [
        KPI,
        TREND,
        {"kind": "view", "view_id": view, "x": 0, "y": 3, "w": 12, "h": 5},
        {**spc, "x": 0, "y": 8, "w": 6, "h": 4},
    ]
    board = made(world, "engineer", "Line 1 mornings", panels, shared=True)
    assert board["link"] == f"/dashboards?dashboard={board['id']}"
    opened = boards(world, "GET", f"/{board['id']}", who="viewer").json()
    assert stored(opened) == panels
    assert (opened["mine"], opened["may_change"], opened["shared"]) == (False, False, True)
    # Replaced: moved, resized, one removed; the same id and link.
    moved = [{**TREND, "x": 0, "y": 2, "w": 12, "h": 4}, {**KPI, "x": 9, "y": 0, "w": 3, "h": 2}]
    body = {"name": "Line 1", "shared": True, "panels": moved}
    answer = boards(world, "PUT", f"/{board['id']}", json=body)
    assert answer.status_code == 200, answer.text
    assert stored(boards(world, "GET", f"/{board['id']}", who="viewer").json()) == moved
    listed = boards(world, "GET", who="viewer", params={"limit": 500}).json()["items"]
    assert [b["name"] for b in listed if b["id"] == board["id"]] == ["Line 1"]
    with world.store.sessions() as session:
        trail = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.startswith("dashboard."))
        ).all()
    assert trail[-3:] == ["dashboard.create", "dashboard.change", "dashboard.rename"]


@pytest.mark.parametrize(
    ("panel", "words"),
    [
        ({**KPI, "metric": "happiness"}, "metric"),
        ({**TREND, "bucket": "month"}, "bucket"),
        ({**KPI, "kind": "spc", "metric": "nok_rate"}, "metric"),
        ({**KPI, "filter": {"stations": "S1"}}, "Panel 2: stations: not a filter of a KPI panel"),
        ({**KPI, "filter": {"start": "11.12.2026"}}, "Panel 2: start"),
        ({**KPI, "filter": {"live": "week"}}, "Panel 2: live must be one of"),
        ({**KPI, "x": 0, "y": 1}, "Panels 1 and 2 overlap at column 0, row 1"),
        ({**KPI, "x": 11}, "Panel 2: x is a whole number from 0 to 9"),
        ({"kind": "view", "view_id": 999_999, "x": 6, "y": 0, "w": 6, "h": 4}, "no saved view"),
    ],
)
def test_a_panel_the_app_cannot_draw_is_refused_by_number(world, panel, words):
    body = {"name": "bad", "panels": [KPI, {**panel, "y": panel["y"] + 2}]}
    if words.startswith("Panels"):
        body["panels"][1] = panel
    answer = boards(world, "POST", json=body)
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["error"]["message"]


def test_who_may_change_what(world):
    refused = boards(world, "POST", who="viewer", json={"name": "v", "shared": True})
    assert refused.status_code == 403, refused.text
    own = made(world, "viewer", "viewer's own", [KPI])
    assert own["may_change"]
    shared = made(world, "engineer", "shared by the engineer", [KPI], shared=True)
    for method, kwargs in (
        ("PUT", {"json": {"name": "mine now", "shared": True, "panels": []}}),
        ("PATCH", {"json": {"shared": False}}),
        ("DELETE", {}),
    ):
        answer = boards(world, method, f"/{shared['id']}", who="viewer", **kwargs)
        assert answer.status_code == 403, answer.text
        answer = boards(world, method, f"/{own['id']}", who="admin", **kwargs)
        assert answer.status_code == 404, answer.text  # someone else's private one
    # A private view cannot go on a shared dashboard.
    private = a_view(world, "engineer", "engineer's private", shared=False)
    panel = {"kind": "view", "view_id": private, "x": 3, "y": 0, "w": 6, "h": 4}
    body = {"name": "shared by the engineer", "shared": True, "panels": [KPI, panel]}
    answer = boards(world, "PUT", f"/{shared['id']}", json=body)
    assert answer.status_code == 422, answer.text
    assert "is private; share it with the project first" in answer.json()["error"]["message"]
    # An admin manages it; the engineer deletes their own.
    answer = boards(world, "PATCH", f"/{shared['id']}", who="admin", json={"name": "renamed"})
    assert answer.status_code == 200, answer.text
    assert boards(world, "DELETE", f"/{shared['id']}").status_code == 204
    assert boards(world, "GET", f"/{shared['id']}").status_code == 404


def test_another_projects_dashboards_do_not_exist(world):
    board = made(world, "engineer", "press only", [KPI], shared=True)
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"name": "x"}}), ("DELETE", {})):
        for project in (None, world.project_b):
            answer = boards(
                world, method, f"/{board['id']}", who="outsider", project=project, **kwargs
            )
            assert answer.status_code == 404, answer.text
    theirs = boards(world, "GET", who="outsider", project=world.project_b).json()
    assert theirs["items"] == []


def a_feature(world, who: str, project: int, name: str, process: str = "press-fit") -> str:
    body = {"process": process, "name": name, "kind": "y_at_x", "a": 2}
    answer = world.call("POST", f"/api/projects/{project}/features", who, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["feature"]


def test_an_spc_panel_charts_a_configured_feature_of_its_project(world):
    ours = a_feature(world, "engineer", world.project_a, "force at 2 mm (dashboards)")
    theirs = a_feature(world, "outsider", world.project_b, "force at 2 mm (dashboards)")
    spc = {"kind": "spc", "metric": ours, "filter": {"station": "S2"}}
    spc |= {"x": 0, "y": 0, "w": 6, "h": 4}
    board = made(world, "engineer", "configured SPC", [spc], shared=True)
    assert stored(board) == [spc]
    assert stored(boards(world, "GET", f"/{board['id']}", who="viewer").json()) == [spc]
    for panel, words in (
        ({**spc, "metric": theirs}, f"Panel 1: no curve feature '{theirs}' in project"),
        ({**spc, "metric": "feature_999999"}, "no curve feature 'feature_999999'"),
        ({**spc, "metric": "feature_x"}, "metric"),
        ({**spc, "filter": {"process": "spot-weld"}}, "is a feature of process 'press-fit'"),
    ):
        answer = boards(world, "POST", json={"name": "bad", "panels": [panel]})
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["error"]["message"]
    listed = f"{ours} (force at 2 mm (dashboards))"
    answer = boards(world, "POST", json={"name": "bad", "panels": [{**spc, "metric": theirs}]})
    assert listed in answer.json()["error"]["message"]  # the project's own are offered
    # Retired: a dashboard that shows it keeps it when replaced; a new one cannot show it.
    feature_id = ours.removeprefix("feature_")
    path = f"/api/projects/{world.project_a}/features/{feature_id}"
    assert world.call("DELETE", path, "engineer").status_code == 204
    body = {"name": "configured SPC, renamed", "shared": True, "panels": [spc]}
    answer = boards(world, "PUT", f"/{board['id']}", json=body)
    assert answer.status_code == 200, answer.text
    answer = boards(world, "POST", json={"name": "too late", "panels": [spc]})
    assert answer.status_code == 422, answer.text
    assert f"no curve feature '{ours}'" in answer.json()["error"]["message"]
