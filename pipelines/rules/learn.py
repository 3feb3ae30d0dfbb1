"""An envelope learned from chosen good parts: a percentile band across their curves, widened
by a margin (issue 19 §1, "drawn by hand or learned").

Each good curve is read at ``points`` evenly spaced x values over the range, by linear
interpolation along its pieces (a NaN gap gives no value there; nor does x outside the curve).
The band at each x is the ``low`` and ``high`` percentile of those values, moved out by
``margin`` (in y units). Curves must run forward in x (displacement, time, angle), since
"the value at x" is what a percentile needs; a curve that turns back in x is refused.
Between the grid's x values the bounds are straight, so a good curve that bends sharply there
can still cross them: the margin is what covers that, and :func:`judge_set` on the good parts
shows how many pass their own envelope.
"""

from __future__ import annotations

import numpy as np

from pipelines.rules.spec import Envelope, RuleError
from pipelines.samples import CurveSet

# Fewer good curves than this at an x, and the band there is a guess.
LEAST_CURVES = 5


def learn_envelope(
    good: CurveSet,
    x_min: float,
    x_max: float,
    *,
    points: int = 50,
    low: float = 0.5,
    high: float = 99.5,
    margin: float = 0.0,
) -> Envelope:
    """The envelope over ``x_min..x_max`` the curves in ``good`` span (see the module)."""
    if not 0 <= low < high <= 100:
        raise RuleError(f"The percentiles must satisfy 0 <= low < high <= 100, not {low}, {high}")
    if margin < 0:
        raise RuleError(f"The margin must not be negative, not {margin:g}")
    if points < 2:
        raise RuleError("An envelope needs at least two points")
    if not x_min < x_max:
        raise RuleError(f"x_min ({x_min:g}) must be below x_max ({x_max:g})")
    grid = np.linspace(x_min, x_max, points)
    values = np.full((len(good), points), np.nan)
    for i in range(len(good)):
        s, e = good.offsets[i], good.offsets[i + 1]
        x, y = good.x[s:e], good.y[s:e]
        finite = np.isfinite(x) & np.isfinite(y)
        if np.any(np.diff(x[finite]) < 0):
            curve = good.meta["curve_id"].iloc[i] if "curve_id" in good.meta else i
            raise RuleError(f"Curve {curve} turns back in x; learn from curves that run forward")
        # Pieces between gaps: each is interpolated only over its own x span.
        breaks = np.flatnonzero(~finite)
        for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, len(x)], strict=True):
            if b - a < 1:
                continue
            inside = (grid >= x[a]) & (grid <= x[b - 1])
            values[i, inside] = np.interp(grid[inside], x[a:b], y[a:b])
    counts = np.sum(np.isfinite(values), axis=0)
    if counts.min() < LEAST_CURVES:
        at = grid[int(np.argmin(counts))]
        raise RuleError(
            f"Only {counts.min()} good curves reach x = {at:g}; choose at least {LEAST_CURVES} "
            "that span the envelope's range, or narrow the range"
        )
    lower = np.nanpercentile(values, low, axis=0) - margin
    upper = np.nanpercentile(values, high, axis=0) + margin
    return Envelope(
        x_min,
        x_max,
        tuple(zip(grid.tolist(), lower.tolist(), strict=True)),
        tuple(zip(grid.tolist(), upper.tolist(), strict=True)),
    )
