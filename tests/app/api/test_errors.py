"""Every error has one JSON shape: 404, 405, malformed JSON, validation, 415, 401."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def assert_error(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


@pytest.mark.parametrize(
    "path", ["/api/nothing", "/api/", "/api", "/api/projects/x/clusters", "/api/projects/"]
)
def test_unknown_path_is_a_json_404(world, path):
    assert_error(world.call("GET", path), 404, "not_found")
    assert_error(world.call("GET", path, who=None), 404, "not_found")


def test_a_missing_project_is_a_json_404(world):
    assert_error(world.call("GET", "/api/projects/987654321/clusters"), 404, "not_found")
    assert_error(world.call("GET", f"/api/projects/{'9' * 20}/clusters"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/me"), ("DELETE", "/api/projects"), ("PATCH", "/api/openapi.json")],
)
def test_wrong_method_is_a_json_405_with_allow(world, method, path):
    answer = world.call(method, path)
    assert_error(answer, 405, "method_not_allowed")
    assert answer.headers["Allow"]


def test_malformed_json_is_a_json_400(world):
    answer = world.call(
        "POST",
        "/api/projects",
        data=b'{"name": "x"',
        headers={"Content-Type": "application/json"},
    )
    assert_error(answer, 400, "bad_request")
    deep = b"[" * 100_000 + b"]" * 100_000
    answer = world.call(
        "POST", "/api/tokens", data=deep, headers={"Content-Type": "application/json"}
    )
    assert_error(answer, 400, "bad_request")


def test_validation_errors_are_a_json_422_naming_the_field(world):
    error = assert_error(world.call("POST", "/api/tokens", json={"days": 3}), 422, "invalid")
    assert error["details"][0]["field"] == "name"
    error = assert_error(
        world.call("POST", "/api/tokens", json={"name": "x", "days": 9999}), 422, "invalid"
    )
    assert error["details"][0]["field"] == "days"
    error = assert_error(
        world.call("GET", f"/api/projects/{world.project_a}/curves?limit=501"), 422, "invalid"
    )
    assert error["details"][0]["field"] == "limit"
    assert_error(world.call("POST", "/api/projects", json={"name": "a", "x": 1}), 422, "invalid")


def test_wrong_content_type_is_a_json_415(world):
    answer = world.call("POST", "/api/projects", data="name=x")
    assert_error(answer, 415, "unsupported_media_type")
    answer = world.call(
        "POST",
        f"/api/projects/{world.project_a}/datasets",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert_error(answer, 415, "unsupported_media_type")


def test_missing_token_is_a_json_401_with_bearer_challenge(world):
    answer = world.call("GET", "/api/me", who=None)
    assert_error(answer, 401, "unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_state_conflicts_are_a_json_409(world):
    answer = world.call("POST", "/api/projects", json={"name": "press-shop"})
    assert_error(answer, 409, "conflict")
