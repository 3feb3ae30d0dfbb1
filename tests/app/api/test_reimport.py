"""Importing a file whose content the project holds already (issue 16): 200, not 201, with
``already_imported`` and a summary saying nothing new was stored and how many curves were
skipped; a real import keeps 201."""

from __future__ import annotations

import pytest

from tests.app.api.conftest import curves_csv

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(world):
    """A project of its own, so its datasets are this test's alone."""
    email = "reimport@plant.example"
    world.make_user(email)
    world.tokens["reimport"] = world.token_for(email)
    made = world.call("POST", "/api/projects", "reimport", json={"name": "reimport"})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def post(world, project: int, body: bytes):
    return world.call(
        "POST",
        f"/api/projects/{project}/datasets?name=line.csv",
        "reimport",
        data=body,
        headers={"Content-Type": "text/csv"},
    )


def test_a_repeat_import_answers_200_and_says_nothing_was_stored(world, project):
    body = curves_csv("R", count=3)
    first = post(world, project, body)
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["already_imported"] is None and made["dataset_id"]
    assert (made["curves_added"], made["curves_skipped"]) == (3, 0)

    again = post(world, project, body)
    assert again.status_code == 200, again.text
    said = again.json()
    assert said["already_imported"] == made["dataset_id"] and said["dataset_id"] is None
    assert (said["curves_added"], said["points_added"], said["curves_skipped"]) == (0, 0, 3)
    assert said["summary"] == (
        f"Nothing new was stored: line.csv was already imported into 'reimport' "
        f"(dataset {made['dataset_id']}); skipped its 3 curves."
    )
    listed = world.call("GET", f"/api/projects/{project}/datasets", "reimport").json()
    assert listed["total"] == 1

    # New curves in a new file are a real import again: 201, with the known ones skipped.
    extra = b"R-9,0,1,S1,OK,2026-11-16T07:00:00Z\nR-9,1,2,S1,OK,2026-11-16T07:00:00Z\n"
    more = post(world, project, body + extra)
    assert more.status_code == 201, more.text
    assert (more.json()["curves_added"], more.json()["curves_skipped"]) == (1, 3)


def test_the_import_documents_both_success_statuses(world):
    document = world.call("GET", "/api/openapi.json", None).json()
    operation = document["paths"]["/api/projects/{project_id}/datasets"]["post"]
    assert operation["responses"]["201"]["description"] == "Created"
    assert operation["responses"]["200"]["description"] == "OK"
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert "200 when the project holds this content already" in operation["description"]
