"""Drawing from per-curve levels gives the raw samples' pixels exactly (``pipelines.levels``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.density import coded_density, curve_density
from pipelines.levels import BUCKETS_PER_COLUMN, choose_level, compute_levels, drawable
from pipelines.views import View
from tests.pipelines.density_reference import concatenate

LEVELS = tuple(range(0, 12))


def curves_of(rng, n_curves, *, dtype=np.float64):
    """Random walks with NaN gaps, back-and-forth x, vertical steps, spikes, samples on
    pixel edges and far outside."""
    curves = []
    for i in range(n_curves):
        n = int(rng.integers(0, 400))
        kind = i % 6
        if kind == 0:  # a random walk over a sorted x
            x = np.sort(rng.uniform(-2, 12, n))
        elif kind == 1:  # hysteresis: x goes back and forth
            x = 5 + 6 * np.sin(np.linspace(0, rng.uniform(1, 20), n))
        elif kind == 2:  # steps: every x several times
            x = np.repeat(np.linspace(0, 10, n // 4 + 1), 4)[:n]
        elif kind == 3:  # x on a coarse grid, often on pixel edges of the views below
            x = np.sort(rng.integers(-8, 88, n) / 8.0)
        elif kind == 4:  # a noisy walk in x too
            x = np.cumsum(rng.normal(0.03, 0.1, n))
        else:  # far outside the view now and then
            x = np.sort(rng.uniform(0, 10, n))
            x[rng.random(n) < 0.05] = 1e6
        y = np.cumsum(rng.normal(0, 0.6, n))
        if n and rng.random() < 0.5:
            y[rng.integers(0, n, max(1, n // 50))] = np.nan  # gaps
        if n and rng.random() < 0.2:
            y[rng.integers(0, n)] = 50.0  # a spike far above
        if n and rng.random() < 0.1:
            x[rng.integers(0, n)] = np.inf
        curves.append((x.astype(dtype), y.astype(dtype)))
    return curves


def assert_same_pixels(curves, view: View, k: int, unit) -> int:
    x, y, offsets = concatenate(curves)
    kw = dict(x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height)
    level = compute_levels(x, y, offsets, [k], unit=unit)[k]
    out = drawable(level, x, y, view)
    assert len(out.offsets) == len(offsets)
    expected = curve_density(x, y, offsets, **kw)
    got = curve_density(out.x, out.y, out.offsets, **kw)
    np.testing.assert_array_equal(got, expected)
    return len(out.x)


def random_view(rng) -> View:
    lo = float(rng.choice([0.0, -1.0, 2.5, rng.uniform(-3, 8)]))
    span = float(rng.choice([10.0, 1.0, 0.25, rng.uniform(0.01, 15)]))
    ylo = float(rng.uniform(-8, 2))
    return View(
        x_range=(lo, lo + span),
        y_range=(ylo, ylo + float(rng.uniform(0.5, 12))),
        width=int(rng.choice([8, 40, 97, 200])),
        height=int(rng.integers(5, 60)),
    )


def test_every_level_on_random_views_draws_the_raw_pixels():
    """Any level, not only the chosen one: coarse levels straddle pixel edges all the time,
    which is where the raw fallback must take over."""
    rng = np.random.default_rng(17)
    for trial in range(25):
        curves = curves_of(rng, 30, dtype=np.float32 if trial % 4 == 3 else np.float64)
        view = random_view(rng)
        assert_same_pixels(curves, view, int(rng.integers(0, 12)), 1 / 64)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(0, 11),
    unit=st.sampled_from([1 / 64, 0.001, 0.1, 0.3]),
)
def test_property_levels_equal_the_kernel_on_raw_samples(seed, k, unit):
    rng = np.random.default_rng(seed)
    assert_same_pixels(curves_of(rng, 12), random_view(rng), k, unit)


def test_chosen_level_reduces_a_dense_overview():
    """The point of levels: a dense curve at an overview draws from far fewer samples, and
    straddling buckets hold a small share of them."""
    rng = np.random.default_rng(3)
    n = 20_000
    curves = [
        (np.arange(n, dtype=np.float64) / 1000, np.cumsum(rng.normal(0, 0.05, n))) for _ in range(5)
    ]
    view = View(x_range=(0.0, 20.0), y_range=(-10.0, 10.0), width=100, height=60)
    k = choose_level(view, 1 / 1000, LEVELS)
    assert k == 4  # 2**4 / 1000 <= 0.2 / 8 < 2**5 / 1000
    x, y, offsets = concatenate(curves)
    level = compute_levels(x, y, offsets, [k], unit=1 / 1000)[k]
    out = drawable(level, x, y, view)
    kw = dict(x_range=view.x_range, y_range=view.y_range, width=100, height=60)
    np.testing.assert_array_equal(
        curve_density(out.x, out.y, out.offsets, **kw), curve_density(x, y, offsets, **kw)
    )
    assert len(out.x) < len(x) / 3
    assert out.raw_samples < len(x) / 4


def test_choose_level():
    view = View(x_range=(0.0, 80.0), y_range=(0.0, 1.0), width=80, height=10)  # 1 per pixel
    assert choose_level(view, 1 / 8, LEVELS) == 0
    assert choose_level(view, 1 / 64, LEVELS) == 3
    assert choose_level(view, 1 / 100, LEVELS) == 3
    assert choose_level(view, 1 / 4, LEVELS) is None  # the finest is too wide: raw samples
    assert choose_level(view, 1 / 2**20, (0, 2, 5)) == 5
    assert BUCKETS_PER_COLUMN == 8


def test_integer_codes_nest_on_code_zero_and_draw_exactly():
    """Stored curves: codes with per-curve steps, buckets ``code >> k``."""
    rng = np.random.default_rng(5)
    curves = []
    for i in range(25):
        n = int(rng.integers(1, 3000))
        if i % 3 == 0:
            xc = np.arange(n)
        elif i % 3 == 1:
            xc = np.round(400 + 380 * np.sin(np.linspace(0, 9, n)))  # back and forth
        else:
            xc = np.repeat(np.arange(n // 3 + 1) * 7, 3)[:n]
        yc = np.cumsum(rng.integers(-40, 41, n))
        curves.append((xc.astype(np.int32), yc.astype(np.int32)))
    x, y, offsets = concatenate(curves)
    x, y = x.astype(np.int32), y.astype(np.int32)
    steps = np.array([rng.choice([0.01, 0.02, 0.005], 25), rng.choice([0.1, 0.03], 25)])
    levels = compute_levels(x, y, offsets, [0, 2, 3, 5, 8], steps=steps)
    # Nesting: every run boundary of a coarser level is one of a finer level.
    for fine, coarse in ((0, 2), (2, 3), (3, 5), (5, 8)):
        assert set(levels[coarse].raw_offsets) <= set(levels[fine].raw_offsets)
    for _ in range(15):
        lo = float(rng.uniform(-2, 20))
        view = View(
            x_range=(lo, lo + float(rng.uniform(0.5, 40))),
            y_range=(float(rng.uniform(-300, 0)), float(rng.uniform(1, 300))),
            width=int(rng.integers(10, 300)),
            height=int(rng.integers(10, 100)),
        )
        kw = dict(x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height)
        expected = coded_density(x, y, offsets, steps=steps, **kw)
        for k, level in levels.items():
            out = drawable(level, x, y, view, steps=steps)
            assert out.x.dtype == np.int32
            got = coded_density(out.x, out.y, out.offsets, steps=steps, **kw)
            np.testing.assert_array_equal(got, expected, err_msg=f"level {k}")


def test_runs_keep_a_subsequence_of_at_most_six_samples():
    x = np.array([0.0, 0.5, 0.2, 0.9, 0.1, 0.3, 0.7, 1.5, np.nan, 1.6, 2.0])
    y = np.array([1.0, 5.0, -2.0, 0.0, 3.0, 1.0, 2.0, 4.0, 0.0, 7.0, 1.0])
    level = compute_levels(x, y, np.array([0, 11]), [0], unit=1.0)[0]
    # runs: [0..6] in bucket 0, [7] bucket 1, the NaN, [9] bucket 1, [10] bucket 2
    assert level.raw_offsets.tolist() == [0, 7, 8, 9, 10, 11]
    # first 0, max y 1, min y 2, max x 3, min x 0, last 6
    np.testing.assert_array_equal(level.x, [0.0, 0.5, 0.2, 0.9, 0.7, 1.5, np.nan, 1.6, 2.0])
    assert level.run_offsets.tolist() == [0, 5, 6, 7, 8, 9]
    assert level.offsets.tolist() == [0, 9]


def test_empty_input():
    level = compute_levels(np.empty(0), np.empty(0), np.array([0]), [3], unit=1.0)[3]
    out = drawable(level, np.empty(0), np.empty(0), View(x_range=(0.0, 1.0), y_range=(0.0, 1.0)))
    assert out.offsets.tolist() == [0] and len(out.x) == 0


def test_floats_need_a_unit():
    with pytest.raises(ValueError):
        compute_levels(np.zeros(3), np.zeros(3), np.array([0, 3]), [0])


def test_plain_python_run_agrees():
    """The runs kernel with NUMBA_DISABLE_JIT=1: its logic is covered as plain Python."""
    code = textwrap.dedent(
        """
        import numpy as np
        from pipelines.density import curve_density
        from pipelines.levels import compute_levels, drawable
        from pipelines.views import View
        from tests.pipelines.density_reference import concatenate
        from tests.pipelines.test_levels import curves_of
        rng = np.random.default_rng(8)
        curves = curves_of(rng, 8)
        x, y, offsets = concatenate(curves)
        view = View(x_range=(0.0, 10.0), y_range=(-5.0, 5.0), width=30, height=12)
        kw = dict(x_range=view.x_range, y_range=view.y_range, width=30, height=12)
        expected = curve_density(x, y, offsets, **kw)
        for k in (0, 3, 6):
            level = compute_levels(x, y, offsets, [k], unit=1 / 64)[k]
            out = drawable(level, x, y, view)
            assert (curve_density(out.x, out.y, out.offsets, **kw) == expected).all()
        print("agree", int(expected.sum()))
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("agree ")


def test_on_an_aligned_view_levels_are_the_per_view_m4():
    """Pixel columns ``2**k`` codes wide with edges between codes: no run reaches two columns,
    so nothing is read raw and exactly the per-view M4's samples are drawn."""
    from pipelines.density import view_transform
    from pipelines.kernels.m4 import m4_keep
    from pipelines.levels import aligned_view

    rng = np.random.default_rng(11)
    n, c = 20_000, 20
    x = np.tile(np.arange(n, dtype=np.int32) - 300, c)
    y = np.cumsum(rng.integers(-50, 51, n * c)).astype(np.int32)
    offsets = np.arange(c + 1, dtype=np.int64) * n
    unit = 0.0015
    steps = np.array([[unit] * c, [0.01] * c])
    wanted = View(x_range=(-0.6, 29.7), y_range=(-300.0, 300.0), width=300, height=100)
    view = aligned_view(wanted, unit, LEVELS)
    assert view.x_range[0] <= wanted.x_range[0] and view.x_range[1] >= wanted.x_range[1]
    assert view.x_range[1] - view.x_range[0] <= 2 * (wanted.x_range[1] - wanted.x_range[0])
    k = round(float(np.log2((view.x_range[1] - view.x_range[0]) / view.width / unit)))
    assert k == 7  # 67 codes per pixel asked for: columns of 128
    level = compute_levels(x, y, offsets, [k], steps=steps)[k]
    out = drawable(level, x, y, view, steps=steps)
    assert out.raw_runs == 0
    kw = dict(x_range=view.x_range, y_range=view.y_range, width=300, height=100)
    np.testing.assert_array_equal(
        coded_density(out.x, out.y, out.offsets, steps=steps, **kw),
        coded_density(x, y, offsets, steps=steps, **kw),
    )
    transform = view_transform(view.x_range, view.y_range, 300, 100)
    m4 = m4_keep(x * unit, y.astype(np.float64), offsets, transform)
    assert len(out.x) == int(m4.sum()) < len(x) / 5
    assert aligned_view(wanted, unit, (0, 1)) is None  # no level that coarse


def test_coarser_levels_from_finer_ones_equal_levels_from_raw_samples():
    rng = np.random.default_rng(21)
    x, y, offsets = concatenate(curves_of(rng, 30))
    together = compute_levels(x, y, offsets, [1, 3, 4, 7], unit=0.01)
    for k, level in together.items():
        alone = compute_levels(x, y, offsets, [k], unit=0.01)[k]
        for name in ("x", "y", "offsets", "run_offsets", "curve_runs", "raw_offsets"):
            np.testing.assert_array_equal(getattr(level, name), getattr(alone, name), name)


def test_aligned_level_names_the_level_whose_buckets_are_the_columns():
    from pipelines.levels import aligned_level, aligned_view

    unit = 0.0015
    wanted = View(x_range=(-0.6, 29.7), y_range=(-1.0, 1.0), width=300, height=100)
    view = aligned_view(wanted, unit, LEVELS)
    k = round(float(np.log2((view.x_range[1] - view.x_range[0]) / view.width / unit)))
    # Twice the step: columns of 2**(k-1) codes, but edges a quarter code off the grid.
    steps = [unit, 2 * unit, 3 * unit, unit * (1 + 1e-6)]
    assert aligned_level(view, np.array(steps), LEVELS).tolist() == [k, -1, -1, -1]
    assert aligned_level(view, np.array([unit]), [k + 1]).tolist() == [-1]  # not available
    off = view.zoomed((view.x_range[0] + unit / 3, view.x_range[1] + unit / 3), view.y_range)
    assert aligned_level(off, np.array([unit]), LEVELS).tolist() == [-1]
    assert aligned_level(wanted, np.array([unit]), LEVELS).tolist() == [-1]
