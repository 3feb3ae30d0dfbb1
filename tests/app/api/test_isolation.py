"""Another team's project is invisible: every project- and cluster-scoped route answers 404
to someone who is not a member, whatever they send, and their own project still works."""

from __future__ import annotations

import re

import pytest

from app.api import route_table

pytestmark = pytest.mark.integration

SCOPED = [
    route for route in route_table().routes if {"project_id", "cluster_id"} & set(route.path_params)
]


@pytest.fixture(scope="module")
def foreign_cluster(world):
    """A cluster of project A that never provisioned (no node needed to be looked at)."""
    from tests.app.api.test_access_matrix import failed_cluster

    return failed_cluster(world, "isolation")


@pytest.fixture(scope="module")
def foreign_team(world):
    """A team of project A's owner, which the outsider is not in."""
    answer = world.call("POST", "/api/teams", json={"name": "isolation"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def test_every_scoped_route_is_covered():
    paths = {r.path for r in SCOPED}
    needles = ("clusters", "datasets", "curves", "members", "audit", "raster", "samples", "move")
    for needle in needles:
        assert any(needle in p for p in paths), needle


@pytest.mark.parametrize("route", SCOPED, ids=lambda r: f"{r.method} {r.path}")
def test_a_non_member_gets_404(world, foreign_cluster, foreign_team, route):
    ids = {
        "project_id": world.project_a,
        "cluster_id": foreign_cluster,
        "curve_id": world.curve_a,
        "user_id": world.users["owner"],
        "team_id": foreign_team,
        "serial": "A-1",
        "invitation_id": 999_999,  # any id: revoking a missing invitation is a 404, never a 500
        "token_id": 999_999,
        "rule_id": 999_999,  # any id: the project is refused first
        "view_id": 999_999,
        "dashboard_id": 999_999,
        "schedule_id": 999_999,
        "feed_id": 999_999,
        "feature_id": 999_999,
    }
    path = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), route.path)
    for kwargs in ({}, {"json": {"anything": "at all"}}, {"data": b"junk"}):
        answer = world.call(route.method, path, "outsider", **kwargs)
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "not_found"
        if "project_id" not in route.path_params:  # nor does it say whose cluster it is
            assert f"project {world.project_a}" not in answer.json()["error"]["message"]


def test_a_non_member_sees_only_their_own_project(world):
    mine = world.call("GET", "/api/projects", "outsider").json()
    assert [p["name"] for p in mine["items"]] == ["weld-shop"]
    curves = world.call("GET", f"/api/projects/{world.project_b}/curves", "outsider").json()
    assert curves["total"] == 4
    assert all(c["curve_key"].startswith("B-") for c in curves["items"])
    assert world.call("GET", f"/api/projects/{world.project_b}/curves", "owner").status_code == 404
