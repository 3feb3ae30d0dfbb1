"""Per-curve features in one pass over the stored codes: what SPC, drift and feature limits read.

Curves come in Arrow's list layout (``offsets``, length C+1) with per-curve steps, as the store
and the hot cache hold them; a value is ``code * step`` in float64. Float samples work too
(steps of 1.0), and there NaN or an infinity in x or y marks a gap, as in the density picture.
Steps are positive and finite, as :func:`pipelines.quantize.choose_step` makes them; a curve
whose step is not finite has no finite sample.

* a sample with a non-finite x or y is skipped, and no segment joins the samples around it;
* ``sample_count`` counts the finite samples; peak, minimum, first and last come from them;
* a curve without a finite sample has NaN for every feature but ``sample_count`` (0).

``area`` is the signed trapezoid sum over consecutive finite samples, in stored order:
``sum((x1 - x0) * (y0 + y1) / 2)``. For a force-displacement curve that is the work done along
the path; where x runs back (a press retracting), those segments count negatively, so a load
and unload cycle gives the energy lost in between, not the area under either branch. Samples
are never sorted by x. One sample gives area 0 and duration 0.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from pipelines.kernels import ngjit, ngjit_parallel

# Rows of :func:`curve_features`' answer, in order.
FEATURES = (
    "peak_y",
    "peak_x",
    "final_x",
    "final_y",
    "min_y",
    "area",
    "duration",
    "sample_count",
)


@ngjit
def curve_features(x, y, offsets, x_step, y_step):
    """A float64 array (len(FEATURES), C): each curve's fixed features (see the module)."""
    return features_and_order(x, y, offsets, x_step, y_step)[0]


@ngjit_parallel
def features_and_order(x, y, offsets, x_step, y_step):
    """:func:`curve_features`, and per curve whether it *rises*: every sample finite and no
    x value below the one before. A range of x is then one run of a rising curve's samples,
    which :func:`measures` finds by bisecting the stored x: whether a stored x is below, at or
    above a level depends on its value alone (:func:`raw_bounds`), and values never fall along
    the curve. The flag compares values the pass computes anyway (0.004 s over the 10k demo's
    batches on one thread; comparing stored x took twice that). Curves are independent, so
    threads share them out."""
    n = len(offsets) - 1
    out = np.full((len(FEATURES), n), np.nan)
    rising = np.zeros(n, np.bool_)
    for c in prange(n):
        xs, ys = x_step[c], y_step[c]
        count = 0
        peak, peak_x, low = -np.inf, np.nan, np.inf
        first_x, last_x, last_y = np.nan, np.nan, np.nan
        area = 0.0
        joined = False  # whether the previous sample was finite: a segment ends here
        rises = True
        if not (np.isfinite(xs) and np.isfinite(ys)):
            out[7, c] = 0  # no finite value
            continue
        for i in range(offsets[c], offsets[c + 1]):
            # Finite codes times finite steps are finite. Testing the stored values, not the
            # products, lets numba drop the test for integer codes: 0.059 -> 0.032 s over the
            # 10k demo's batches on one thread.
            if not (np.isfinite(x[i]) and np.isfinite(y[i])):
                joined = rises = False
                continue
            xv = x[i] * xs
            if xv < last_x:
                rises = False
            yv = y[i] * ys
            if count == 0:
                first_x = xv
            count += 1
            if yv > peak:  # ties: the first one
                peak, peak_x = yv, xv
            if yv < low:
                low = yv
            if joined:
                area += (xv - last_x) * (last_y + yv) * 0.5
            last_x, last_y, joined = xv, yv, True
        out[7, c] = count
        if count == 0:
            continue
        rising[c] = rises
        out[0, c] = peak
        out[1, c] = peak_x
        out[2, c] = last_x
        out[3, c] = last_y
        out[4, c] = low
        out[5, c] = area
        out[6, c] = last_x - first_x
    return out, rising


@ngjit
def raw_bounds(level, step):
    """``(lo, hi)`` in stored units for a ``level`` in values (``step > 0``): ``raw * step <
    level`` exactly when ``raw < lo``, and ``raw * step > level`` exactly when ``raw > hi``.

    A value is ``raw * step`` rounded, which never decreases as ``raw`` grows, so one bound on
    each side decides every sample: a kernel compares the stored codes (or floats) themselves
    and multiplies only where it reads a value. ``lo`` is the least float whose value reaches
    the level, ``hi`` the greatest that does not pass it; both start at ``level / step`` and
    move an ulp at a time, which rounding keeps to a step or two. ``hi < lo`` when no raw value
    equals the level. A non-finite level or step comes back as both bounds: an infinite level
    is then decided right, a NaN one is never reached, and the kernels skip a curve whose step
    is not finite."""
    if not (np.isfinite(level) and np.isfinite(step) and step > 0.0):
        return level, level
    lo = level / step
    while lo * step >= level:
        lo = np.nextafter(lo, -np.inf)
    while lo * step < level:
        lo = np.nextafter(lo, np.inf)
    hi = level / step
    while hi * step <= level:
        hi = np.nextafter(hi, np.inf)
    while hi * step > level:
        hi = np.nextafter(hi, -np.inf)
    return lo, hi


@ngjit
def _into(a, b, i, sa, sb, level):
    """``b`` where the segment from sample ``i - 1`` into sample ``i`` crosses ``level`` of
    ``a``, linearly: the walk and the bisection of :func:`_crossing` share it."""
    pa, pb, av, bv = a[i - 1] * sa, b[i - 1] * sb, a[i] * sa, b[i] * sb
    return pb + (bv - pb) * ((level - pa) / (av - pa))


@ngjit
def _crossing(a, b, start, end, sa, sb, level, rising=False):
    """One curve's ``b`` where ``a`` first reaches ``level`` (see :func:`first_crossing`);
    ``rising``: every sample finite and no value of ``a`` below the one before (see
    :func:`features_and_order`), so the first sample at or past the level is found by
    bisection. It gives what the walk gives: the samples before it are below
    the level, so either it equals the level, or the segment into it crosses, or (the curve's
    first sample) the curve starts above and never comes back."""
    if not (np.isfinite(sa) and np.isfinite(sb)):
        return np.nan  # no finite value
    lo, hi = raw_bounds(level, sa)
    if rising:
        if not np.isfinite(level):
            return np.nan  # never reached: always below +inf, never crossing down to -inf
        i = start + np.searchsorted(a[start:end], lo)
        if i == end:
            return np.nan
        if a[i] <= hi:
            return b[i] * sb
        if i == start:
            return np.nan
        return _into(a, b, i, sa, sb, level)
    side = 0  # the previous sample's side of the level: -1 below, 1 above, 0 none (a gap)
    for i in range(start, end):
        r = a[i]
        if not (np.isfinite(r) and np.isfinite(b[i])):
            side = 0
            continue
        if r < lo:
            now = -1
        elif r > hi:
            now = 1
        elif lo <= r <= hi:  # equal (a NaN level has NaN bounds: never reached)
            return b[i] * sb
        else:
            continue
        if side == -now:  # the segment from the previous sample crosses the level
            return _into(a, b, i, sa, sb, level)
        side = now
    return np.nan


@ngjit
def _slope(x, y, start, end, xs, ys, lo, hi, rising=False):
    """One curve's least-squares slope over ``lo <= x <= hi`` (see
    :func:`least_squares_slope`); ``rising`` (every sample finite, x values never falling): the
    samples in the range are one run, found by bisection, and summed in the same order as the
    walk would, so the answer is the same to the bit."""
    if not (np.isfinite(xs) and np.isfinite(ys)):
        return np.nan  # no finite value
    first = raw_bounds(lo, xs)[0]
    last = raw_bounds(hi, xs)[1]
    if rising:
        if not first <= last:
            return np.nan  # no sample can be in the range (NaN too)
        run = x[start:end]
        start, end = (
            start + np.searchsorted(run, first),
            start + np.searchsorted(run, last, "right"),
        )
    count, kx, ky = 0, 0.0, 0.0
    sx, sy, sxx, sxy = 0.0, 0.0, 0.0, 0.0
    for i in range(start, end):
        r = x[i]
        if not (first <= r <= last):  # NaN too; y is read only inside the range
            continue
        if np.isfinite(r) and np.isfinite(y[i]):
            xv, yv = r * xs, y[i] * ys
            if count == 0:
                kx, ky = xv, yv
            dx, dy = xv - kx, yv - ky
            count += 1
            sx += dx
            sy += dy
            sxx += dx * dx
            sxy += dx * dy
    if count < 2:
        return np.nan
    vxx = sxx - sx * sx / count
    return (sxy - sx * sy / count) / vxx if vxx > 0.0 else np.nan


@ngjit_parallel
def first_crossing(a, b, offsets, a_step, b_step, level, picks):
    """Per curve of ``picks`` (indices into ``offsets``' curves), ``b`` where ``a`` first
    reaches ``level`` along the path: at a sample equal to it, or linearly interpolated inside
    the first segment that crosses it; NaN if never.

    ``y`` at a given ``x`` is ``first_crossing(x, y, ...)``; ``x`` at a given ``y`` is
    ``first_crossing(y, x, ...)``. Segments next to a non-finite sample do not exist. The walk
    compares stored ``a`` with :func:`raw_bounds` and reads values only where it stops (2.5x
    faster over the 10k demo's codes than multiplying every sample; the same answers)."""
    out = np.full(len(picks), np.nan)
    for k in prange(len(picks)):
        c = picks[k]
        out[k] = _crossing(a, b, offsets[c], offsets[c + 1], a_step[c], b_step[c], level)
    return out


@ngjit_parallel
def least_squares_slope(x, y, offsets, x_step, y_step, lo, hi, picks):
    """Per curve of ``picks``, the least-squares slope dy/dx of its finite samples with
    ``lo <= x <= hi``; NaN with fewer than two such samples or when their x are all equal.

    One pass over the samples, with sums about the first sample in the range: every x then
    lies within ``hi - lo`` of it, so the sums do not cancel far from the origin. (Two passes,
    about the mean, took 0.011 s for the 10k demo's press-fit curves; this one 0.007 s.) The
    range is tested on stored x (:func:`raw_bounds`), so samples outside it are not scaled."""
    out = np.full(len(picks), np.nan)
    for k in prange(len(picks)):
        c = picks[k]
        out[k] = _slope(x, y, offsets[c], offsets[c + 1], x_step[c], y_step[c], lo, hi)
    return out


# Kinds of :func:`measures`' definitions, by index.
MEASURES = ("y_at_x", "x_at_y", "slope")


@ngjit_parallel
def measures(x, y, offsets, x_step, y_step, first, ends, kinds, a, b, rising):
    """Several measures per curve in one call: curve ``c`` gets definitions ``first[c]``,
    ``first[c] + 1``, ... (``kinds`` index :data:`MEASURES`; ``a`` the level or the range's
    start, ``b`` its end), its values at ``ends[c - 1]:ends[c]`` of the answer (from 0 for the
    first curve). One curve's measures run one after the other while its samples are in cache: a
    process's three configured features over the 10k demo's batches took 0.047 s on one thread
    one measure at a time, 0.038 s this way.

    ``rising`` (from :func:`features_and_order`, or empty when not known) lets a y at an x and
    a slope bisect a rising curve instead of walking it: over the 10k demo's batches, where
    two processes of three rise, a y at an x, an x at a y and a slope per process took 0.049 s
    on one thread walking and 0.034 s this way (medians of 9)."""
    values = np.full(ends[-1] if len(ends) else 0, np.nan)
    known = len(rising) > 0
    for c in prange(len(offsets) - 1):
        start, end, xs, ys = offsets[c], offsets[c + 1], x_step[c], y_step[c]
        rises = known and rising[c]
        at = ends[c - 1] if c else 0
        for j in range(ends[c] - at):
            f = first[c] + j
            if kinds[f] == 0:
                values[at + j] = _crossing(x, y, start, end, xs, ys, a[f], rises)
            elif kinds[f] == 1:
                values[at + j] = _crossing(y, x, start, end, ys, xs, a[f])
            else:
                values[at + j] = _slope(x, y, start, end, xs, ys, a[f], b[f], rises)
    return values
