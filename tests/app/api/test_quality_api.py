"""SPC and drift over HTTP, on a station whose parts drift after the 40th: the chart flags it,
the drift is found where it began, capability follows the limits given, and roles hold."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.app.api.conftest import hosted

pytestmark = pytest.mark.integration
PARTS, DRIFT_FROM = 60, 40


def drifting_csv() -> bytes:
    """60 parts of station S9, program P1, a minute apart; y = level * x over 0..4, the level
    noisy around 10 and 3 higher from part 40 (the area follows: 8 per level unit)."""
    rng = np.random.default_rng(5)
    lines = ["curve_key,x,y,process,station,program,result,started_at"]
    for i in range(PARTS):
        level = 10 + rng.normal(0, 0.5) + (3 if i >= DRIFT_FROM else 0)
        started = f"2026-11-20T06:{i:02d}:00Z"
        for x in range(5):
            lines.append(f"Q-{i},{x},{level * x:.4f},press-fit,S9,P1,OK,{started}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def quality_world(tmp_path_factory):
    with hosted(tmp_path_factory, "quality") as world:
        answer = world.call(
            "POST",
            f"/api/projects/{world.project_a}/datasets?name=drift.csv",
            data=drifting_csv(),
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text
        yield world


def get(world, path: str, who: str = "viewer", **params):
    return world.call("GET", f"/api/projects/{world.project_a}/{path}", who=who, params=params)


def test_the_drift_is_found_at_its_station_where_it_began(quality_world):
    answer = get(quality_world, "drifts", station=["S9"], baseline_until="2026-11-20T06:40:00Z")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["judged"] == PARTS
    (drift,) = body["items"]
    assert (drift["station"], drift["direction"], drift["feature"]) == ("S9", "up", "area")
    assert drift["since"].startswith("2026-11-20T06:4")  # part 40 began at 06:40
    assert drift["since"] >= "2026-11-20T06:38" and drift["alarm"] <= "2026-11-20T06:45"
    assert drift["words"].startswith("S9 area drifting up since 2026-11-20 06:4")
    assert drift["shift_sigma"] > 3


def test_an_individuals_chart_flags_the_drift_and_gives_capability(quality_world):
    answer = get(
        quality_world,
        "spc",
        feature="area",
        station=["S9"],
        baseline_until="2026-11-20T06:40:00Z",
        lower=60,
        upper=100,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    i_chart, mr_chart = body["charts"]
    assert (i_chart["name"], mr_chart["name"]) == ("individuals", "moving range")
    assert len(i_chart["points"]) == PARTS and len(mr_chart["points"]) == PARTS - 1
    assert i_chart["center"][0] == pytest.approx(80, abs=2)  # level 10 * area 8
    beyond = [v["index"] for v in i_chart["violations"] if v["rule"] == "beyond 3σ"]
    assert beyond and min(beyond) >= DRIFT_FROM  # only the drifted parts are out
    assert all(len(ids) == 1 for ids in i_chart["curve_ids"])
    fit = body["capability"]
    assert fit["n"] == PARTS and fit["cp"] > fit["pp"]  # the drift widens the overall spread


def test_a_mean_range_chart_and_refusals(quality_world):
    body = get(quality_world, "spc", chart="mean-range", subgroup=5, station=["S9"]).json()
    means, ranges = body["charts"]
    assert len(means["points"]) == PARTS // 5 and all(len(g) == 5 for g in means["curve_ids"])
    assert ranges["name"] == "range" and ranges["lower"][0] == 0.0  # D3 is 0 for n = 5
    assert body["capability"] is None
    bad = get(quality_world, "spc", feature="torque")
    assert bad.status_code == 422
    few = get(quality_world, "spc", chart="mean-range", subgroup=40, station=["S9"])
    assert few.status_code == 422 and "at most 25" in few.text
    assert get(quality_world, "drifts", who="outsider").status_code in (403, 404)


def test_unusual_parts_need_a_program_of_twenty_and_name_their_feature(quality_world):
    answer = get(quality_world, "unusual", station=["S9"], limit=3)
    assert answer.status_code == 200, answer.text
    parts = answer.json()["items"]
    assert len(parts) == 3 and parts[0]["score"] >= parts[1]["score"] >= parts[2]["score"]
    assert all(p["program"] == "P1" and p["part_serial"] == "" for p in parts)
    assert parts[0]["words"].endswith("its program's median")


def test_unusual_parts_export_as_csv_with_the_same_rows(quality_world):
    import csv
    import io

    listed = get(quality_world, "unusual", station=["S9"], limit=5).json()["items"]
    answer = get(quality_world, "unusual", station=["S9"], limit=5, format="csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers.get("content-disposition", "")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(r["curve_id"]) for r in rows] == [p["curve_id"] for p in listed]
    assert [r["words"] for r in rows] == [p["words"] for p in listed]
    assert [float(r["score"]) for r in rows] == pytest.approx([p["score"] for p in listed])


def levels() -> np.ndarray:
    """Each part's level as drifting_csv drew it: the slope of its y over x."""
    rng = np.random.default_rng(5)
    return np.array([10 + rng.normal(0, 0.5) + (3 if i >= DRIFT_FROM else 0) for i in range(PARTS)])


def test_a_configured_feature_is_defined_computed_charted_and_retired(quality_world):
    world = quality_world
    features = f"/api/projects/{world.project_a}/features"
    first = world.call("GET", f"/api/projects/{world.project_a}/curves", params={"station": "S9"})
    process = first.json()["items"][0]["process"]
    body = {"process": process, "name": "stiffness", "kind": "slope", "a": 0, "b": 4}
    assert world.call("POST", features, "viewer", json=body).status_code == 403
    backwards = world.call("POST", features, "engineer", json={**body, "a": 4, "b": 0})
    assert backwards.status_code == 422 and "a < b" in backwards.json()["error"]["message"]
    made = world.call("POST", features, "engineer", json=body)
    assert made.status_code == 201, made.text
    feature = made.json()
    assert feature["computes"] == "slope of y over x for 0 ≤ x ≤ 4"
    name = feature["feature"]
    assert name == f"feature_{feature['id']}"
    listed = world.call("GET", features, "viewer").json()["items"]
    assert [f["id"] for f in listed] == [feature["id"]]
    # The stored parts are computed in the background; then SPC and drift read it by its name.
    points = []
    for _ in range(100):  # until then, too few parts have it for a chart (a 422 saying so)
        answer = get(world, "spc", station=["S9"], feature=name)
        assert answer.status_code in (200, 422), answer.text
        points = answer.json()["charts"][0]["points"] if answer.status_code == 200 else []
        if len(points) == PARTS:
            break
        time.sleep(0.2)
    np.testing.assert_allclose(points, levels(), atol=1e-3)
    drift = get(
        world, "drifts", station=["S9"], feature=name, baseline_until="2026-11-20T06:40:00Z"
    )
    (found,) = drift.json()["items"]
    assert found["since"].startswith("2026-11-20T06:4") and found["direction"] == "up"
    steep = float(np.median(levels()))  # between two parts' levels (an even count)
    filtered = world.call(
        "GET",
        f"/api/projects/{world.project_a}/curves",
        params={"feature_filter": name, "feature_min": steep, "limit": 500},
    ).json()["items"]
    assert {c["curve_key"] for c in filtered} == {
        f"Q-{i}" for i, level in enumerate(levels()) if level >= steep
    }
    unknown = get(world, "spc", station=["S9"], feature="feature_99999")
    assert (
        unknown.status_code == 422 and "no configured feature" in unknown.json()["error"]["message"]
    )
    assert get(world, "spc", feature="feature_x").status_code == 422
    assert world.call("DELETE", f"{features}/{feature['id']}", "viewer").status_code == 403
    assert world.call("DELETE", f"{features}/{feature['id']}", "engineer").status_code == 204
    assert world.call("GET", features, "viewer").json()["items"] == []
    assert get(world, "spc", station=["S9"], feature=name).status_code == 422


def test_curves_are_filtered_by_a_feature_range(quality_world):
    world = quality_world
    area = 8 * levels()  # y = level · x over x = 0..4: the trapezoid sum is 8 · level
    low = float(np.median(area))
    answer = world.call(
        "GET",
        f"/api/projects/{world.project_a}/curves",
        params={"station": ["S9"], "feature_filter": "area", "feature_min": low, "limit": 500},
    )
    assert answer.status_code == 200, answer.text
    keys = {c["curve_key"] for c in answer.json()["items"]}
    assert keys == {f"Q-{i}" for i in range(PARTS) if area[i] >= low} and 0 < len(keys) < PARTS
    both = world.call(
        "GET",
        f"/api/projects/{world.project_a}/curves",
        params={"feature_filter": "area", "feature_min": low, "feature_max": low + 8, "limit": 500},
    ).json()["items"]
    assert {c["curve_key"] for c in both} == {
        f"Q-{i}" for i in range(PARTS) if low <= area[i] <= low + 8
    }
    for params, words in (
        ({"feature_filter": "area"}, "needs feature_min or feature_max"),
        ({"feature_min": 1}, "need the feature they bound"),
        ({"feature_filter": "force"}, "feature is one of"),
        ({"feature_filter": "area", "feature_min": 5, "feature_max": 1}, "is above feature_max"),
    ):
        refused = world.call("GET", f"/api/projects/{world.project_a}/curves", params=params)
        assert refused.status_code == 422 and words in refused.json()["error"]["message"], params
