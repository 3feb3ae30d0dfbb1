"""KPIs from the engine against pandas on the same curves, read out of the store row by row.

The demo plant runs two weeks across both DST ends (Europe 25 October, the US 1 November), with
a plant book in which Leipzig keeps shifts of its own on Berlin's clocks, Győr the default
shifts (UTC) and Greenville is missing (UTC). Some results are made UNKNOWN, some parts lose
their serial, and some rejected curves are tried again and pass, so every part of the
first-pass yield's definition is exercised. The reference below computes each figure the
obvious way, one row at a time, with zoneinfo for the clocks and
:func:`models.times.relative_window` for the shifts.
"""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest

from models.plants import PlantBook, load_plants
from models.times import relative_window
from pipelines.curves import Curves
from pipelines.kpis import BUCKETS, FIGURES, GROUPS, KpiError, kpis
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration

BOOK = PlantBook.model_validate_json(
    json.dumps(
        {
            "shifts": {"zone": "UTC", "starts": {"A": "06:00", "B": "14:00", "C": "22:00"}},
            "plants": [
                {
                    "key": "Leipzig",
                    "zone": "Europe/Berlin",
                    "shifts": {
                        "zone": "Europe/Berlin",
                        "starts": {"Früh": "05:30", "Spät": "13:30", "Nacht": "21:30"},
                    },
                },
                {"key": "Győr", "zone": "Europe/Budapest"},
            ],
        }
    )
)
GROUPINGS = [(), *[(g,) for g in GROUPS], ("plant", "program")]
SPEC = DemoSpec(curves=1200, seed=11, start=pd.Timestamp("2026-10-19 06:00", tz="UTC"), days=16)
PERIOD = (pd.Timestamp("2026-10-24 12:00", tz="UTC"), pd.Timestamp("2026-11-02 03:00", tz="UTC"))


def _tampered(batches):
    """The demo with UNKNOWN results, parts without a serial and passing retries of some
    rejected curves (same part and station, 90 s later)."""
    rng = np.random.default_rng(2)
    retries = []
    for batch in batches:
        n = len(batch.meta)
        meta = batch.meta.copy()
        unknown = (rng.random(n) < 0.06) & (meta["result"] == "OK")
        meta.loc[unknown, "result"] = "UNKNOWN"
        meta.loc[rng.random(n) < 0.03, "part_serial"] = ""
        batch.meta = meta
        again = (meta["result"] == "NOK").to_numpy() & (rng.random(n) < 0.5)
        retry = batch.take(again)
        later = pd.Timedelta(seconds=90)
        retry.meta = retry.meta.assign(
            curve_key=retry.meta["curve_key"] + "/retry",
            result="OK",
            defect="",
            started_at=retry.meta["started_at"] + later,
            ended_at=retry.meta["ended_at"] + later,
        )
        retries.append(retry)
    return [*batches, *retries]


@pytest.fixture(scope="module")
def plant(engine):
    """The tampered demo in project ``demo`` and a few curves of project ``other`` in the same
    database; the rows of ``demo`` as pandas reads them."""
    client = engine.client()
    name = f"t_{uuid.uuid4().hex[:12]}"
    store = CurveStore.open(client, name, sweep_stale_after=0)
    store.write(_tampered(list(generate_demo(SPEC))), DatasetSpec("demo", "demo", "d"))
    store.write(generate_demo(DemoSpec(curves=30, seed=3)), DatasetSpec("other", "demo", "o"))
    rows = client.query_df(
        "SELECT project, curve_id, plant, line, station, process, program, shift, part_serial, "
        f"toString(result) AS result, defect, started_at, ended_at FROM `{name}`.curves "
        "WHERE project = 'demo'"
    )
    for column in ("started_at", "ended_at"):
        rows[column] = pd.to_datetime(rows[column]).dt.tz_localize("UTC")
    text = [c for c in rows.columns if c not in ("curve_id", "started_at", "ended_at")]
    rows[text] = rows[text].astype(object)  # plain str, not Arrow strings
    yield Curves(client, name, projects=("demo",)), rows
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


# --- the reference -------------------------------------------------------------------------


def _bucket(t: pd.Timestamp, plant: str, bucket: str, book: PlantBook):
    """The bucket (start, end) holding ``t`` at ``plant``, one instant at a time."""
    if bucket == "shift":
        shifts = book.shifts_of(plant)
        start, end = relative_window(
            "shift", now=t, zone="UTC", shift_starts=shifts.clock, shift_zone=shifts.zone
        )
        return pd.Timestamp(start), pd.Timestamp(end)
    zone = book.zone(plant) or "UTC"
    local = t.tz_convert(zone)
    if bucket == "hour":
        into = pd.Timedelta(minutes=local.minute, seconds=local.second)
        start = t - into - pd.Timedelta(microseconds=local.microsecond)
        return start, start + pd.Timedelta(hours=1)
    day = local.date() - pd.Timedelta(days=local.weekday() if bucket == "week" else 0)
    days = 7 if bucket == "week" else 1
    start = pd.Timestamp(day).tz_localize(zone)
    end = pd.Timestamp(day + pd.Timedelta(days=days)).tz_localize(zone)
    return start.tz_convert("UTC"), end.tz_convert("UTC")


def reference(rows: pd.DataFrame, by, bucket, book=BOOK, period=(None, None)):
    """The figures and the Pareto the obvious way: one group, one part at a time."""
    rows = rows.copy()
    if period[0] is not None:
        rows = rows[(rows["started_at"] >= period[0]) & (rows["started_at"] < period[1])]
    rows["part"] = [
        (p, s) if s else (p, f"#{i}")
        for p, s, i in zip(rows["project"], rows["part_serial"], rows["curve_id"], strict=True)
    ]
    keys = list(by)
    if bucket:
        spans = [
            _bucket(t, p, bucket, book)
            for t, p in zip(rows["started_at"], rows["plant"], strict=True)
        ]
        rows["bucket"] = [s for s, _ in spans]
        rows["bucket_end"] = [e for _, e in spans]
        keys.append("bucket")
    begin = period[0] if period[0] is not None else rows["started_at"].min()
    end = period[1] if period[1] is not None else rows["ended_at"].max()
    figures, pareto = [], []
    groups = rows.groupby(keys, sort=True) if keys else [((), rows)]
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        results = group.groupby("part")["result"].agg(set)
        ok = sum(r == {"OK"} for r in results)
        nok = sum("NOK" in r for r in results)
        cycle = (group["ended_at"] - group["started_at"]).dt.total_seconds()
        if bucket:
            stop = group["bucket_end"].iloc[0]
            hours = (min(stop, end) - max(group["bucket"].iloc[0], begin)).total_seconds() / 3600
        else:
            hours = (end - begin).total_seconds() / 3600
        judged = (group["result"] != "UNKNOWN").sum()
        figures.append(
            {
                **dict(zip(keys, key, strict=True)),
                **({"bucket_end": group["bucket_end"].iloc[0]} if bucket else {}),
                "curves": len(group),
                "ok_curves": (group["result"] == "OK").sum(),
                "nok_curves": (group["result"] == "NOK").sum(),
                "unknown_curves": (group["result"] == "UNKNOWN").sum(),
                "parts": len(results),
                "ok_parts": ok,
                "nok_parts": nok,
                "unknown_parts": len(results) - ok - nok,
                "first_pass_yield": ok / (ok + nok) if ok + nok else np.nan,
                "nok_rate": (group["result"] == "NOK").sum() / judged if judged else np.nan,
                "hours": hours if hours > 0 else np.nan,
                "parts_per_hour": len(results) / hours if hours > 0 else np.nan,
                "cycle_median_s": cycle.median(),
                "cycle_p90_s": cycle.quantile(0.9),
                "first_start": group["started_at"].min(),
                "last_end": group["ended_at"].max(),
            }
        )
        named = group.loc[group["defect"] != "", "defect"].value_counts()
        ranked = sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))
        total, running = sum(named), 0
        for defect, count in ranked:
            running += count
            pareto.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "defect": defect,
                    "curves": count,
                    "share": count / total,
                    "cumulative_share": running / total,
                }
            )
    return figures, pareto


def assert_rows_equal(got: pd.DataFrame, want: list[dict], keys):
    assert len(got) == len(want)
    got = got.sort_values(list(keys) + (["defect"] if "defect" in got else [])) if keys else got
    for row, expected in zip(got.to_dict("records"), want, strict=True):
        for name, value in expected.items():
            if isinstance(value, float | np.floating) and name not in keys:
                if np.isnan(value):
                    assert np.isnan(row[name]), (name, row, expected)
                else:
                    assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-9), (name, expected)
            else:
                assert row[name] == value, (name, row, expected)


# --- the tests -----------------------------------------------------------------------------


# Every grouping unbucketed, and every bucket under no, one and two grouping columns: the
# grouping and the bucketing are composed the same way for any pair (the whole cartesian
# product took 100 s of make test for nothing more).
GRID = [(by, None) for by in GROUPINGS] + [
    (by, bucket) for bucket in BUCKETS for by in ((), ("plant",), ("plant", "program"))
]


@pytest.mark.parametrize(
    ("by", "bucket"), GRID, ids=lambda v: ("+".join(v) or "all") if isinstance(v, tuple) else str(v)
)
def test_every_figure_is_what_pandas_counts(plant, by, bucket):
    curves, rows = plant
    got = kpis(curves, by, bucket, plants=BOOK)
    want, pareto = reference(rows, by, bucket)
    keys = (*by, "bucket") if bucket else by
    assert got.keys == keys
    assert list(got.figures.columns) == [*keys, *(["bucket_end"] if bucket else []), *FIGURES]
    # The reference groups sort the same way only after sorting both by the keys.
    want = sorted(want, key=lambda r: tuple(r[k] for k in keys))
    assert_rows_equal(got.figures, want, keys)
    pareto = sorted(pareto, key=lambda r: (*(r[k] for k in keys), -r["curves"], r["defect"]))
    assert_rows_equal(
        got.pareto.sort_values(
            [*keys, "curves", "defect"], ascending=[*([True] * len(keys)), False, True]
        ),
        pareto,
        (),
    )


@pytest.mark.parametrize("bucket", [None, "day", "shift"])
def test_a_period_and_filters_narrow_every_figure_and_clip_the_hours(plant, bucket):
    curves, rows = plant
    narrowed = curves.filter(start=PERIOD[0], end=PERIOD[1], process=["press-fit", "spot-weld"])
    got = kpis(narrowed, ("plant",), bucket, plants=BOOK)
    chosen = rows[rows["process"].isin(["press-fit", "spot-weld"])]
    want, pareto = reference(chosen, ("plant",), bucket, period=PERIOD)
    keys = ("plant", "bucket") if bucket else ("plant",)
    assert_rows_equal(got.figures, sorted(want, key=lambda r: tuple(r[k] for k in keys)), keys)
    assert len(got.pareto) == len(pareto)
    if bucket is None:  # one period for all: the plants' throughputs are comparable
        assert set(got.figures["hours"]) == {(PERIOD[1] - PERIOD[0]).total_seconds() / 3600}


def test_the_days_around_a_dst_change_last_25_hours_on_the_plants_clocks(plant):
    curves, _ = plant
    days = kpis(curves.filter(plant="Leipzig"), ("plant",), "day", plants=BOOK).figures
    lengths = (days["bucket_end"] - days["bucket"]).dt.total_seconds() / 3600
    by_start = dict(
        zip(days["bucket"].dt.tz_convert("Europe/Berlin").dt.date, lengths, strict=True)
    )
    assert by_start[pd.Timestamp("2026-10-25").date()] == 25
    assert by_start[pd.Timestamp("2026-10-26").date()] == 24
    shifts = kpis(curves.filter(plant="Leipzig"), (), "shift", plants=BOOK).figures
    local = shifts["bucket"].dt.tz_convert("Europe/Berlin")
    assert set(local.dt.strftime("%H:%M")) <= {"05:30", "13:30", "21:30"}
    assert len(set(local.dt.strftime("%H:%M"))) == 3


def test_the_packaged_plant_book_is_the_default(plant):
    curves, rows = plant
    got = kpis(curves, ("plant",), "day")
    want, _ = reference(rows, ("plant",), "day", book=load_plants())
    assert_rows_equal(got.figures, sorted(want, key=lambda r: (r["plant"], r["bucket"])), ())


def test_a_rework_does_not_make_a_part_first_pass(plant):
    curves, rows = plant
    retried = rows.loc[rows["part_serial"] != "", ["part_serial", "station"]]
    serial = retried[retried.duplicated()]["part_serial"].iloc[0]
    one = kpis(curves.filter(serial=serial), ("station",)).figures
    station = one.loc[one["curves"] == 2].iloc[0]  # a NOK and its passing retry
    assert (station["ok_curves"], station["nok_curves"]) == (1, 1)
    assert (station["parts"], station["nok_parts"], station["first_pass_yield"]) == (1, 1, 0.0)


def test_without_unknown_results_the_yield_is_the_overviews(plant):
    curves, _ = plant
    judged = curves.filter(result=["OK", "NOK"])
    total = kpis(judged).figures.iloc[0]
    overview = judged.overview()
    assert total["parts"] == overview.parts and total["nok_parts"] == overview.rejected_parts
    assert total["first_pass_yield"] == pytest.approx(overview.first_pass_yield)
    assert total["unknown_parts"] == 0


def test_only_the_readers_projects_are_read(plant):
    curves, rows = plant
    assert kpis(curves).figures.iloc[0]["curves"] == len(rows)
    everything = Curves(curves.client, curves.database)
    assert kpis(everything).figures.iloc[0]["curves"] == len(rows) + 30
    assert kpis(curves.filter(project="other")).figures.iloc[0]["curves"] == 0


@pytest.mark.parametrize("bucket", [None, *BUCKETS])
def test_no_parts_give_zeros_and_none_not_errors(plant, bucket):
    curves, _ = plant
    nothing = curves.filter(station="no-such-station")
    total = kpis(nothing, (), bucket, plants=BOOK)
    if bucket is None:
        (row,) = total.figures.to_dict("records")
        assert {k: row[k] for k in FIGURES[:8]} == dict.fromkeys(FIGURES[:8], 0)
        rates = ("first_pass_yield", "nok_rate", "hours", "parts_per_hour", "cycle_median_s")
        assert all(np.isnan(row[k]) for k in rates)
        assert row["first_start"] is None and row["last_end"] is None
    else:
        assert total.figures.empty
    grouped = kpis(nothing, ("plant", "line"), bucket, plants=BOOK)
    assert grouped.figures.empty and grouped.pareto.empty
    assert list(grouped.pareto.columns)[-4:] == ["defect", "curves", "share", "cumulative_share"]


@pytest.mark.parametrize(
    ("by", "bucket", "words"),
    [
        (("plant", "colour"), None, "cannot group KPIs by 'colour'; choose any of plant"),
        ("defect", None, "cannot group KPIs by 'defect'"),
        (("station`) FROM x --",), None, "cannot group KPIs by"),
        ((), "month", "no time bucket 'month'; choose one of hour, shift, day, week"),
    ],
)
def test_a_bad_group_or_bucket_is_refused_by_name(plant, by, bucket, words):
    curves, _ = plant
    with pytest.raises(KpiError, match=words.replace("(", r"\(")):
        kpis(curves, by, bucket)
