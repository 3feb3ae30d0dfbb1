"""Distinct-curve density: how many curves pass through each pixel.

Pixels are decided by Datashader's line rules (:mod:`pipelines.kernels.lines`); every curve
counts at most once per pixel. Each curve is folded into one vertical interval per pixel column
(``lo``/``hi``), which is added to a per-column difference array as the curve leaves the
column (+1 at the bottom, -1 above the top; taken out and added again in the rare case the
curve comes back and widens it). So the work is O(samples + curves x columns), not O(pixels
touched). A column where one curve leaves a gap (a hysteresis loop, a NaN break, x going back)
switches, for that curve only, to stamping single pixels with the curve's id, which is exact in
every case.

Per-thread accumulators: ``diff[k, column, row]`` (height + 1 rows) and ``extra[k, column, row]``,
columns contiguous, ``k`` the category.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from pipelines.kernels import ngjit, ngjit_leaf, ngjit_parallel
from pipelines.kernels.lines import (
    liang_barsky,
    needs_clipping,
    rounds_off_axis,
    rounds_off_view,
    to_pixel,
)


@ngjit_leaf
def _stamp(c, a, b, cur, k, stamp, extra):
    for r in range(a, b + 1):
        if stamp[c, r] != cur:
            stamp[c, r] = cur
            extra[k, c, r] += 1


@ngjit_leaf
def _gap(c, a, b, cur, k, owner, lo, hi, stamp, extra, diff):
    """Rows a..b do not touch curve ``cur``'s interval in column c (or it is already gapped):
    from now on this curve's pixels in this column are stamped one by one (its interval, already
    in the difference array, is taken back out)."""
    if owner[c] == cur:
        owner[c] = -cur
        diff[k, c, lo[c]] -= 1
        diff[k, c, hi[c] + 1] += 1
        _stamp(c, lo[c], hi[c], cur, k, stamp, extra)
    _stamp(c, a, b, cur, k, stamp, extra)


@ngjit
def accumulate(
    x,
    y,
    offsets,
    shared_x,
    x_scale,
    y_scale,
    x_first,
    y_base,
    picks,
    cats,
    c_start,
    c_end,
    view,
    diff,
    extra,
    box,
    hits,
    columns,
):
    """Add curves ``picks[c_start:c_end]`` to one thread's accumulators.

    Samples of curve ``ci`` are ``y[offsets[ci]:offsets[ci + 1]]``; x is indexed the same way,
    or, with ``shared_x``, from 0 for every curve (one x axis of length N for all). A sample's
    value is ``x[j] * x_scale[ci]`` and ``y[j] * y_scale[ci]``: integer codes times the
    curve's quantisation step, computed exactly as the engine computes them (float64), or floats
    times 1.0 of their own type (so float32 samples keep float32 arithmetic, as in Datashader).

    How the memory cache holds codes in fewer bytes (None: not used; numba compiles the None
    case without the extra work, which cost 6 % when it added zeros): with ``x_first``
    (int64 per curve), x holds each sample's code minus the previous one's (int8: x mostly
    rises by small steps) and a curve's first code is ``x_first[ci]`` (its own delta is not
    read); with ``y_base``, a y code is ``y[j] + y_base[ci]`` (a code relative to the middle
    of its curve's range fits int16 where the absolute one needs int32).

    ``box`` is a pixel rectangle ``(c0, c1, r0, r1)``, inclusive: ``hits[ci]`` is set when curve
    ``ci`` draws a pixel inside it (an empty box, c0 > c1, skips the test). Picking thereby
    uses the very pixels of the raster.

    ``columns``: for a shared x axis with one scale, :func:`shared_columns` of it (the x half
    of the inside test, done once for every curve); empty otherwise.

    Speed notes, all measured on the 10k-curve benchmarks: the per-column bookkeeping is written
    out here, twice (a call passing these arrays costs ~10 ns, the inline code ~2; a helper
    with numba's ``inline="always"`` or as a no-NRT leaf made the whole pass 1.7-2x slower,
    measured December 4); it writes the interval to the difference array at once rather than in
    a pass over the curve's columns at its end (10k x 1k 63 -> 59 ms, 10k x 10k 357 -> 342 ms,
    December 7); it is branch-free except for the rare gap or return, because which column a
    noisy curve's next pixels land in is unpredictable and mispredicted branches cost more than
    the work; and segments that stay in one column only grow a run held in registers.
    """
    xmin, xmax, ymin, ymax, sx, tx, sy, ty = (
        view[0],
        view[1],
        view[2],
        view[3],
        view[4],
        view[5],
        view[6],
        view[7],
    )
    xtop, ytop = int(view[8]), int(view[9])
    width, height = extra.shape[1], extra.shape[2]
    owner = np.zeros(width, dtype=np.int64)  # cur: one interval lo..hi; -cur: gapped, stamped
    lo = np.zeros(width, dtype=np.int64)
    hi = np.zeros(width, dtype=np.int64)
    touched = np.zeros(width + 1, dtype=np.int64)
    stamp = np.zeros((width, height), dtype=np.int64)
    known_columns = len(columns) > 0
    for pick in range(c_start, c_end):
        ci = picks[pick]
        cur = ci + 1
        k = cats[ci]
        s, e = offsets[ci], offsets[ci + 1]
        if e - s < 2:
            continue  # no segment: nothing drawn (and nothing to read)
        base = s if shared_x else 0
        xk, yk = x_scale[ci], y_scale[ci]
        nt = 0
        # The open run: rows ra..rb of column rc, the newest pixels, held in registers until a
        # pixel lands elsewhere. cached: the previous segment lay inside the view and was
        # drawn, so px1/py1 hold its mapped end, which the open run holds, and no NaN precedes.
        cached = False
        px1 = py1 = 0
        rc, ra, rb = -1, 0, 0
        # With x_first, xc is the x code of the newest sample read: the steps summed.
        xc = x[s - base] if x_first is None else x_first[ci]
        if y_base is None:
            yb = 0
            ye = y[s] * yk
        else:
            yb = y_base[ci]
            ye = (y[s] + yb) * yk
        xe = xc * xk
        for j in range(s, e - 1):
            x0, y0 = xe, ye
            if x_first is None:
                x1 = x[j + 1 - base] * xk
            else:
                xc += x[j + 1]
                x1 = xc * xk
            y1 = y[j + 1] * yk if y_base is None else (y[j + 1] + yb) * yk
            xe, ye = x1, y1
            if known_columns:
                qx = columns[j + 1 - base]
                inside = (qx >= 0) & (ymin <= y1) & (y1 <= ymax)
                fold = cached and inside and not rounds_off_axis(ymin, ymax, y0, y1)
            else:
                inside = (xmin <= x1) & (x1 <= xmax) & (ymin <= y1) & (y1 <= ymax)
                fold = (
                    cached
                    and inside
                    and not rounds_off_view(xmin, xmax, ymin, ymax, x0, x1, y0, y1)
                )
            if fold:
                if not known_columns:
                    qx = to_pixel(x1, sx, tx, xtop)
                qy = to_pixel(y1, sy, ty, ytop)
                if qx == px1:
                    # Dense curves: a segment inside one column covers rows py1..qy. Fold them
                    # into the run (the M4 idea). This is exactly Bresenham's walk: with no x
                    # step it moves one row per step from py1 to qy, and py1 is in the run.
                    ra = min(ra, qy)
                    rb = max(rb, qy)
                    py1 = qy
                    continue
                if (qx - px1 == 1) | (px1 - qx == 1):
                    # One column step, the other common case: the closed form below (the same
                    # as the ``big_dx <= 1`` branch further down, with first = 1) keeps rows
                    # py1+iy..py1+(switch-1)*iy in column px1, next to py1 in the open run, and
                    # puts rows py1+switch*iy..qy in column qx, which starts the new run.
                    big_dy = abs(qy - py1)
                    iy = (qy > py1) - (qy < py1)
                    switch = max(1, (2 * big_dy + (iy <= 0) + 3) >> 2)
                    stay = py1 + (switch - 1) * iy
                    ra, rb = min(ra, stay), max(rb, stay)
                    if 0 <= rc < width:
                        ra, rb = max(ra, 0), min(rb, height - 1)
                        o = owner[rc]
                        fresh = (o != cur) & (o != -cur)
                        low, high = lo[rc], hi[rc]
                        if not fresh and ((o == -cur) | (ra > high + 1) | (rb < low - 1)):
                            _gap(rc, ra, rb, cur, k, owner, lo, hi, stamp, extra, diff)
                        else:
                            if not fresh:  # the column's interval grows: out, then in again
                                diff[k, rc, low] -= 1
                                diff[k, rc, high + 1] += 1
                                ra, rb = min(low, ra), max(high, rb)
                            lo[rc], hi[rc] = ra, rb
                            diff[k, rc, ra] += 1
                            diff[k, rc, rb + 1] -= 1
                            owner[rc] = cur
                            touched[nt] = rc
                            nt += fresh
                    move = py1 + switch * iy
                    rc, ra, rb = qx, min(move, qy), max(move, qy)
                    px1, py1 = qx, qy
                    continue
                px0, py0, px1, py1 = px1, py1, qx, qy
                clipped = False
                segment_start = False
                inside_both = True
            else:
                # A new line starts after a gap: NaN, as in Datashader, or infinity (see below).
                # (Only floats can break the line: codes and deltas are always finite.)
                segment_start = j == s or not (
                    np.isfinite(x[j - 1 - base] * xk) and np.isfinite(y[j - 1] * yk)
                )
                inside_both = not needs_clipping(xmin, xmax, ymin, ymax, x0, x1, y0, y1)
                if inside_both:
                    clipped = False
                    px0 = to_pixel(x0, sx, tx, xtop)
                    py0 = to_pixel(y0, sy, ty, ytop)
                    px1 = to_pixel(x1, sx, tx, xtop)
                    py1 = to_pixel(y1, sy, ty, ytop)
                else:
                    # Infinity breaks the line like NaN. Datashader clips it into NaN pixel
                    # coordinates and writes out of bounds; here it is a documented gap.
                    skip = not (
                        np.isfinite(x0) and np.isfinite(y0) and np.isfinite(x1) and np.isfinite(y1)
                    )
                    cx0, cx1, cy0, cy1, skip, clipped_start, clipped_end = liang_barsky(
                        xmin, xmax, ymin, ymax, x0, x1, y0, y1, skip
                    )
                    if skip:
                        cached = False
                        continue
                    clipped = clipped_start or clipped_end
                    segment_start = segment_start or clipped_start
                    px0 = to_pixel(cx0, sx, tx, xtop)
                    px1 = to_pixel(cx1, sx, tx, xtop)
                    py0 = to_pixel(cy0, sy, ty, ytop)
                    py1 = to_pixel(cy1, sy, ty, ytop)
            # Only a segment known to lie inside may start a fold: Liang-Barsky can leave an end
            # one ulp outside the view unclipped, and the next segment must then be clipped.
            cached = inside_both
            # Datashader's _bresenham, as a sequence of pixel events (column c, rows a..b).
            ix = (px1 > px0) - (px1 < px0)
            iy = (py1 > py0) - (py1 < py0)
            big_dx, big_dy = abs(px1 - px0), abs(py1 - py0)
            # Datashader appends the start only for a new line, or for an unclipped point.
            first = 0 if segment_start or not (clipped or big_dx or big_dy) else 1
            if big_dx <= 1:
                # At most one column step (nearly every segment of a dense curve): steps
                # first..switch-1 stay in column px0, switch..n_last are in px1. The switch
                # is the closed form of Bresenham's error recurrence for one x step.
                switch = big_dy + 1 if big_dx == 0 else max(1, (2 * big_dy + (iy <= 0) + 3) >> 2)
                n_last = max(big_dx, big_dy)  # Bresenham's step count
                n_from, n_to = 0, 1
            else:
                n_from, n_to = first, max(big_dx, big_dy)
                dx, dy = 2 * big_dx, 2 * big_dy
                x_major = dx >= dy
                error = 2 * dy - dx if x_major else 2 * dx - dy
                cx, cy = px0, py0
            for n in range(n_from, n_to + 1):
                if big_dx <= 1:
                    step_a, step_b = (first, switch - 1) if n == 0 else (switch, n_last)
                    c = px0 if n == 0 else px1
                    r0, r1 = py0 + step_a * iy, py0 + step_b * iy
                    a, b = min(r0, r1), max(r0, r1)
                    empty = step_a > step_b
                else:
                    if n > 0:
                        if x_major:
                            if error >= 0 and (error or ix > 0):
                                error -= 2 * dx
                                cy += iy
                            error += 2 * dy
                            cx += ix
                        else:
                            if error >= 0 and (error or iy > 0):
                                error -= 2 * dy
                                cx += ix
                            error += 2 * dx
                            cy += iy
                    c, a, b = cx, cy, cy
                    empty = False
                if empty:
                    continue
                if c == rc and a <= rb + 1 and b >= ra - 1:
                    ra, rb = min(ra, a), max(rb, b)
                    continue
                # Hand the open run to its column (the bookkeeping of _emit, written out and
                # branch-free unless the run opens a gap), then open a new one.
                if 0 <= rc < width:
                    ra, rb = max(ra, 0), min(rb, height - 1)
                    o = owner[rc]
                    fresh = (o != cur) & (o != -cur)
                    low, high = lo[rc], hi[rc]
                    if not fresh and ((o == -cur) | (ra > high + 1) | (rb < low - 1)):
                        _gap(rc, ra, rb, cur, k, owner, lo, hi, stamp, extra, diff)
                    else:
                        if not fresh:  # the column's interval grows: out, then in again
                            diff[k, rc, low] -= 1
                            diff[k, rc, high + 1] += 1
                            ra, rb = min(low, ra), max(high, rb)
                        lo[rc], hi[rc] = ra, rb
                        diff[k, rc, ra] += 1
                        diff[k, rc, rb + 1] -= 1
                        owner[rc] = cur
                        touched[nt] = rc
                        nt += fresh
                rc, ra, rb = c, a, b
        if rc >= 0:
            nt = _emit(rc, ra, rb, cur, k, owner, lo, hi, touched, nt, stamp, extra, diff)
        if box[0] <= box[1]:
            hits[ci] = _hits_box(box, cur, nt, touched, owner, lo, hi, stamp)


@ngjit_leaf
def _hits_box(box, cur, nt, touched, owner, lo, hi, stamp):
    """Whether curve ``cur`` has a pixel in the inclusive pixel box (c0, c1, r0, r1)."""
    c0, c1, r0, r1 = box[0], box[1], box[2], box[3]
    for i in range(nt):
        c = touched[i]
        if c < c0 or c > c1:
            continue
        if owner[c] == cur and lo[c] <= r1 and hi[c] >= r0:
            return True
        if owner[c] == -cur:
            for r in range(max(r0, 0), min(r1, stamp.shape[1] - 1) + 1):
                if stamp[c, r] == cur:
                    return True
    return False


@ngjit_leaf
def _emit(c, a, b, cur, k, owner, lo, hi, touched, nt, stamp, extra, diff):
    """Add rows a..b of column c to curve ``cur``; returns the number of touched columns.

    The same bookkeeping as written out in :func:`accumulate`, for the run left open at the end
    of a curve.
    """
    width, height = stamp.shape
    if c < 0 or c >= width:
        return nt
    a = max(a, 0)
    b = min(b, height - 1)
    o = owner[c]
    if o == cur and a <= hi[c] + 1 and b >= lo[c] - 1:
        diff[k, c, lo[c]] -= 1
        diff[k, c, hi[c] + 1] += 1
        lo[c] = min(lo[c], a)
        hi[c] = max(hi[c], b)
        diff[k, c, lo[c]] += 1
        diff[k, c, hi[c] + 1] -= 1
    elif o == cur or o == -cur:
        _gap(c, a, b, cur, k, owner, lo, hi, stamp, extra, diff)
    else:
        owner[c] = cur
        lo[c] = a
        hi[c] = b
        diff[k, c, a] += 1
        diff[k, c, b + 1] -= 1
        touched[nt] = c
        nt += 1
    return nt


@ngjit_parallel
def density(
    x,
    y,
    offsets,
    shared_x,
    x_scale,
    y_scale,
    x_first,
    y_base,
    picks,
    cats,
    n_cats,
    bounds,
    view,
    width,
    height,
    box,
    hits,
    columns,
):
    """One accumulator set per chunk of ``picks`` (one chunk per thread), summed at the end."""
    chunks = len(bounds) - 1
    diffs = np.zeros((chunks, n_cats, width, height + 1), dtype=np.int32)
    extras = np.zeros((chunks, n_cats, width, height), dtype=np.int32)
    for t in prange(chunks):
        accumulate(
            x,
            y,
            offsets,
            shared_x,
            x_scale,
            y_scale,
            x_first,
            y_base,
            picks,
            cats,
            bounds[t],
            bounds[t + 1],
            view,
            diffs[t],
            extras[t],
            box,
            hits,
            columns,
        )
    total = np.zeros((n_cats, height, width), dtype=np.uint32)
    for k in prange(n_cats * width):
        cat, c = k // width, k % width
        running = 0
        for r in range(height):
            level = 0
            for t in range(chunks):
                running += diffs[t, cat, c, r]
                level += extras[t, cat, c, r]
            total[cat, r, c] = running + level
    return total


@ngjit
def shared_columns(x, scale, view):
    """Per sample of a shared x axis: its pixel column when it lies inside the view's x range
    and the segment arriving at it passes the x half of :func:`rounds_off_view`, else -1.

    The same expressions in the same dtypes as :func:`accumulate` evaluates per curve, so the
    one-column fast path takes exactly the segments it took before; -1 sends a segment down
    the full path, which decides it from the values as always.
    """
    xmin, xmax, sx, tx, xtop = view[0], view[1], view[4], view[5], int(view[8])
    columns = np.full(len(x), -1, dtype=np.int64)
    for j in range(len(x)):
        x1 = x[j] * scale
        if not ((xmin <= x1) & (x1 <= xmax)):
            continue
        if j > 0 and rounds_off_axis(xmin, xmax, x[j - 1] * scale, x1):
            continue
        columns[j] = to_pixel(x1, sx, tx, xtop)
    return columns
