"""The kernel's fast paths for dense curves against the slow reference, pixel for pixel.

Consecutive samples inside one pixel column are folded into a vertical span, and a step to the
next column uses a closed form of Bresenham's walk; these cases aim at both: many samples per
column, every row step from -6 to 6 across a column edge, in both x directions, at the image
border, after NaN gaps, and curves that come back to a column they left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from pipelines.density import coded_density, curve_density
from tests.pipelines.density_reference import concatenate, reference_density

# One pixel per unit: x 0..12 -> 12 columns, y 0..16 -> 16 rows.
VIEW = dict(x_range=(0.0, 12.0), y_range=(0.0, 16.0), width=12, height=16)


def dense_curves(seed: int, *, dtype=np.float64) -> list[tuple[np.ndarray, np.ndarray]]:
    """Curves with several samples per column and every row jump from -6 to 6 at column edges."""
    rng = np.random.default_rng(seed)
    curves = []
    for jump in range(-6, 7):
        for per_column in (1, 2, 5):
            n = 12 * per_column + 1
            x = np.linspace(-0.4, 12.0, n) + rng.uniform(-0.01, 0.01, n)
            x[-1] = 12.0  # on the upper bound: the last column
            y = 8.0 + rng.uniform(-0.45, 0.45, n)
            # Row jumps between columns, small wiggles inside them.
            y += np.floor(x).clip(0, 11) * jump * 0.5 % 14 - 6
            curves.append((x.astype(dtype), y.clip(0.0, 16.0).astype(dtype)))
            curves.append((x[::-1].astype(dtype), y[::-1].clip(0.0, 16.0).astype(dtype)))
    for _ in range(20):  # random walks, a few samples per column, bounded by the view
        n = int(rng.integers(2, 80))
        x = np.sort(rng.uniform(-0.5, 12.5, n))
        y = np.clip(8 + np.cumsum(rng.normal(0, 1.2, n)), -1.0, 17.0)
        curves.append((x.astype(dtype), y.astype(dtype)))
    # At the border: columns 0 and 11, rows 0 and 15, exactly on the bounds.
    edge = np.array([0.0, 0.2, 0.7, 0.99, 1.0, 1.3])
    curves.append((edge, np.array([0.0, 16.0, 0.0, 15.5, 0.2, 16.0])))
    curves.append((12.0 - edge, np.array([16.0, 0.0, 7.0, 0.0, 16.0, 15.0])))
    curves.append((np.array([11.2, 11.5, 11.9, 12.0]), np.array([3.0, 9.0, 1.0, 16.0])))
    # NaN gaps inside a dense stretch, and a lone sample between two NaNs.
    x = np.linspace(0.1, 11.9, 60)
    y = 8 + 5 * np.sin(x)
    y[[10, 11, 30, 32]] = np.nan
    x[[45]] = np.nan
    curves.append((x.astype(dtype), y.astype(dtype)))
    # Back to a column it left: a gap in the column's interval, and a vertical back-track.
    curves.append((np.array([3.2, 3.5, 4.5, 3.6, 3.8]), np.array([2.0, 3.0, 9.0, 12.0, 13.0])))
    curves.append((np.array([5.1, 5.2, 5.3, 6.4, 5.5]), np.array([4.0, 1.0, 6.0, 7.0, 2.0])))
    # Single samples and zero-length segments.
    curves.append((np.array([6.5]), np.array([8.0])))
    curves.append((np.array([6.5, 6.5, 6.5]), np.array([8.0, 8.0, 8.0])))
    curves.append((np.array([6.5, 6.6, 7.4]), np.array([8.0, 8.0, 8.0])))
    return curves


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_curves_match_the_reference(seed, dtype):
    curves = dense_curves(seed, dtype=dtype)
    x, y, offsets = concatenate(curves)
    np.testing.assert_array_equal(
        curve_density(x, y, offsets, **VIEW), reference_density(curves, **VIEW)
    )


def test_each_dense_curve_alone_matches_the_reference():
    """One curve at a time, so a pixel off in one curve cannot hide behind another's."""
    for x, y in dense_curves(3):
        got = curve_density(x, y, np.array([0, len(x)]), **VIEW)
        np.testing.assert_array_equal(got, reference_density([(x, y)], **VIEW))


def test_coded_dense_curves_match_their_values():
    curves = [(x, y) for x, y in dense_curves(4) if np.isfinite(x).all() and np.isfinite(y).all()]
    codes = [(np.round(x * 64), np.round(y * 32)) for x, y in curves]
    cx, cy, offsets = concatenate(codes)
    steps = np.array([[1 / 64] * len(codes), [1 / 32] * len(codes)])
    got = coded_density(cx.astype(np.int32), cy.astype(np.int32), offsets, steps=steps, **VIEW)
    scaled = [(a / 64, b / 32) for a, b in codes]
    np.testing.assert_array_equal(got[:, :, 0], reference_density(scaled, **VIEW))


def test_plain_python_fast_paths_agree():
    """The fast paths as plain Python (NUMBA_DISABLE_JIT=1), on a few of the same curves."""
    code = textwrap.dedent(
        """
        import numpy as np
        from pipelines.density import curve_density
        from tests.pipelines.density_reference import concatenate, reference_density
        from tests.pipelines.test_density_fast_path import VIEW, dense_curves
        curves = dense_curves(5)[::4]
        x, y, offsets = concatenate(curves)
        assert (curve_density(x, y, offsets, **VIEW) == reference_density(curves, **VIEW)).all()
        print("agree")
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("agree")
