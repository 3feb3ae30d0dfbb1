"""Saved views over HTTP: every explorer parameter survives a save and an open, private views
are their owner's alone, viewers never change a shared view, another project's views do not
exist, renaming keeps the link, deleting ends it, and all of it is in the audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.explorer.state import ExplorerState
from models.tables import AuditEvent
from tests.app.api.conftest import PROJECT_A
from tests.app.explorer.test_saved import every_parameter_changed

pytestmark = pytest.mark.integration


def views(world, method: str, tail: str = "", who: str = "engineer", project=None, **kwargs):
    project = world.project_a if project is None else project
    return world.call(method, f"/api/projects/{project}/views{tail}", who, **kwargs)


def made(world, who: str, name: str, shared: bool = False, state=None) -> dict:
    state = {"station": "S1"} if state is None else state
    answer = views(world, "POST", who=who, json={"name": name, "shared": shared, "state": state})
    assert answer.status_code == 201, answer.text
    return answer.json()


def names(world, who: str) -> list[str]:
    answer = views(world, "GET", who=who, params={"limit": 500})
    assert answer.status_code == 200, answer.text
    return [v["name"] for v in answer.json()["items"]]


def trail(world, view_id: int) -> list[tuple[str, str]]:
    with world.store.sessions() as session:
        events = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.startswith("view."), AuditEvent.target_type == "project")
            .order_by(AuditEvent.id)
        ).all()
        return [(e.action, e.actor) for e in events if e.detail.get("view") == view_id]


def test_every_explorer_parameter_round_trips(world):
    state = every_parameter_changed(PROJECT_A)
    view = made(world, "viewer", "every parameter", state=state.to_query())
    assert view["link"] == f"/curves?view={view['id']}"
    opened = views(world, "GET", f"/{view['id']}", who="viewer").json()
    assert opened["state"] == state.to_query()
    again = ExplorerState()
    again.from_query(opened["state"])
    for name in ExplorerState.param:
        if name != "name":
            assert getattr(again, name) == getattr(state, name), name


def test_a_state_the_explorer_cannot_hold_is_refused_by_name(world):
    for state, words in (
        ({"stations": "S1"}, "stations: not an explorer parameter"),
        ({"project": "weld-shop"}, "project: a view saved in 'press-shop'"),
        ({"start": "11.12.2026"}, "start"),
        ({"cmap": "rainbow"}, "cmap must be one of"),
        ({"x": "5,1"}, "x must have low < high"),
    ):
        answer = views(world, "POST", json={"name": "bad", "state": state})
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["error"]["message"]
    # The project is the path's: a state without one gets it.
    view = made(world, "engineer", "no project", state={"norm": "log"})
    assert view["state"] == {"project": PROJECT_A, "norm": "log"}


def test_private_views_are_invisible_to_everyone_else(world):
    view = made(world, "viewer", "viewer's own")
    assert view["mine"] and view["may_change"] and not view["shared"]
    assert "viewer's own" in names(world, "viewer")
    for other in ("engineer", "admin", "owner"):
        assert "viewer's own" not in names(world, other)
        for method, kwargs in (("GET", {}), ("PATCH", {"json": {"name": "x"}}), ("DELETE", {})):
            answer = views(world, method, f"/{view['id']}", who=other, **kwargs)
            assert answer.status_code == 404, answer.text
    missing = views(world, "GET", "/999999").json()["error"]["message"]
    hidden = views(world, "GET", f"/{view['id']}").json()["error"]["message"]
    assert hidden.replace(str(view["id"]), "N") == missing.replace("999999", "N")


def test_sharing_and_who_may_change_a_shared_view(world):
    refused = views(world, "POST", who="viewer", json={"name": "v", "shared": True})
    assert refused.status_code == 403, refused.text
    assert "share views needs engineer" in refused.json()["error"]["message"]
    view = made(world, "engineer", "S1 rejects")
    shared = views(world, "PATCH", f"/{view['id']}", json={"shared": True})
    assert shared.status_code == 200 and shared.json()["shared"], shared.text
    # The viewer opens it and changes nothing.
    seen = views(world, "GET", f"/{view['id']}", who="viewer").json()
    assert (seen["mine"], seen["may_change"], seen["owner"]) == (
        False,
        False,
        world.emails["engineer"],
    )
    for method, kwargs in (
        ("PATCH", {"json": {"name": "mine now"}}),
        ("PATCH", {"json": {"shared": False}}),
        ("PATCH", {"json": {"state": {"station": "S2"}}}),
        ("DELETE", {}),
    ):
        answer = views(world, method, f"/{view['id']}", who="viewer", **kwargs)
        assert answer.status_code == 403, answer.text
    assert views(world, "GET", f"/{view['id']}", who="viewer").json()["name"] == "S1 rejects"
    # An admin may change it; another engineer's shared view is not the engineer's to change.
    renamed = views(world, "PATCH", f"/{view['id']}", who="admin", json={"name": "S1 NOK"})
    assert renamed.status_code == 200 and renamed.json()["may_change"], renamed.text
    admins = made(world, "admin", "admin's", shared=True)
    assert not views(world, "GET", f"/{admins['id']}").json()["may_change"]
    answer = views(world, "DELETE", f"/{admins['id']}")
    assert answer.status_code == 403, answer.text
    # An admin makes the engineer's view private again: it is the engineer's alone.
    views(world, "PATCH", f"/{view['id']}", who="admin", json={"shared": False}).raise_for_status()
    assert views(world, "GET", f"/{view['id']}", who="admin").status_code == 404
    assert views(world, "GET", f"/{view['id']}").json()["shared"] is False
    assert trail(world, view["id"]) == [
        ("view.create", world.emails["engineer"]),
        ("view.share", world.emails["engineer"]),
        ("view.rename", world.emails["admin"]),
        ("view.unshare", world.emails["admin"]),
    ]


def test_another_projects_views_do_not_exist(world):
    view = made(world, "engineer", "press only", shared=True)
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"name": "x"}}), ("DELETE", {})):
        answer = views(world, method, f"/{view['id']}", who="outsider", **kwargs)
        assert answer.status_code == 404, answer.text
        # Nor through the outsider's own project.
        answer = views(
            world, method, f"/{view['id']}", who="outsider", project=world.project_b, **kwargs
        )
        assert answer.status_code == 404, answer.text
    assert views(world, "GET", who="outsider").status_code == 404
    theirs = views(world, "GET", who="outsider", project=world.project_b).json()
    assert [v["name"] for v in theirs["items"]] == []


def test_rename_keeps_the_link_and_delete_ends_it(world):
    view = made(world, "engineer", "first name", state={"station": "S2", "norm": "linear"})
    taken = made(world, "engineer", "taken")
    clash = views(world, "PATCH", f"/{view['id']}", json={"name": "taken"})
    assert clash.status_code == 409, clash.text
    again = views(world, "POST", json={"name": "taken"})
    assert again.status_code == 409, again.text
    renamed = views(
        world,
        "PATCH",
        f"/{view['id']}",
        json={"name": "second name", "state": {"station": "S1"}},
    ).json()
    assert (renamed["id"], renamed["link"], renamed["name"]) == (
        view["id"],
        view["link"],
        "second name",
    )
    assert renamed["state"] == {"project": PROJECT_A, "station": "S1"}
    assert views(world, "DELETE", f"/{view['id']}").status_code == 204
    assert views(world, "GET", f"/{view['id']}").status_code == 404
    assert views(world, "DELETE", f"/{view['id']}").status_code == 404
    assert "taken" in names(world, "engineer") and "second name" not in names(world, "engineer")
    assert [a for a, _ in trail(world, view["id"])] == [
        "view.create",
        "view.change",
        "view.rename",
        "view.delete",
    ]
    assert views(world, "DELETE", f"/{taken['id']}").status_code == 204
