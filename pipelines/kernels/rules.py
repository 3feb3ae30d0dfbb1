"""Evaluation rules judged per curve: windows, no-pass lines, envelopes, thresholds.

Curves come as one flat set in Arrow's list layout (``x``, ``y``, ``offsets`` int64, curve
``c`` is ``[offsets[c], offsets[c + 1])``) with a step per curve: a value is ``x[i] *
x_step[c]`` in float64. The store's integer codes are judged as they are read, with their
steps (no float copy of every sample first); float samples come with steps of 1.0.

A curve is its polyline: straight segments between consecutive samples, so a segment can enter
a window or cross a line between two samples. A sample with NaN or infinity in x or y breaks
the polyline: no segment touches it (a *gap*). A run of finite samples between gaps is a
*piece*; a piece of one sample is a point, and counts as a point of the curve. A curve without
any finite sample gets :data:`EMPTY` from every rule (nothing was judged, so it does not
pass).

Every boundary is closed: a curve exactly on a window's edge is in the window, exactly on a
no-pass line has crossed it, exactly on an envelope's bound is inside the band, exactly at a
threshold has reached it. There is no tolerance: values are compared as stored.

A window is *visited* from where the curve first touches the closed box to where it is last in
it. A visit starts by crossing an edge inward (the side entered through; exactly through a
corner that crosses both of its edges inward, both sides), or, with the curve already inside,
at its first sample (:data:`START`) or the first sample after a gap (:data:`AFTER_GAP`). It
ends by crossing an edge outward (the side left through), at a gap (:data:`GAP`) or at the
curve's last sample (:data:`END`). A curve that only touches an edge or a corner from outside
visits the window there, entering and leaving at the same point. A uni-box wants exactly one
visit, entered through its entry side and left through its exit side; a curve that starts
inside was not entered through any side and fails.

Each ``judge_*`` kernel returns a verdict code per curve (:data:`PASS` or a failure code) and
the numbers its reason needs. Curves are independent, so the outer loop is parallel.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from pipelines.kernels import ngjit, ngjit_parallel

# Window sides, as bits: an entry or exit exactly through a corner has two.
LEFT, RIGHT, BOTTOM, TOP = 1, 2, 4, 8
ANY = LEFT | RIGHT | BOTTOM | TOP
# How a visit of a window began or ended when not through a side.
START = 16  # at the curve's first finite sample, already inside
AFTER_GAP = 32  # at the first sample after a gap, already inside
GAP = 64  # at the last sample before a gap, still inside
END = 128  # at the curve's last sample, still inside

# Verdict codes (one table for every kind; reasons are worded in pipelines.rules).
PASS = 0
EMPTY = 1  # no finite sample
NEVER_REACHED = 2  # window: never touched it
STARTED_INSIDE = 3  # window: first touched without entering through a side
WRONG_ENTRY = 4
ENDED_INSIDE = 5  # the first visit ends with the curve
GAP_INSIDE = 6  # the first visit ends at a gap
WRONG_EXIT = 7
REENTERED = 8
TOUCHED = 9  # must-not-touch window
CROSSED = 10  # no-pass line
ABOVE = 11  # envelope: first left the band above the upper bound
BELOW = 12
NOT_IN_RANGE = 13  # envelope: no point of the curve inside the x range
NEVER_CROSSED = 14  # threshold never reached
OUTSIDE_LIMITS = 15  # threshold reached outside [low, high]
NO_VALUE = 17  # feature limits: the curve has no value of the feature

# Window kinds.
UNI_BOX, PASS_THROUGH, NOT_TOUCH = 0, 1, 2
# Threshold directions: the first point with y >= level, y <= level, or y == level.
RISING, FALLING, EITHER = 0, 1, 2


@ngjit
def _finite(a, b):
    return np.isfinite(a) and np.isfinite(b)


@ngjit
def _in_box(px, py, box):
    return box[0] <= px and px <= box[1] and box[2] <= py and py <= box[3]


@ngjit
def _clip(px, py, qx, qy, box):
    """Liang-Barsky on the closed box: ``(touches, t_in, t_out, in_sides, out_sides)``, the
    sides being those whose edge is crossed at ``t_in`` (inward) and ``t_out`` (outward)."""
    t0, t1 = 0.0, 1.0
    m0, m1 = 0, 0
    dx, dy = qx - px, qy - py
    for side in range(4):
        if side == 0:
            p, q, bit = -dx, px - box[0], LEFT
        elif side == 1:
            p, q, bit = dx, box[1] - px, RIGHT
        elif side == 2:
            p, q, bit = -dy, py - box[2], BOTTOM
        else:
            p, q, bit = dy, box[3] - py, TOP
        if p == 0.0:
            if q < 0.0:
                return False, t0, t1, m0, m1
        else:
            r = q / p
            if p < 0.0:
                if r > t0:
                    t0, m0 = r, bit
                elif r == t0:
                    m0 |= bit
            elif r < t1:
                t1, m1 = r, bit
            elif r == t1:
                m1 |= bit
    return t0 <= t1, t0, t1, m0, m1


@ngjit
def _apart(px, py, qx, qy, box):
    """Whether both ends lie beyond one edge of the box, so the segment cannot touch it (the
    common case, decided without :func:`_clip`'s divisions)."""
    return (
        (px < box[0] and qx < box[0])
        or (px > box[1] and qx > box[1])
        or (py < box[2] and qy < box[2])
        or (py > box[3] and qy > box[3])
    )


@ngjit
def _at(px, py, qx, qy, t, sides, box):
    """The point at ``t`` of segment P->Q, put exactly on the edges named in ``sides``."""
    if t == 0.0:
        ax, ay = px, py
    elif t == 1.0:
        ax, ay = qx, qy
    else:
        ax, ay = px + t * (qx - px), py + t * (qy - py)
    if sides & LEFT:
        ax = box[0]
    if sides & RIGHT:
        ax = box[1]
    if sides & BOTTOM:
        ay = box[2]
    if sides & TOP:
        ay = box[3]
    return ax, ay


@ngjit
def _visit(ci, visits, how, ax, ay, sides, points):
    """Record the start of visit number ``visits`` (slot 0: the first, slot 2: the second)."""
    if visits < 2:
        slot = 0 if visits == 0 else 2
        sides[ci, slot] = how
        points[ci, slot, 0] = ax
        points[ci, slot, 1] = ay
    return visits + 1


@ngjit
def _leave(ci, visits, how, ax, ay, sides, points):
    """Record the end of the first visit (later ones are not needed)."""
    if visits == 1:
        sides[ci, 1] = how
        points[ci, 1, 0] = ax
        points[ci, 1, 1] = ay


@ngjit
def _window_visits(x, y, s, e, xs, ys, box, enough, ci, sides, points):
    """Walk curve ``ci`` and record its visits of the closed box; stop after ``enough``.
    Returns ``(visits, finite samples seen)``."""
    visits = 0
    inside = False
    prev_ok = False
    seen = False
    px = py = 0.0
    for j in range(s, e):
        qx, qy = x[j] * xs, y[j] * ys
        if not _finite(qx, qy):
            if inside:
                _leave(ci, visits, GAP, px, py, sides, points)
                inside = False
            prev_ok = False
            continue
        if not prev_ok:
            inside = _in_box(qx, qy, box)
            if inside:
                how = AFTER_GAP if seen else START
                visits = _visit(ci, visits, how, qx, qy, sides, points)
        else:
            now = _in_box(qx, qy, box)
            if inside and not now:
                ok, t0, t1, m0, m1 = _clip(px, py, qx, qy, box)
                if not ok:  # rounding: leave at P
                    t1 = 0.0
                ax, ay = _at(px, py, qx, qy, t1, m1, box)
                _leave(ci, visits, m1, ax, ay, sides, points)
            elif now and not inside:
                ok, t0, t1, m0, m1 = _clip(px, py, qx, qy, box)
                if not ok:  # rounding: enter at Q
                    t0 = 1.0
                ax, ay = _at(px, py, qx, qy, t0, m0, box)
                visits = _visit(ci, visits, m0, ax, ay, sides, points)
            elif not inside and not _apart(px, py, qx, qy, box):
                ok, t0, t1, m0, m1 = _clip(px, py, qx, qy, box)
                if ok:  # through, or touching an edge or a corner, from outside to outside
                    ax, ay = _at(px, py, qx, qy, t0, m0, box)
                    visits = _visit(ci, visits, m0, ax, ay, sides, points)
                    ax, ay = _at(px, py, qx, qy, t1, m1, box)
                    _leave(ci, visits, m1, ax, ay, sides, points)
            inside = now
        seen = True
        prev_ok = True
        px, py = qx, qy
        if visits >= enough:
            return visits, seen  # what the verdict needs is known
    if inside:
        _leave(ci, visits, END, px, py, sides, points)
    return visits, seen


@ngjit_parallel
def judge_window(x, y, offsets, x_step, y_step, box, kind, entry, exit_):
    """Window ``box = (x0, x1, y0, y1)`` of ``kind`` (:data:`UNI_BOX`, :data:`PASS_THROUGH`,
    :data:`NOT_TOUCH`); ``entry`` and ``exit_`` are side masks (:data:`ANY` for any side).

    Returns ``(codes, sides, points)``: ``sides[c]`` and ``points[c]`` (x, y) hold the first
    visit's start (slot 0: its side bits, or :data:`START` / :data:`AFTER_GAP`), the first
    visit's end (slot 1: side bits, or :data:`GAP` / :data:`END`) and the second visit's start
    (slot 2); 0 and NaN where there is none. A uni-box passes when the first visit enters
    through ``entry``, leaves through ``exit_``, and no second visit follows."""
    n = len(offsets) - 1
    codes = np.zeros(n, dtype=np.int8)
    sides = np.zeros((n, 3), dtype=np.int16)
    points = np.full((n, 3, 2), np.nan)
    enough = 2 if kind == UNI_BOX else 1
    for ci in prange(n):
        visits, seen = _window_visits(
            x,
            y,
            offsets[ci],
            offsets[ci + 1],
            x_step[ci],
            y_step[ci],
            box,
            enough,
            ci,
            sides,
            points,
        )
        if not seen:
            codes[ci] = EMPTY
        elif kind == NOT_TOUCH:
            codes[ci] = TOUCHED if visits else PASS
        elif visits == 0:
            codes[ci] = NEVER_REACHED
        elif kind == PASS_THROUGH:
            codes[ci] = PASS
        elif sides[ci, 0] & (START | AFTER_GAP):
            codes[ci] = STARTED_INSIDE
        elif not sides[ci, 0] & entry:
            codes[ci] = WRONG_ENTRY
        elif sides[ci, 1] == END:
            codes[ci] = ENDED_INSIDE
        elif sides[ci, 1] == GAP:
            codes[ci] = GAP_INSIDE
        elif not sides[ci, 1] & exit_:
            codes[ci] = WRONG_EXIT
        elif visits > 1:
            codes[ci] = REENTERED
        else:
            codes[ci] = PASS
    return codes, sides, points


@ngjit
def _cross(ax, ay, bx, by):
    return ax * by - ay * bx


@ngjit
def _hits_line(px, py, qx, qy, line):
    """Where segment P->Q first meets the closed segment ``line = (ax, ay, bx, by)``: the
    parameter t along P->Q, or -1.0."""
    ax, ay, bx, by = line[0], line[1], line[2], line[3]
    if max(px, qx) < min(ax, bx) or min(px, qx) > max(ax, bx):
        return -1.0  # apart in x: most segments of a curve
    if max(py, qy) < min(ay, by) or min(py, qy) > max(ay, by):
        return -1.0
    rx, ry = qx - px, qy - py
    sx, sy = bx - ax, by - ay
    wx, wy = ax - px, ay - py
    denom = _cross(rx, ry, sx, sy)
    if denom != 0.0:
        t = _cross(wx, wy, sx, sy) / denom
        u = _cross(wx, wy, rx, ry) / denom
        if 0.0 <= t <= 1.0 and 0.0 <= u <= 1.0:
            return t
        return -1.0
    if _cross(wx, wy, rx, ry) != 0.0 or _cross(px - bx, py - by, sx, sy) != 0.0:
        return -1.0  # parallel, apart
    rr = rx * rx + ry * ry
    if rr == 0.0:  # P == Q: a point, on the line's carrier; is it within the line?
        ss = sx * sx + sy * sy
        if ss == 0.0:
            return 0.0 if (px == ax and py == ay) else -1.0
        u = ((px - ax) * sx + (py - ay) * sy) / ss
        return 0.0 if 0.0 <= u <= 1.0 else -1.0
    ta = (wx * rx + wy * ry) / rr
    tb = ((bx - px) * rx + (by - py) * ry) / rr
    lo, hi = max(0.0, min(ta, tb)), min(1.0, max(ta, tb))
    return lo if lo <= hi else -1.0


@ngjit_parallel
def judge_line(x, y, offsets, x_step, y_step, line):
    """No-pass line ``line = (ax, ay, bx, by)``: fails where the curve first meets it (touching
    counts). Returns ``(codes, points)``: the first meeting point along the curve, or NaN."""
    n = len(offsets) - 1
    codes = np.zeros(n, dtype=np.int8)
    points = np.full((n, 2), np.nan)
    for ci in prange(n):
        s, e = offsets[ci], offsets[ci + 1]
        xs, ys = x_step[ci], y_step[ci]
        seen = False
        prev_ok = False
        px = py = 0.0
        for j in range(s, e):
            qx, qy = x[j] * xs, y[j] * ys
            if not _finite(qx, qy):
                prev_ok = False
                continue
            seen = True
            if not prev_ok:  # a piece's first sample, as a point: a lone sample counts too
                px, py = qx, qy
            t = _hits_line(px, py, qx, qy, line)
            if t >= 0.0:
                codes[ci] = CROSSED
                if t == 1.0:
                    points[ci, 0], points[ci, 1] = qx, qy
                elif t == 0.0:
                    points[ci, 0], points[ci, 1] = px, py
                else:
                    points[ci, 0] = px + t * (qx - px)
                    points[ci, 1] = py + t * (qy - py)
                break
            prev_ok = True
            px, py = qx, qy
        if not seen:
            codes[ci] = EMPTY
    return codes, points


@ngjit
def _bound(bx, by, k, xv):
    """The polyline (bx increasing) at ``xv``, where ``k`` is the last vertex at or left of
    it (-1: none); exact at its vertices, extended by its end segments."""
    if k >= len(bx) - 1:
        return by[len(by) - 1]
    if k < 0:
        k = 0
    if xv == bx[k]:
        return by[k]
    return by[k] + (xv - bx[k]) * (by[k + 1] - by[k]) / (bx[k + 1] - bx[k])


@ngjit
def _vertices_left(bx, knots):
    """Per knot, the last vertex of ``bx`` at or left of it: the same for every x from that
    knot up to the next, since the knots hold every vertex."""
    return np.searchsorted(bx, knots, side="right") - 1


@ngjit
def _rank(knots, v, k):
    """How many knots are at or left of ``v`` (``searchsorted(knots, v, "right")``), walking
    from ``k``, the answer for a nearby value: consecutive samples are near, so this is a step
    or two where a search per segment end cost more than the rest of the envelope's work."""
    while k < len(knots) and knots[k] <= v:
        k += 1
    while k > 0 and knots[k - 1] > v:
        k -= 1
    return k


@ngjit
def _envelope_curve(x, y, s, e, xs, ys, env, band, ci, points, worst):
    """Walk curve ``ci``; returns ``(code, anything in range, finite samples seen)``.

    A segment is checked at its stops: its ends (clipped to the range) and the bounds' vertices
    in between (``knots``, both bounds' vertices merged), in the segment's direction.
    ``chained``: the last checked point is where this segment starts, on the same stretch of
    the curve inside the range. A stop on knot m has the bounds' vertices ``low_at[m]`` and
    ``up_at[m]`` at or left of it. Each sample's rank among the knots (:func:`_rank`) is found
    once: the rank of a clamped segment end follows from its ends' ranks and the range's, as
    the rank only grows with x.
    """
    lower_x, lower_y, upper_x, upper_y, knots, low_at, up_at = band
    xa, xb = env[0], env[1]
    code = PASS
    seen = in_range = False
    prev_ok = chained = False
    px = py = 0.0
    lx = ly = 0.0  # the last checked point and its distances above / below the band
    ld_up = ld_lo = 0.0
    rank_a, rank_b = _rank(knots, xa, 0), _rank(knots, xb, 0)
    kp = kq = 0  # ranks of P and Q
    for j in range(s, e):
        qx, qy = x[j] * xs, y[j] * ys
        if not _finite(qx, qy):
            prev_ok = chained = False
            continue
        seen = True
        kq = _rank(knots, qx, kq)
        if not prev_ok:
            px, py, kp = qx, qy, kq  # a piece's first sample: checked as a point
        lo_x, hi_x = max(min(px, qx), xa), min(max(px, qx), xb)
        if lo_x > hi_x:
            chained = False
        else:
            # Knots a..b-1 lie strictly between the ends; the ends' own knots are a-1 and h.
            a = max(min(kp, kq), rank_a)  # the rank of lo_x
            h = min(max(kp, kq), rank_b) - 1
            b = h if knots[h] == hi_x and h >= a else h + 1
            total = b - a + 2
            forward = qx >= px
            dx = qx - px
            for k in range(total):
                i = k if forward else total - 1 - k
                if i == 0:
                    sx, m = lo_x, a - 1
                elif i == total - 1:
                    sx, m = hi_x, h
                else:
                    sx, m = knots[a + i - 1], a + i - 1
                if k == 0:
                    if sx != px:
                        chained = False  # enters the range part-way: nothing checked before
                    elif chained:
                        continue  # checked as the previous segment's end
                if k == total - 1 and sx == qx:
                    sy = qy
                elif k == 0 and sx == px:
                    sy = py
                else:
                    sy = py + (sx - px) / dx * (qy - py)
                kl = low_at[m] if m >= 0 else -1
                ku = up_at[m] if m >= 0 else -1
                d_up = sy - _bound(upper_x, upper_y, ku, sx)
                d_lo = _bound(lower_x, lower_y, kl, sx) - sy
                in_range = True
                bad = max(d_up, d_lo)
                if bad > worst[ci]:
                    worst[ci] = bad
                if bad > 0.0 and code == PASS:
                    code = ABOVE if d_up >= d_lo else BELOW
                    lead = ld_up if code == ABOVE else ld_lo
                    here = d_up if code == ABOVE else d_lo
                    if chained and lead <= 0.0:  # left the band between the two points
                        f = lead / (lead - here)
                        points[ci, 0] = lx + f * (sx - lx)
                        points[ci, 1] = ly + f * (sy - ly)
                    else:
                        points[ci, 0], points[ci, 1] = sx, sy
                lx, ly, ld_up, ld_lo = sx, sy, d_up, d_lo
                chained = True
            if (hi_x if forward else lo_x) != qx:
                chained = False  # leaves the range part-way
        prev_ok = True
        px, py, kp = qx, qy, kq
    return code, in_range, seen


@ngjit_parallel
def judge_envelope(x, y, offsets, x_step, y_step, env, lower_x, lower_y, upper_x, upper_y):
    """Envelope over ``env = (xa, xb)`` between the polylines ``lower`` and ``upper`` (x
    strictly increasing, each spanning the range). Every segment is checked exactly: between
    consecutive stops (its ends and the bounds' vertices) both the curve and the bounds are
    straight, so the band is left only if it is left at a stop. Parts of the curve outside the
    x range are not judged.

    Returns ``(codes, points, worst)``: the point where the curve first leaves the band (NaN if
    it does not) and the largest distance outside it (0 inside)."""
    n = len(offsets) - 1
    codes = np.zeros(n, dtype=np.int8)
    points = np.full((n, 2), np.nan)
    worst = np.zeros(n)
    knots = np.unique(np.concatenate((lower_x, upper_x)))
    band = (
        lower_x,
        lower_y,
        upper_x,
        upper_y,
        knots,
        _vertices_left(lower_x, knots),
        _vertices_left(upper_x, knots),
    )
    for ci in prange(n):
        code, in_range, seen = _envelope_curve(
            x, y, offsets[ci], offsets[ci + 1], x_step[ci], y_step[ci], env, band, ci, points, worst
        )
        if not seen:
            codes[ci] = EMPTY
        elif not in_range:
            codes[ci] = NOT_IN_RANGE
        else:
            codes[ci] = code
    return codes, points, worst


@ngjit
def _reached(v, level, direction):
    if direction == RISING:
        return v >= level
    if direction == FALLING:
        return v <= level
    return v == level


@ngjit_parallel
def judge_threshold(x, y, offsets, x_step, y_step, level, direction, low, high):
    """Threshold: the first point along the curve where y reaches ``level`` (:data:`RISING`:
    y >= level, :data:`FALLING`: y <= level, :data:`EITHER`: y == level) must have x in the
    closed ``[low, high]``. For x against y, pass the arrays (and their steps) swapped.

    Returns ``(codes, points, where)``: that point (NaN if never reached) and how it was
    reached: 0 along the curve, :data:`START` at its first finite sample, :data:`AFTER_GAP` at
    the first sample after a gap."""
    n = len(offsets) - 1
    codes = np.zeros(n, dtype=np.int8)
    points = np.full((n, 2), np.nan)
    where = np.zeros(n, dtype=np.int16)
    for ci in prange(n):
        s, e = offsets[ci], offsets[ci + 1]
        xs, ys = x_step[ci], y_step[ci]
        seen = prev_ok = found = False
        px = py = hx = hy = 0.0
        for j in range(s, e):
            qx, qy = x[j] * xs, y[j] * ys
            if not _finite(qx, qy):
                prev_ok = False
                continue
            if not prev_ok:
                if _reached(qy, level, direction):
                    found, hx, hy = True, qx, qy
                    where[ci] = AFTER_GAP if seen else START
            elif _reached(qy, level, direction) or (
                direction == EITHER and (py - level) * (qy - level) < 0.0
            ):
                found = True
                if qy == level:
                    hx, hy = qx, qy
                else:
                    hx = px + (level - py) / (qy - py) * (qx - px)
                    hy = level
            seen = prev_ok = True
            px, py = qx, qy
            if found:
                break
        if not seen:
            codes[ci] = EMPTY
        elif not found:
            codes[ci] = NEVER_CROSSED
        else:
            points[ci, 0], points[ci, 1] = hx, hy
            codes[ci] = PASS if low <= hx <= high else OUTSIDE_LIMITS
    return codes, points, where
