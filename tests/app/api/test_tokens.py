"""Bearer tokens: made, listed without secrets, revoked; revoked, expired and garbage → 401."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.tables import utcnow

pytestmark = pytest.mark.integration


def unauthorized(answer) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def with_token(world, token: str, path: str = "/api/me"):
    return world.call("GET", path, who=None, headers={"Authorization": f"Bearer {token}"})


def test_a_token_made_through_the_api_works_until_it_is_revoked(world):
    made = world.call("POST", "/api/tokens", json={"name": "nightly import", "days": 7})
    assert made.status_code == 201, made.text
    secret, token = made.json()["secret"], made.json()["token"]
    assert secret.startswith("chp_") and token["prefix"] == secret[: len(token["prefix"])]
    me = with_token(world, secret)
    assert me.status_code == 200 and me.json()["email"] == "owner@plant.example"

    listed = world.call("GET", "/api/tokens?limit=500").json()
    assert secret not in str(listed)
    mine = next(t for t in listed["items"] if t["id"] == token["id"])
    assert mine["last_used_at"] is not None and mine["revoked_at"] is None

    revoked = world.call("DELETE", f"/api/tokens/{token['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    unauthorized(with_token(world, secret))
    unauthorized(with_token(world, secret, f"/api/projects/{world.project_a}/clusters"))


def test_someone_elses_token_cannot_be_revoked(world):
    theirs = world.call("POST", "/api/tokens", "viewer", json={"name": "viewer laptop"}).json()
    answer = world.call("DELETE", f"/api/tokens/{theirs['token']['id']}", "owner")
    assert answer.status_code == 404
    assert with_token(world, theirs["secret"]).status_code == 200


def test_an_expired_token_is_refused(world):
    token = world.token_for(world.emails["viewer"], days=1, now=utcnow() - timedelta(days=2))
    unauthorized(with_token(world, token))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer chp_" + "A" * 43,
        "Bearer ",
        "Bearer a b",
        "Basic b3duZXI6c2VjcmV0",
        "bearer",
        "Token chp_x",
        "Bearer ' OR 1=1 --",
    ],
)
def test_garbage_authorization_is_refused(world, header):
    unauthorized(world.call("GET", "/api/me", who=None, headers={"Authorization": header}))


def test_a_cookie_is_no_credential(world):
    """No cookie authenticates on /api, so a cross-site request carrying one gets nowhere."""
    answer = world.call(
        "POST",
        "/api/projects",
        who=None,
        json={"name": "csrf"},
        cookies={"user": "owner@plant.example", "_xsrf": "x"},
    )
    unauthorized(answer)


def test_names_are_plain_text_with_quotes_allowed(world):
    """Values reach SQL as bound parameters only, so a name may hold an apostrophe."""
    made = world.call("POST", "/api/tokens", json={"name": "Ana's laptop"})
    assert made.status_code == 201, made.text
    assert made.json()["token"]["name"] == "Ana's laptop"
    world.call("DELETE", f"/api/tokens/{made.json()['token']['id']}")
    refused = world.call("POST", "/api/tokens", json={"name": "line\x00feed"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid"
