"""Schemathesis fuzzes every operation of ``/api/openapi.json`` on a live server: no 5xx.

Each operation gets a few valid (positive) and invalid (negative) requests with the owner's
token, half of them aimed at a real project, cluster and curve so they get past the 404s. The
one exception: creating clusters is fuzzed with invalid requests only, since a valid one starts
a real node process (or connects to whatever server URL was generated); the permission matrix
creates clusters instead. The server is its own (``fuzz_world``): fuzzing changes and deletes.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from app.api import route_table
from tests.app.api.conftest import hosted
from tests.app.api.test_access_matrix import failed_cluster

pytestmark = pytest.mark.integration

EXAMPLES = 15
# An event stream answers for as long as the client listens: it has no one answer to check
# (tests/app/api/test_live_api.py reads one, and its refusals).
STREAMS = {("GET", "/api/projects/{project_id}/events")}
OPERATIONS = [(r.method, r.path) for r in route_table().routes if (r.method, r.path) not in STREAMS]
# Valid requests would start real node processes or reach arbitrary URLs.
NEGATIVE_ONLY = {("POST", "/api/projects/{project_id}/clusters")}


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory):
    with hosted(tmp_path_factory, "fuzz") as world:
        world.extra["cluster"] = failed_cluster(world, "fuzz-target")
        spare = world.call("POST", "/api/tokens", json={"name": "spare"}).json()
        world.extra["spare_token"] = spare["token"]["id"]
        team = world.call("POST", "/api/teams", json={"name": "fuzz-team"}).json()
        world.extra["team"] = team["id"]
        viewer = {"email": world.emails["viewer"], "role": "viewer"}
        world.call("POST", f"/api/teams/{team['id']}/members", json=viewer).raise_for_status()
        rule = {
            "name": "fuzz",
            "process": "press",
            "kind": "line",
            "params": {"x0": 0, "y0": 0, "x1": 1, "y1": 1},
        }
        made = world.call("POST", f"/api/projects/{world.project_a}/rules", json=rule)
        world.extra["rule"] = made.json()["id"]
        view = {"name": "fuzz", "shared": True, "state": {"station": "S1"}}
        made = world.call("POST", f"/api/projects/{world.project_a}/views", json=view)
        world.extra["view"] = made.json()["id"]
        yield world


@pytest.fixture(scope="module")
def api_schema(fuzz_world):
    return schemathesis.openapi.from_url(f"{fuzz_world.url}/api/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_errors(fuzz_world, api_schema, method, path):
    world = fuzz_world
    operation = api_schema[path][method]
    real = {
        "project_id": world.project_a,
        "cluster_id": world.extra["cluster"],
        "curve_id": world.curve_a,
        "user_id": world.users["viewer"],
        "token_id": world.extra["spare_token"],  # never the token the fuzzer signs in with
        "team_id": world.extra["team"],  # the owner's, with the viewer in it
        "serial": "A-1",
        "invitation_id": 999_999,  # any id: revoking a missing invitation is a 404, never a 500
        "rule_id": world.extra["rule"],
        "view_id": world.extra["view"],
        "schedule_id": 999_999,  # any id: deleting a missing schedule is a 404
        "dashboard_id": 999_999,  # any id: a missing dashboard is a 404
        "feed_id": 999_999,  # any id: a missing broker feed is a 404
        "feature_id": 999_999,  # any id: a missing configured feature is a 404
    }
    params = {name: real[name] for name in re.findall(r"\{(\w+)\}", path)}
    modes = [schemathesis.GenerationMode.NEGATIVE]
    if (method, path) not in NEGATIVE_ONLY:
        modes.append(schemathesis.GenerationMode.POSITIVE)
    strategies = []
    for mode in modes:
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=params))
        if params and "token_id" not in params:
            strategies.append(operation.as_strategy(generation_mode=mode))
    headers = {"Authorization": f"Bearer {world.tokens['owner']}"}

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES * len(modes),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        case.call_and_validate(base_url=world.url, headers=headers, checks=[not_a_server_error])

    fuzz()
