import numpy as np
import pandas as pd
import pytest

from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.synthetic.shapes import DEFECTS, PROCESSES


def collect(spec):
    batches = list(generate_demo(spec))
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    return batches, meta


@pytest.fixture(scope="module")
def demo():
    return collect(DemoSpec(curves=900, seed=3, batch_points=400_000))


def test_same_seed_same_data_whatever_the_batch_size():
    small, meta_small = collect(DemoSpec(curves=60, seed=11, batch_points=20_000))
    large, meta_large = collect(DemoSpec(curves=60, seed=11, batch_points=10**9))
    assert len(small) > 1 and len(large) == 1
    pd.testing.assert_frame_equal(meta_small, meta_large)
    np.testing.assert_array_equal(np.concatenate([b.y for b in small]), large[0].y)
    other = collect(DemoSpec(curves=60, seed=12, batch_points=10**9))[0][0]
    assert not np.array_equal(other.y[:1000], large[0].y[:1000])


def test_three_processes_with_their_own_axes(demo):
    _, meta = demo
    assert set(meta["process"]) == set(PROCESSES)
    for process, spec in PROCESSES.items():
        rows = meta[meta["process"] == process]
        assert set(rows["x_unit"]) == {spec.x.unit}
        assert set(rows["y_name"]) == {spec.y.name}


def test_plant_hierarchy_and_serials(demo):
    _, meta = demo
    lines = meta.groupby("plant")["line"].nunique().to_dict()
    assert lines == {"Leipzig": 2, "Győr": 2, "Greenville": 1}
    assert meta["station"].nunique() == 15
    assert set(meta["shift"]) == {"A", "B", "C"}
    # Each part passes every station of its line: one curve per station per serial.
    per_serial = meta.groupby("part_serial")["station"].nunique()
    assert per_serial.max() == 3
    assert meta["curve_key"].is_unique
    assert (meta["ended_at"] > meta["started_at"]).all()


def test_mostly_ok_with_labelled_defects(demo):
    _, meta = demo
    nok = meta[meta["result"] == "NOK"]
    assert 0.04 < len(nok) / len(meta) < 0.12
    assert (nok["defect"] != "").all()
    assert (meta.loc[meta["result"] == "OK", "defect"] == "").all()
    for process, modes in DEFECTS.items():
        seen = set(nok.loc[nok["process"] == process, "defect"])
        assert seen <= {*modes, "drift"}
    assert "drift" in set(nok["defect"])


def test_point_counts_span_hundreds_to_tens_of_thousands(demo):
    batches, _ = demo
    counts = np.concatenate([b.counts() for b in batches])
    assert counts.min() < 1000
    assert counts.max() > 10_000


def test_values_sit_on_the_sensor_grid(demo):
    batches, _ = demo
    batch = batches[0]
    assert batch.x.dtype == np.int32 and batch.y.dtype == np.int32
    steps = batch.meta.groupby("process")["y_step"].unique()
    for process, values in steps.items():
        assert values.tolist() == [PROCESSES[process].y.step]


def test_batches_stay_bounded(demo):
    batches, _ = demo
    largest_curve = max(int(b.counts().max()) for b in batches)
    assert max(b.point_count for b in batches) < 400_000 + largest_curve


def test_defects_change_the_shape():
    from pipelines.synthetic.shapes import PROGRAMS, press_fit

    ok_x, ok_y, _ = press_fit(np.random.default_rng(1), PROGRAMS["PF-6204-bearing"], "", 0.0)
    early_x, early_y, _ = press_fit(
        np.random.default_rng(1), PROGRAMS["PF-6204-bearing"], "early_peak", 0.0
    )
    assert early_x[np.argmax(early_y)] < ok_x[np.argmax(ok_y)] - 0.8


def test_a_part_goes_through_its_stations_in_process_order(demo):
    """Issue 16: press-fit, then screwdriving, then spot-weld, each after the last one ended,
    with a conveyor transfer of 8-20 s between them."""
    _, meta = demo
    order = {"press-fit": 0, "screwdriving": 1, "spot-weld": 2}
    for serial, part in meta.groupby("part_serial"):
        part = part.assign(step=part["process"].map(order)).sort_values("started_at")
        assert list(part["step"]) == sorted(part["step"]), serial
        starts = part["started_at"].iloc[1:].reset_index(drop=True)
        gaps = (starts - part["ended_at"].iloc[:-1].reset_index(drop=True)).dt.total_seconds()
        assert gaps.between(8.0, 30.0).all(), (serial, list(gaps))


def test_output_is_unchanged_by_the_fast_generator():
    """Issue 17: the generator does its time arithmetic in integer nanoseconds and shares a
    part's draws between its curves; every row, instant and code is still what the Timestamp
    version made (digest taken from it), so stored demos and their fingerprints stay valid."""
    import hashlib

    digest = hashlib.sha256()
    for batch in generate_demo(DemoSpec(curves=450, seed=5, batch_points=300_000)):
        digest.update(batch.meta.to_csv(index=False).encode())
        for array in (batch.offsets, batch.x, batch.y):
            digest.update(array.tobytes())
    assert digest.hexdigest() == "5487cb56f5bfbbeec9d41d5b404e587963da80074392d8fc5af2770ea547eec2"


def test_hour_key_matches_pandas_near_and_away_from_the_hour():
    from pipelines.synthetic.generator import _HOUR_NS, _hour_key

    base = pd.Timestamp("2026-11-16 06:00", tz="UTC").value
    for ns in (base, base - 1, base + 1, base + 999_999, base - 1_000_001, base + _HOUR_NS // 2):
        assert _hour_key(ns) == int(pd.Timestamp(ns, tz="UTC").timestamp() // 3600)
