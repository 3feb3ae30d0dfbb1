"""``GET /api/projects/{id}/parts/{serial}``: a part's curves and key values, 404 for a serial
the project has not got and for a project the caller has no role in."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest

pytestmark = pytest.mark.integration

# Part "K/7 ü" passes two stations and fails the second; its samples on 0.01 grids.
CURVES = {
    "k1": ("ST010", "OK", "", "2026-11-16T06:00:00Z", [(0, 0), (0.5, 2.25), (1, 4.1), (2, 3.5)]),
    "k2": ("ST020", "NOK", "low torque", "2026-11-16T06:01:00Z", [(0, 1), (3, 7.25), (5, 2)]),
}
SERIAL = "K/7 ü"


@pytest.fixture(scope="module")
def parted(world):
    """A project of its own holding the part ``SERIAL`` (no other test sees it)."""
    email = "parts@plant.example"
    world.make_user(email)
    world.tokens["parts"] = world.token_for(email)
    made = world.call("POST", "/api/projects", "parts", json={"name": "part-shop"})
    assert made.status_code == 201, made.text
    project = made.json()["id"]
    lines = ["curve_key,x,y,part_serial,station,result,defect,started_at,x_unit,y_unit,x_name"]
    for key, (station, result, defect, started, samples) in CURVES.items():
        lines += [
            f"{key},{x},{y},{SERIAL},{station},{result},{defect},{started},deg,Nm,angle"
            for x, y in samples
        ]
    answer = world.call(
        "POST",
        f"/api/projects/{project}/datasets?name=parts.csv",
        "parts",
        data=("\n".join(lines) + "\n").encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text
    return project


def by_hand(samples) -> dict[str, float]:
    x, y = np.array(samples, dtype=float).T
    top = int(np.argmax(y))
    work = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    return {"peak_x": x[top], "peak_y": y[top], "final_x": x[-1], "final_y": y[-1], "work": work}


def test_a_part_answers_its_curves_and_key_values(world, parted):
    answer = world.call("GET", f"/api/projects/{parted}/parts/{quote(SERIAL, safe='')}", "parts")
    assert answer.status_code == 200, answer.text
    part = answer.json()
    assert (part["project_id"], part["project"], part["serial"]) == (parted, "part-shop", SERIAL)
    assert part["result"] == "NOK"
    assert [c["curve_key"] for c in part["curves"]] == ["k1", "k2"]
    for curve in part["curves"]:
        station, result, defect, _, samples = CURVES[curve["curve_key"]]
        assert (curve["station"], curve["result"], curve["defect"]) == (station, result, defect)
        assert (curve["x_unit"], curve["y_unit"], curve["work_unit"]) == ("deg", "Nm", "Nm·deg")
        assert curve["x_name"] == "angle" and curve["part_serial"] == SERIAL
        for key, value in by_hand(samples).items():
            assert curve[key] == pytest.approx(value, abs=1e-12), key
    # At the precision stored: 0.5 * (2.25 + 4.1) / 2 ... is written without float noise.
    assert "0000000" not in answer.text and "9999999" not in answer.text


def test_an_unknown_serial_is_404_naming_it(world, parted):
    answer = world.call("GET", f"/api/projects/{parted}/parts/NOPE-1", "parts")
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == "There is no part with serial 'NOPE-1' in project part-shop."
    # Exact serials only: part of one is not a part.
    assert world.call("GET", f"/api/projects/{parted}/parts/K", "parts").status_code == 404


def test_a_project_without_a_role_is_404(world, parted):
    path = f"/api/projects/{parted}/parts/{quote(SERIAL, safe='')}"
    for who in ("outsider", "owner"):  # owner of press-shop, but no role in part-shop
        answer = world.call("GET", path, who)
        assert answer.status_code == 404, answer.text
        assert SERIAL not in answer.text
    assert world.call("GET", path, None).status_code == 401


def test_a_serial_too_long_is_refused(world, parted):
    answer = world.call("GET", f"/api/projects/{parted}/parts/{'A' * 201}", "parts")
    assert answer.status_code == 422, answer.text


def test_the_document_describes_the_serial_as_text(world):
    document = world.call("GET", "/api/openapi.json", None).json()
    operation = document["paths"]["/api/projects/{project_id}/parts/{serial}"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["serial"]["schema"]["type"] == "string"
    assert params["project_id"]["schema"]["type"] == "integer"
    assert operation["x-permission"] == "view"
