"""Teams over real HTTP: making them, their members, and the roles they give in projects.

Teams granted a role in project A hold only the owner (already its owner) and people made here,
and every grant is taken away again, so the shared world's roles stay as other tests expect.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.api import route_table
from models.tables import AuditEvent, Role

pytestmark = pytest.mark.integration

TEAM_ONLY = [
    route
    for route in route_table().routes
    if "team_id" in route.path_params and "project_id" not in route.path_params
]


class Person:
    """An account made for these tests, signed in with its own token."""

    def __init__(self, world, name: str, project_id: int | None = None, role: Role | None = None):
        self.world = world
        self.email = f"{name}@teams.example"
        self.id = world.make_user(self.email, project_id, role)
        self.token = world.token_for(self.email)

    def call(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.world.call(method, path, None, headers=headers, **kwargs)


def ok(answer, status: int = 200):
    assert answer.status_code == status, answer.text
    return answer.json() if status != 204 else None


def new_team(world, name: str, who: str = "owner") -> int:
    made = ok(world.call("POST", "/api/teams", who, json={"name": name}), 201)
    assert made["name"] == name and made["role"] == "owner"
    return made["id"]


def add(world, team_id: int, email: str, role: str, who: str = "owner"):
    body = {"email": email, "role": role}
    return world.call("POST", f"/api/teams/{team_id}/members", who, json=body)


def grant_path(world, team_id: int) -> str:
    return f"/api/projects/{world.project_a}/teams/{team_id}"


def audit_actions(world, target_type: str, target_id: int) -> list[str]:
    with world.store.sessions() as session:
        return list(
            session.scalars(
                sa.select(AuditEvent.action)
                .where(
                    AuditEvent.target_type == target_type,
                    AuditEvent.target_id == str(target_id),
                )
                .order_by(AuditEvent.id)
            )
        )


def test_a_team_grant_gives_its_members_the_role(world):
    lone = Person(world, "lone")
    curves = f"/api/projects/{world.project_a}/curves"
    assert lone.call("GET", curves).status_code == 404

    team = new_team(world, "line-1")
    member = ok(add(world, team, lone.email, "viewer"), 201)
    assert (member["user_id"], member["email"], member["role"]) == (lone.id, lone.email, "viewer")
    assert lone.call("GET", curves).status_code == 404  # the team has no role in A yet

    # A project admin who is in the team (its owner) grants it.
    grant = ok(world.call("PUT", grant_path(world, team), "owner", json={"role": "engineer"}))
    assert grant["team_id"] == team and grant["team"] == "line-1"
    assert grant["role"] == "engineer" and grant["user_id"] is None
    try:
        assert ok(lone.call("GET", curves)) == ok(world.call("GET", curves))
        assert ok(lone.call("GET", f"/api/projects/{world.project_a}"))["role"] == "engineer"
        seen = ok(lone.call("GET", f"/api/teams/{team}"))
        assert seen["role"] == "viewer"
        assert {m["email"]: m["role"] for m in seen["members"]} == {
            world.emails["owner"]: "owner",
            lone.email: "viewer",
        }
        granted = {"id": world.project_a, "name": "press-shop", "role": "engineer"}
        assert seen["projects"] == [granted]
        listed = ok(world.call("GET", f"/api/projects/{world.project_a}/members", "viewer"))
        assert [m["team"] for m in listed["items"] if m["team_id"] == team] == ["line-1"]

        trail = f"/api/projects/{world.project_a}/audit?action=member.team"
        event = ok(world.call("GET", trail, "admin"))["items"][0]
        assert event["action"] == "member.team" and event["actor"] == world.emails["owner"]
        assert event["detail"] == {"team": "line-1", "role": "engineer"}

        ok(world.call("DELETE", f"/api/teams/{team}/members/{lone.id}"), 204)
        assert lone.call("GET", curves).status_code == 404
        assert lone.call("GET", f"/api/teams/{team}").status_code == 404
        assert ok(lone.call("GET", "/api/teams"))["total"] == 0
    finally:
        world.call("DELETE", grant_path(world, team))
    assert audit_actions(world, "team", team) == [
        "team.create",
        "team.member.add",
        "team.member.remove",
    ]


def test_my_teams_are_listed_with_my_role_and_paged(world):
    mine = Person(world, "lister")
    for name in ("list-b", "list-a", "list-c"):
        team = new_team(world, name)
        ok(add(world, team, mine.email, "admin" if name == "list-a" else "viewer"), 201)
    first = ok(mine.call("GET", "/api/teams?limit=2"))
    assert first["total"] == 3 and (first["limit"], first["offset"]) == (2, 0)
    assert [(t["name"], t["role"]) for t in first["items"]] == [
        ("list-a", "admin"),
        ("list-b", "viewer"),
    ]
    rest = ok(mine.call("GET", "/api/teams?limit=2&offset=2"))
    assert [t["name"] for t in rest["items"]] == ["list-c"]


def test_team_names_are_unique_and_checked(world):
    new_team(world, "clash")
    again = world.call("POST", "/api/teams", "viewer", json={"name": "clash"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    bad = world.call("POST", "/api/teams", json={"name": "?no"})
    assert bad.status_code == 422 and "team name" in bad.json()["error"]["message"]
    extra = world.call("POST", "/api/teams", json={"name": "x", "owner": 1})
    assert extra.status_code == 422


@pytest.fixture(scope="module")
def closed_team(world) -> int:
    """A team holding only the owner."""
    team = new_team(world, "closed")
    ok(add(world, team, "nobody@teams.example", "viewer"), 422)  # no such account
    return team


def test_every_team_route_is_checked():
    assert {(r.method, r.path) for r in TEAM_ONLY} == {
        ("GET", "/api/teams/{team_id}"),
        ("POST", "/api/teams/{team_id}/members"),
        ("DELETE", "/api/teams/{team_id}/members/{user_id}"),
    }


@pytest.mark.parametrize("route", TEAM_ONLY, ids=lambda r: f"{r.method} {r.path}")
def test_non_members_of_a_team_get_404(world, closed_team, route):
    team = closed_team
    path = re.sub(r"\{(\w+)\}", lambda m: str({"team_id": team}.get(m.group(1), 1)), route.path)
    bodies = ({}, {"json": {"email": world.emails["engineer"], "role": "owner"}}, {"data": b"x"})
    # The engineer shares project A with the team's owner; the outsider shares nothing.
    for who in ("engineer", "outsider"):
        for kwargs in bodies:
            answer = world.call(route.method, path, who, **kwargs)
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "not_found"
            assert "closed" not in answer.json()["error"]["message"]
    missing = re.sub(r"\{(\w+)\}", "999999", route.path)
    assert world.call(route.method, missing, "owner", json={}).status_code == 404
    members = ok(world.call("GET", f"/api/teams/{team}"))["members"]
    assert [m["email"] for m in members] == [world.emails["owner"]]


def test_team_viewers_may_not_manage_it_and_admins_not_its_owners(world):
    team = new_team(world, "managed")
    viewer, admin, spare = (Person(world, f"managed-{n}") for n in ("viewer", "admin", "spare"))
    ok(add(world, team, viewer.email, "viewer"), 201)
    ok(add(world, team, admin.email, "admin"), 201)

    refused = viewer.call(
        "POST", f"/api/teams/{team}/members", json={"email": spare.email, "role": "viewer"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert viewer.call("DELETE", f"/api/teams/{team}/members/{admin.id}").status_code == 403

    as_owner = {"email": spare.email, "role": "owner"}
    assert admin.call("POST", f"/api/teams/{team}/members", json=as_owner).status_code == 403
    owner_id = world.users["owner"]
    assert admin.call("DELETE", f"/api/teams/{team}/members/{owner_id}").status_code == 403
    as_viewer = {"email": spare.email, "role": "viewer"}
    ok(admin.call("POST", f"/api/teams/{team}/members", json=as_viewer), 201)
    assert admin.call("POST", f"/api/teams/{team}/members", json=as_viewer).status_code == 409
    ok(admin.call("DELETE", f"/api/teams/{team}/members/{spare.id}"), 204)
    assert admin.call("DELETE", f"/api/teams/{team}/members/{spare.id}").status_code == 404

    # The last owner stays.
    last = world.call("DELETE", f"/api/teams/{team}/members/{owner_id}")
    assert last.status_code == 409, last.text
    roles = {m["email"]: m["role"] for m in ok(viewer.call("GET", f"/api/teams/{team}"))["members"]}
    assert roles == {world.emails["owner"]: "owner", viewer.email: "viewer", admin.email: "admin"}


def test_only_project_admins_grant_teams_and_only_owners_grant_owner(world):
    team = new_team(world, "granted")
    path = grant_path(world, team)
    # A project admin who is in the team: only teams one is in can be given a project.
    lead = Person(world, "granted-lead", world.project_a, Role.ADMIN)
    ok(add(world, team, lead.email, "viewer"), 201)
    for role in ("engineer", "viewer"):
        refused = world.call("PUT", path, role, json={"role": "viewer"})
        assert refused.status_code == 403, refused.text
    assert world.call("PUT", path, "outsider", json={"role": "viewer"}).status_code == 404
    assert lead.call("PUT", path, json={"role": "owner"}).status_code == 403
    nowhere = grant_path(world, 999999)
    assert lead.call("PUT", nowhere, json={"role": "viewer"}).status_code == 404
    try:
        ok(lead.call("PUT", path, json={"role": "viewer"}))
        assert ok(lead.call("PUT", path, json={"role": "admin"}))["role"] == "admin"
        assert ok(world.call("PUT", path, "owner", json={"role": "owner"}))["role"] == "owner"
        # An admin may neither change nor take away a team that is owner.
        assert world.call("PUT", path, "admin", json={"role": "viewer"}).status_code == 403
        assert world.call("DELETE", path, "admin").status_code == 403
        assert world.call("DELETE", path, "engineer").status_code == 403
    finally:
        ok(world.call("DELETE", path, "owner"), 204)
    assert world.call("DELETE", path, "owner").status_code == 404
    trail = f"/api/projects/{world.project_a}/audit?action=member.team"
    actions = [e["detail"].get("team") for e in ok(world.call("GET", trail))["items"]]
    assert actions[:4] == ["granted"] * 4  # three grants and the removal


def test_a_team_the_admin_is_not_in_cannot_be_granted_and_looks_nonexistent(world):
    """Issue 13, item 12: ``PUT /api/projects/{p}/teams/{id}`` gave any team a project without
    its consent, and told teams that exist from ids that do not. A team the caller is not in
    now answers exactly as a missing one: same status, same body (but for the id sent)."""
    stranger = Person(world, "stranger", world.project_b, Role.VIEWER)
    theirs = ok(stranger.call("POST", "/api/teams", json={"name": "strangers"}), 201)["id"]
    hidden = world.call("PUT", grant_path(world, theirs), "admin", json={"role": "viewer"})
    nowhere = world.call("PUT", grant_path(world, 987654), "admin", json={"role": "viewer"})
    assert hidden.status_code == nowhere.status_code == 404
    assert hidden.text.replace(str(theirs), "N") == nowhere.text.replace("987654", "N")
    projects = ok(stranger.call("GET", f"/api/teams/{theirs}"))["projects"]
    assert projects == []
    # Once an admin of A is in the team, they may give it a role there.
    admin = Person(world, "strangers-admin", world.project_a, Role.ADMIN)
    ok(
        stranger.call(
            "POST", f"/api/teams/{theirs}/members", json={"email": admin.email, "role": "viewer"}
        ),
        201,
    )
    try:
        ok(admin.call("PUT", grant_path(world, theirs), json={"role": "viewer"}))
        assert [p["id"] for p in ok(stranger.call("GET", f"/api/teams/{theirs}"))["projects"]] == [
            world.project_a
        ]
    finally:
        ok(admin.call("DELETE", grant_path(world, theirs)), 204)
