"""Numbers come back as the store holds them (issue 16): a value stored as ``code * step`` is
written with the step's decimals, not with float64 noise (``15.091000000000001``)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration

# x on a 0.001 grid, y on a 0.1 grid: 15091 * 0.001 and 7 * 0.1 are noisy in float64.
X = [0.0, 0.3, 0.7, 2.1, 15.091]
Y = [0.7, 2.1, 0.3, 1.1, 0.7]
# A digit run of float noise: ...0000000001 or ...9999999996.
NOISE = re.compile(r"\d\.\d*(0{7,}|9{7,})\d")


@pytest.fixture(scope="module")
def precise(world):
    """A project of its own (no other test sees its curve) holding one curve of ``X, Y``."""
    email = "precision@plant.example"
    world.make_user(email)
    world.tokens["precision"] = world.token_for(email)
    made = world.call("POST", "/api/projects", "precision", json={"name": "precision"})
    assert made.status_code == 201, made.text
    project = made.json()["id"]
    rows = "".join(f"P-1,{x},{y}\n" for x, y in zip(X, Y, strict=True))
    answer = world.call(
        "POST",
        f"/api/projects/{project}/datasets?name=precise.csv",
        "precision",
        data=("curve_key,x,y\n" + rows).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 201, answer.text
    return project


def test_the_curve_list_writes_extents_at_the_stored_precision(world, precise):
    answer = world.call("GET", f"/api/projects/{precise}/curves", "precision")
    assert answer.status_code == 200, answer.text
    (curve,) = answer.json()["items"]
    assert (curve["x_min"], curve["x_max"]) == (0.0, 15.091)
    assert (curve["y_min"], curve["y_max"]) == (0.3, 2.1)
    assert not NOISE.search(answer.text), answer.text


def test_samples_are_written_at_the_stored_precision(world, precise):
    listed = world.call("GET", f"/api/projects/{precise}/curves", "precision").json()
    curve = listed["items"][0]["curve_id"]
    answer = world.call("GET", f"/api/projects/{precise}/curves/{curve}/samples", "precision")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["x"], answer.json()["y"]) == (X, Y)
    assert not NOISE.search(answer.text), answer.text


def test_raster_extents_carry_no_float_noise(world, precise):
    base = f"/api/projects/{precise}/curves/raster?width=20&height=10"
    fitted = world.call("GET", base, "precision")
    assert fitted.status_code == 200, fitted.text
    (x0, x1), (y0, y1) = fitted.json()["x_range"], fitted.json()["y_range"]
    assert x0 < 0.0 and x1 > 15.091 and y0 < 0.3 and y1 > 2.1  # the curve, padded
    assert not NOISE.search(fitted.text.split('"counts"')[0]), fitted.text[:300]
    given = world.call("GET", f"{base}&x_min=0.1&x_max=0.7&y_min=0.3&y_max=2.1", "precision")
    assert given.json()["x_range"] == [0.1, 0.7] and given.json()["y_range"] == [0.3, 2.1]
