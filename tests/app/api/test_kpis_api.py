"""KPIs over HTTP: a demo plant uploaded as a CSV (with UNKNOWN results, parts without a serial
and passing retries of rejected curves), its curves read back through the curves listing, and
every figure of the answer held to the pandas reference of ``tests/pipelines/test_kpis.py``
(with the packaged plant book the server uses); roles and refusals as the other endpoints."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from models.plants import load_plants
from pipelines.synthetic import DemoSpec, generate_demo
from tests.app.api.conftest import hosted
from tests.pipelines.test_kpis import _tampered, reference

pytestmark = pytest.mark.integration
SPEC = DemoSpec(curves=150, seed=4, days=2)
COLUMNS = (
    "plant",
    "line",
    "station",
    "process",
    "program",
    "shift",
    "part_serial",
    "result",
    "defect",
)


def demo_csv() -> bytes:
    """The tampered demo's curves, two samples each (KPIs read only metadata), times to the
    millisecond as the store keeps them; an UNKNOWN result is written as an empty one."""
    meta = pd.concat([b.meta for b in _tampered(list(generate_demo(SPEC)))], ignore_index=True)
    lines = [",".join(["curve_key", "x", "y", *COLUMNS, "started_at", "ended_at"])]
    for row in meta.to_dict("records"):
        values = [str(row[c]) for c in COLUMNS]
        values[COLUMNS.index("result")] = "" if row["result"] == "UNKNOWN" else row["result"]
        times = [row[c].floor("ms").strftime("%Y-%m-%dT%H:%M:%S.%fZ") for c in _TIMES]
        for x in (0, 1):
            lines.append(",".join([row["curve_key"], str(x), str(x), *values, *times]))
    return ("\n".join(lines) + "\n").encode()


_TIMES = ("started_at", "ended_at")


@contextmanager
def demo_world(tmp_path_factory, name: str):
    """A served API with the demo uploaded to project A, its stored rows in ``extra["rows"]``."""
    with hosted(tmp_path_factory, name) as world:
        answer = world.call(
            "POST",
            f"/api/projects/{world.project_a}/datasets?name=demo.csv",
            data=demo_csv(),
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text
        world.extra["rows"] = stored_rows(world)
        yield world


@pytest.fixture(scope="module")
def kpi_world(tmp_path_factory):
    with demo_world(tmp_path_factory, "kpis") as world:
        yield world


def stored_rows(world) -> pd.DataFrame:
    """Project A's curves as the curves listing gives them, page by page."""
    items, offset = [], 0
    while True:
        page = world.call(
            "GET",
            f"/api/projects/{world.project_a}/curves",
            params={"limit": 500, "offset": offset},
        ).json()
        items += page["items"]
        offset += 500
        if offset >= page["total"]:
            break
    rows = pd.DataFrame(items).assign(project="press-shop")
    for column in _TIMES:
        rows[column] = pd.to_datetime(rows[column], utc=True, format="ISO8601")
    return rows


def get(world, who: str = "viewer", **params):
    return world.call("GET", f"/api/projects/{world.project_a}/kpis", who=who, params=params)


def assert_answer_is(items: list[dict], want: list[dict], pareto: list[dict], by, bucket):
    keys = (*by, "bucket") if bucket else tuple(by)
    assert len(items) == len(want)
    for item, expected in zip(items, want, strict=True):
        assert item["group"] == {k: expected[k] for k in by}
        if bucket:
            assert pd.Timestamp(item["bucket"]) == expected["bucket"]
            assert pd.Timestamp(item["bucket_end"]) == expected["bucket_end"]
        for name, value in expected.items():
            if name in keys or name == "bucket_end":
                continue
            got = item[name]
            if isinstance(value, pd.Timestamp):
                assert pd.Timestamp(got) == value, name
            elif isinstance(value, float | np.floating) and np.isnan(value):
                assert got is None, name
            else:
                assert got == pytest.approx(value, rel=1e-9), (name, item, expected)
        mix = [p for p in pareto if all(p[k] == expected[k] for k in keys)]
        assert [(d["defect"], d["curves"]) for d in item["defects"]] == [
            (p["defect"], p["curves"]) for p in mix
        ]
        assert [d["cumulative_share"] for d in item["defects"]] == pytest.approx(
            [p["cumulative_share"] for p in mix]
        )


@pytest.mark.parametrize(
    ("by", "bucket"),
    [((), None), (("plant",), "day"), (("station",), "shift"), (("line", "program"), "hour")],
)
def test_the_figures_are_what_pandas_counts_on_the_stored_curves(kpi_world, by, bucket):
    params = {"by": list(by)} | ({"bucket": bucket} if bucket else {})
    answer = get(kpi_world, **params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["by"], body["bucket"]) == (list(by), bucket)
    want, pareto = reference(kpi_world.extra["rows"], by, bucket, book=load_plants())
    keys = (*by, "bucket") if bucket else by
    want = sorted(want, key=lambda r: tuple(r[k] for k in keys))
    assert_answer_is(body["items"], want, pareto, by, bucket)


def test_filters_and_the_period_narrow_the_figures(kpi_world):
    period = (pd.Timestamp("2026-11-16T20:00Z"), pd.Timestamp("2026-11-17T09:30Z"))
    answer = get(
        kpi_world,
        by=["plant"],
        process=["press-fit", "spot-weld"],
        started_after="2026-11-16T20:00:00Z",
        started_before="2026-11-17 10:30+01:00",
    )
    assert answer.status_code == 200, answer.text
    rows = kpi_world.extra["rows"]
    chosen = rows[rows["process"].isin(["press-fit", "spot-weld"])]
    want, pareto = reference(chosen, ("plant",), None, period=period)
    assert_answer_is(
        answer.json()["items"], sorted(want, key=lambda r: r["plant"]), pareto, ("plant",), None
    )
    assert {i["hours"] for i in answer.json()["items"]} == {13.5}


def test_the_whole_project_and_only_it(kpi_world):
    (total,) = get(kpi_world).json()["items"]
    assert total["curves"] == len(kpi_world.extra["rows"]) > SPEC.curves  # retries and seeds
    assert total["unknown_parts"] > 0 and total["nok_parts"] > 0
    assert total["ok_parts"] + total["nok_parts"] + total["unknown_parts"] == total["parts"]


def test_no_parts_give_zeros_and_nulls(kpi_world):
    (nothing,) = get(kpi_world, station=["no-such-station"]).json()["items"]
    assert nothing["curves"] == nothing["parts"] == nothing["nok_parts"] == 0
    assert nothing["first_pass_yield"] is None and nothing["parts_per_hour"] is None
    assert nothing["cycle_median_s"] is None and nothing["defects"] == []
    grouped = get(kpi_world, station=["no-such-station"], by=["line"], bucket="week")
    assert grouped.status_code == 200 and grouped.json()["items"] == []


def test_a_bad_group_or_bucket_is_refused_with_the_choices(kpi_world):
    bad = get(kpi_world, by=["plant", "colour"])
    assert bad.status_code == 422
    message = bad.json()["error"]["message"]
    assert message.startswith("query: by.1: Input should be 'plant', 'line', 'station'")
    assert get(kpi_world, bucket="month").status_code == 422
    reversed_period = get(kpi_world, started_after="2026-11-18", started_before="2026-11-17")
    assert reversed_period.status_code == 422 and "before" in reversed_period.text


@pytest.mark.parametrize("who", ["owner", "admin", "engineer", "viewer"])
def test_every_role_in_the_project_may_read_them(kpi_world, who):
    assert get(kpi_world, who, by=["station"]).status_code == 200


def test_someone_outside_the_project_is_told_it_does_not_exist(kpi_world):
    outside = get(kpi_world, "outsider")
    assert outside.status_code == 404 and outside.json()["error"]["code"] == "not_found"
    anonymous = kpi_world.call("GET", f"/api/projects/{kpi_world.project_a}/kpis", who=None)
    assert anonymous.status_code == 401
    mine = kpi_world.call("GET", f"/api/projects/{kpi_world.project_b}/kpis", who="outsider")
    assert mine.status_code == 200 and mine.json()["items"][0]["curves"] == 4  # its seed only
