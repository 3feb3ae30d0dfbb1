"""Slow, obvious references for the rule kernels: exact rational arithmetic, one curve at a
time, written from the definitions in pipelines/kernels/rules.py, not from its code."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import numpy as np

from pipelines.kernels import rules as R


def concatenate(curves):
    """(x, y, offsets) of a list of (x, y) arrays."""
    lengths = [len(c[0]) for c in curves]
    offsets = np.zeros(len(curves) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if not curves:
        return np.empty(0), np.empty(0), offsets
    x = np.concatenate([np.asarray(c[0], float) for c in curves])
    y = np.concatenate([np.asarray(c[1], float) for c in curves])
    return x, y, offsets


def pieces(xs, ys):
    """Runs of finite samples as lists of exact points, each with ``followed by a gap``."""
    out, run = [], []
    for a, b in zip(xs, ys, strict=True):
        if math.isfinite(a) and math.isfinite(b):
            run.append((F(a), F(b)))
        elif run:
            out.append((run, True))
            run = []
    if run:
        out.append((run, False))
    return out


def _span(p, d, lo, hi):
    """The t (any real) with lo <= p + t d <= hi, as (a, b), or None; unbounded as None ends."""
    if d == 0:
        return (None, None) if lo <= p <= hi else None
    a, b = (lo - p) / d, (hi - p) / d
    return (min(a, b), max(a, b))


def inside_interval(p, q, box):
    x0, x1, y0, y1 = box
    a, b = F(0), F(1)
    for s in (_span(p[0], q[0] - p[0], x0, x1), _span(p[1], q[1] - p[1], y0, y1)):
        if s is None:
            return None
        if s[0] is not None:
            a, b = max(a, s[0]), min(b, s[1])
    return (a, b) if a <= b else None


def at(p, q, t):
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


def crossed_sides(point, beyond, box):
    """Edges ``point`` lies on and ``beyond`` lies strictly outside of."""
    x0, x1, y0, y1 = box
    bits = 0
    bits |= R.LEFT if point[0] == x0 and beyond[0] < x0 else 0
    bits |= R.RIGHT if point[0] == x1 and beyond[0] > x1 else 0
    bits |= R.BOTTOM if point[1] == y0 and beyond[1] < y0 else 0
    bits |= R.TOP if point[1] == y1 and beyond[1] > y1 else 0
    return bits


def window_visits(xs, ys, box):
    """Every visit of the closed box as [start how, start point, end how, end point]."""
    box = tuple(F(v) for v in box)
    x0, x1, y0, y1 = box
    visits = []
    for n, (run, gap_after) in enumerate(pieces(xs, ys)):
        open_visit = None
        if x0 <= run[0][0] <= x1 and y0 <= run[0][1] <= y1:
            open_visit = [R.START if n == 0 else R.AFTER_GAP, run[0], None, None]
        for p, q in itertools.pairwise(run):
            span = inside_interval(p, q, box)
            if span is None:
                continue
            a, b = span
            if open_visit is None:
                e = at(p, q, a)
                open_visit = [crossed_sides(e, p, box), e, None, None]
            if b < 1:
                e = at(p, q, b)
                open_visit[2:] = [crossed_sides(e, q, box), e]
                visits.append(open_visit)
                open_visit = None
        if open_visit is not None:
            open_visit[2:] = [R.GAP if gap_after else R.END, run[-1]]
            visits.append(open_visit)
    return visits


def window(xs, ys, box, kind, entry, exit_):
    """(code, [(side, x, y)] * 3) as judge_window returns them."""
    if not pieces(xs, ys):
        return R.EMPTY, None
    visits = window_visits(xs, ys, box)
    slots = [(0, None), (0, None), (0, None)]
    if visits:
        slots[0] = (visits[0][0], visits[0][1])
        slots[1] = (visits[0][2], visits[0][3])
    if len(visits) > 1:
        slots[2] = (visits[1][0], visits[1][1])
    if kind == R.NOT_TOUCH:
        return (R.TOUCHED if visits else R.PASS), slots
    if not visits:
        return R.NEVER_REACHED, slots
    if kind == R.PASS_THROUGH:
        return R.PASS, slots
    start, _, end, _ = visits[0]
    if start in (R.START, R.AFTER_GAP):
        return R.STARTED_INSIDE, slots
    if not start & entry:
        return R.WRONG_ENTRY, slots
    if end == R.END:
        return R.ENDED_INSIDE, slots
    if end == R.GAP:
        return R.GAP_INSIDE, slots
    if not end & exit_:
        return R.WRONG_EXIT, slots
    return (R.REENTERED if len(visits) > 1 else R.PASS), slots


def _cross(u, v):
    return u[0] * v[1] - u[1] * v[0]


def _on_line(pt, a, b):
    return (
        _cross((b[0] - a[0], b[1] - a[1]), (pt[0] - a[0], pt[1] - a[1])) == 0
        and min(a[0], b[0]) <= pt[0] <= max(a[0], b[0])
        and min(a[1], b[1]) <= pt[1] <= max(a[1], b[1])
    )


def line(xs, ys, segment):
    """(code, first point meeting the closed segment)."""
    a, b = (F(segment[0]), F(segment[1])), (F(segment[2]), F(segment[3]))
    runs = pieces(xs, ys)
    if not runs:
        return R.EMPTY, None
    for run, _ in runs:
        if _on_line(run[0], a, b):
            return R.CROSSED, run[0]
        for p, q in itertools.pairwise(run):
            # The meeting points of P + t (Q - P), t in [0, 1], with the line: the smallest t.
            r, s = (q[0] - p[0], q[1] - p[1]), (b[0] - a[0], b[1] - a[1])
            w = (a[0] - p[0], a[1] - p[1])
            denom = _cross(r, s)
            candidates = []
            if denom != 0:
                t, u = _cross(w, s) / denom, _cross(w, r) / denom
                if 0 <= t <= 1 and 0 <= u <= 1:
                    candidates.append(t)
            else:  # parallel: the line's ends on P->Q, or P or Q on the line
                rr = r[0] ** 2 + r[1] ** 2
                for end in (a, b):
                    if rr and _on_line(end, p, q):
                        candidates.append(((end[0] - p[0]) * r[0] + (end[1] - p[1]) * r[1]) / rr)
                for t, pt in ((F(0), p), (F(1), q)):
                    if _on_line(pt, a, b):
                        candidates.append(t)
            if candidates:
                return R.CROSSED, at(p, q, min(candidates))
    return R.PASS, None


def _interp(xs, ys, x):
    for k in range(len(xs) - 1):
        if xs[k] <= x <= xs[k + 1]:
            return ys[k] + (x - xs[k]) * (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])
    raise ValueError(x)


def envelope(xs, ys, rng, lower, upper):
    """(code, first point outside the band, worst distance outside)."""
    xa, xb = F(rng[0]), F(rng[1])
    lo = [[F(v) for v in lower[0]], [F(v) for v in lower[1]]]
    up = [[F(v) for v in upper[0]], [F(v) for v in upper[1]]]
    runs = pieces(xs, ys)
    if not runs:
        return R.EMPTY, None, 0.0

    def outside(pt):
        above = pt[1] - _interp(*up, pt[0])
        below = _interp(*lo, pt[0]) - pt[1]
        return above, below

    knots = sorted({*lo[0], *up[0]})
    first, worst, seen = None, F(0), False
    for run, _ in runs:
        segments = list(itertools.pairwise(run)) or [(run[0], run[0])]
        previous = None  # the last checked point, if the curve ran in range up to here
        for p, q in segments:
            if p[0] == q[0]:
                ts = [F(0), F(1)] if xa <= p[0] <= xb else []
            else:
                xs_here = [p[0], q[0], xa, xb, *knots]
                ts = sorted({(v - p[0]) / (q[0] - p[0]) for v in xs_here})
                ts = [t for t in ts if 0 <= t <= 1]
                ts = [t for t in ts if xa <= at(p, q, t)[0] <= xb]
            if not ts or ts[0] != 0:
                previous = None
            for t in ts:
                pt = at(p, q, t)
                seen = True
                above, below = outside(pt)
                worst = max(worst, above, below)
                if first is None and max(above, below) > 0:
                    code = R.ABOVE if above >= below else R.BELOW
                    here = above if code == R.ABOVE else below
                    if previous is not None:
                        before = previous[1][0] if code == R.ABOVE else previous[1][1]
                        if before <= 0:
                            f = before / (before - here)
                            pt = at(previous[0], pt, f)
                    first = (code, pt)
                previous = (pt, (above, below))
            if ts and ts[-1] != 1:
                previous = None
    if not seen:
        return R.NOT_IN_RANGE, None, 0.0
    if first is None:
        return R.PASS, None, float(worst)
    return first[0], first[1], float(worst)


def threshold(xs, ys, level, direction, low, high):
    """(code, first point reaching the level, how: 0, START or AFTER_GAP)."""
    level = F(level)

    def reached(v):
        return (
            v >= level
            if direction == R.RISING
            else v <= level
            if direction == R.FALLING
            else v == level
        )

    runs = pieces(xs, ys)
    if not runs:
        return R.EMPTY, None, 0
    for n, (run, _) in enumerate(runs):
        hit, how = None, 0
        if reached(run[0][1]):
            hit, how = run[0], (R.START if n == 0 else R.AFTER_GAP)
        for p, q in itertools.pairwise(run):
            if hit is not None:
                break
            if p[1] != q[1] and min(p[1], q[1]) <= level <= max(p[1], q[1]):
                t = (level - p[1]) / (q[1] - p[1])
                if reached(at(p, q, t)[1]) and (direction == R.EITHER or reached(q[1])):
                    hit = at(p, q, t)
        if hit is not None:
            return (R.PASS if F(low) <= hit[0] <= F(high) else R.OUTSIDE_LIMITS), hit, how
    return R.NEVER_CROSSED, None, 0
