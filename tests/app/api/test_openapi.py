"""``/api/openapi.json`` describes exactly the route table, and every schema in it resolves."""

from __future__ import annotations

import jsonschema
import pytest

from app.api import route_table

API = route_table()

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def document(world):
    answer = world.call("GET", "/api/openapi.json", who=None)
    assert answer.status_code == 200
    return answer.json()


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_it_is_openapi_3_1_with_bearer_security(document):
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a personal API token (chp_...)",
    }
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/api/openapi.json"]["get"]["security"] == []


def test_every_route_is_documented_and_nothing_else(document):
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert documented == {(r.method, r.path) for r in API.routes}
    for route in API.routes:
        operation = document["paths"][route.path][route.method.lower()]
        assert str(route.status) in operation["responses"]
        for status in route.all_errors:
            assert str(status) in operation["responses"]
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert params == set(route.path_params)


def test_every_reference_resolves_and_every_schema_is_valid(document):
    schemas = document["components"]["schemas"]
    for ref in set(refs(document)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema), name
    for name in schemas:
        assert all(c.isalnum() or c in "._-" for c in name), name


def test_list_endpoints_document_paging(document):
    lists = [r for r in API.routes if r.response is not None and r.response.__name__[:5] == "Page["]
    # tokens, projects, members, invitations, teams, clusters, datasets, curves, audit,
    # ingest tokens, broker feeds, dead letters, rules, configured features, saved views, report
    # schedules, dashboards
    assert len(lists) == 17
    for route in lists:
        operation = document["paths"][route.path][route.method.lower()]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert {"limit", "offset"} <= names, route.path
        limit = next(p for p in operation["parameters"] if p["name"] == "limit")
        assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
