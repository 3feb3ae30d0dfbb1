"""Unusual parts: made-up programs with a few odd parts, curves off their median curve, the
binning kernel and the distance against slow references, and the demo plant's defects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from pipelines import unusual
from pipelines.curves import Curves
from pipelines.kernels.bins import average_in_bins
from pipelines.kernels.features import FEATURES, curve_features
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.synthetic.shapes import PROCESSES
from pipelines.unusual import (
    ENVELOPE_BINS,
    envelope_distances,
    median_distance,
    rank_unusual,
    unusual_parts,
    unusual_words,
)
from tests.pipelines.features_reference import concatenate

PROGRAM_STEPS = {name: p.y.step for name, p in PROCESSES.items()}


def programs() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for program, level in (("A", 100.0), ("B", 10.0)):
        for _ in range(50):
            row = {f: rng.normal(level, level / 100) for f in FEATURES}
            rows.append({"curve_id": len(rows), "program": program, **row})
    frame = pd.DataFrame(rows)
    frame.loc[7, "area"] = 130.0  # far out in A: 30 σ
    frame.loc[60, "peak_y"] = 9.0  # in B, low: 10 σ
    frame.loc[61, "duration"] = np.nan  # a missing feature is no evidence
    return frame


def test_the_odd_parts_rank_first_with_the_feature_that_makes_them_odd():
    ranked = unusual_parts(programs(), limit=5)
    assert ranked["curve_id"].tolist()[:2] == [7, 60]
    assert (ranked.loc[0, "feature"], ranked.loc[1, "feature"]) == ("area", "peak_y")
    assert 20 < ranked.loc[0, "z"] < 40  # 30 σ, as far as 50 parts' MAD can tell
    assert unusual_words(ranked.loc[0]).endswith("σ above its program's median")
    assert "below" in unusual_words(ranked.loc[1])
    assert 61 not in ranked["curve_id"].tolist()[:2]


def test_small_programs_are_not_judged_and_program_is_needed():
    few = programs().head(10)
    assert unusual_parts(few).empty
    with pytest.raises(ValueError, match="program"):
        unusual_parts(programs().drop(columns="program"))


@pytest.mark.integration
def test_the_demo_plants_defective_parts_are_among_the_most_unusual(store):
    store.write(generate_demo(DemoSpec(curves=3000)), DatasetSpec("demo", "demo", "d"))
    features = Curves(store.client, store.database).features(("program", "defect"))
    top = unusual_parts(features, limit=50)
    share = (top["defect"] != "").mean()
    base = (features["defect"] != "").mean()
    assert share > 4 * base, (share, base)  # defects are rare overall, common at the top
    # With the curves' distances from their median curves, the top holds more of them.
    curves = Curves(store.client, store.database).filter(process="press-fit")
    both = rank_unusual(curves, ("defect",), limit=100)
    alone = unusual_parts(curves.features(("program", "defect")), limit=100)
    assert both["envelope"].notna().all() and (both["feature"] == "envelope").any()
    assert (both["defect"] != "").mean() > (alone["defect"] != "").mean()


# --- the distance from the median envelope -----------------------------------------------------


def reference_bins(x, y, lo: float, width: float, bins: int) -> np.ndarray:
    """One curve's mean y per x bin, sample by sample."""
    values: list[list[float]] = [[] for _ in range(bins)]
    for xv, yv in zip(x, y, strict=True):
        if not (np.isfinite(xv) and np.isfinite(yv)):
            continue
        at = np.floor((xv - lo) * (bins / width))
        if 0 <= at < bins:
            values[int(at)].append(yv)
    return np.array([sum(v) / len(v) if v else np.nan for v in values])


def reference_distance(values: np.ndarray, resolution: float) -> np.ndarray:
    """Each row's RMS robust z from the median curve, bin by bin and row by row."""
    rows, bins = values.shape
    z2: list[list[float]] = [[] for _ in range(rows)]
    for b in range(bins):
        column = values[:, b]
        present = column[np.isfinite(column)]
        if len(present) < max(1.0, rows / 2):
            continue
        median = float(np.median(present))
        spread = max(float(np.median(np.abs(present - median))) * 1.4826, resolution)
        for r in range(rows):
            if np.isfinite(column[r]):
                z2[r].append(((column[r] - median) / spread) ** 2)
    return np.array([np.sqrt(np.mean(z)) if z else np.nan for z in z2])


def wavy_curves(seed: int, count: int = 30):
    """Curves of one program, y = sin(x) + noise on slightly different grids, some with NaN
    gaps and some ending early."""
    rng = np.random.default_rng(seed)
    curves = []
    for i in range(count):
        x = np.sort(rng.uniform(0.0, 10.0 - 2.0 * (i % 7 == 0), rng.integers(80, 200)))
        y = np.sin(x) + rng.normal(0.0, 0.05, x.size)
        if i % 5 == 1:
            y[rng.integers(0, x.size, 3)] = np.nan
        curves.append((x, y))
    return curves


def wiggled(seed: int, count: int, odd: int):
    """Curves y = sin(x) + noise on one grid; ``odd`` wiggles at x = 3.2, which leaves its
    features as they were: the wiggle adds no area and stays inside the peak and the minimum."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, 400)
    curves = []
    for i in range(count):
        y = np.sin(x) + rng.normal(0.0, 0.05, x.size)
        if i == odd:
            u = (x - 3.2) / 0.5
            y += 1.2 * u * np.exp(-(u**2))
        curves.append((x, y))
    return curves


def test_curves_averaged_in_bins_agree_with_a_sample_by_sample_reference():
    curves = wavy_curves(5, count=12)
    curves.append((np.array([1.0]), np.array([2.0])))
    curves.append((np.array([]), np.array([])))
    x, y, offsets = concatenate(curves)
    lo = np.linspace(-0.5, 1.0, len(curves))
    width = np.linspace(8.0, 11.0, len(curves))
    got = average_in_bins(x, y, offsets, lo, width, 17)
    expected = np.array(
        [reference_bins(cx, cy, lo[i], width[i], 17) for i, (cx, cy) in enumerate(curves)]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isnan(got[-1]).all() and np.isfinite(got[-2]).sum() == 1


def test_the_distance_from_the_median_curve_agrees_with_a_bin_by_bin_reference():
    curves = wavy_curves(6)
    x, y, offsets = concatenate(curves)
    ones = np.ones(len(curves))
    values = average_in_bins(x, y, offsets, 0.0 * ones, 10.0 * ones, 20)
    values[:18, 19] = np.nan  # a bin most curves miss is not judged
    np.testing.assert_allclose(
        median_distance(values, 0.01), reference_distance(values, 0.01), rtol=1e-12
    )
    assert np.isnan(median_distance(np.full((3, 4), np.nan), 0.01)).all()
    flat = np.zeros((25, 4))
    flat[0, 2] = 0.003  # spread 0 everywhere: the resolution is the σ
    assert median_distance(flat, 0.001)[0] == pytest.approx(np.sqrt(9 / 4))


def test_a_curve_off_its_programs_median_curve_ranks_first_though_its_features_do_not():
    curves = wiggled(8, count=40, odd=11)
    x, y, offsets = concatenate(curves)
    rows = curve_features(x, y, offsets, np.ones(len(curves)), np.ones(len(curves)))
    features = pd.DataFrame(rows.T, columns=list(FEATURES)).assign(
        curve_id=np.arange(len(curves)), program="P"
    )
    values = average_in_bins(
        x, y, offsets, np.zeros(len(curves)), np.full(len(curves), 10.0), ENVELOPE_BINS
    )
    envelope = pd.Series(median_distance(values, 0.001), index=features["curve_id"])
    plain = unusual_parts(features, limit=40)
    assert plain.loc[plain["curve_id"] == 11].index[0] > 5  # its features are as any other's
    ranked = unusual_parts(features, limit=3, envelope=envelope)
    assert ranked.loc[0, "curve_id"] == 11 and ranked.loc[0, "feature"] == "envelope"
    assert ranked.loc[0, "envelope"] == ranked.loc[0, "z"] > 2 * envelope.drop(11).max()
    assert unusual_words(ranked.loc[0]).endswith("σ from its program's median curve")
    typical = envelope.drop(11)
    assert 0.6 < typical.median() < 1.6  # a typical curve sits about 1 σ away


def test_plain_python_run_of_the_bins_kernel_agrees():
    """The kernel with NUMBA_DISABLE_JIT=1: its logic is covered as plain Python."""
    code = textwrap.dedent(
        """
        import numpy as np
        from pipelines.kernels.bins import average_in_bins
        from tests.pipelines.features_reference import concatenate
        from tests.pipelines.test_unusual import reference_bins, wavy_curves
        curves = wavy_curves(3, count=8)
        x, y, o = concatenate(curves)
        lo, width = np.full(8, 0.5), np.full(8, 9.0)
        expected = [reference_bins(cx, cy, 0.5, 9.0, 13) for cx, cy in curves]
        np.testing.assert_allclose(average_in_bins(x, y, o, lo, width, 13), expected)
        print("agree", len(curves))
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("agree ")


@pytest.mark.integration
def test_stored_curves_envelope_distances_read_in_chunks_equal_the_in_memory_ones(
    store, monkeypatch
):
    store.write(generate_demo(DemoSpec(curves=300, days=1)), DatasetSpec("demo", "demo", "d"))
    curves = Curves(store.client, store.database).filter(process="press-fit")
    monkeypatch.setattr(unusual, "CHUNK_SAMPLES", 20_000)  # a few curves per read
    got = envelope_distances(curves)
    whole = curves.samples()
    meta = whole.meta
    lo = meta.groupby("program")["x_min"].transform("median").to_numpy(np.float64)
    hi = meta.groupby("program")["x_max"].transform("median").to_numpy(np.float64)
    values = average_in_bins(whole.x, whole.y, whole.offsets, lo, hi - lo, ENVELOPE_BINS)
    expected = pd.Series(np.nan, index=meta["curve_id"])
    for rows in meta.groupby("program").indices.values():
        if len(rows) >= 20:
            expected.iloc[rows] = median_distance(values[rows], PROGRAM_STEPS["press-fit"])
    assert len(got) == len(meta) and got.notna().sum() > 50
    pd.testing.assert_series_equal(
        got.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )
