"""Datashader's line rasterisation rules, restated so other kernels can reuse them exactly.

A segment between two samples is drawn the way ``datashader.Canvas.line`` draws it without
antialiasing (datashader 0.19, ``glyphs/line.py``): NaN in either end skips the segment, the
segment is clipped to the view with Liang-Barsky, ends are mapped to pixels with
``int(v * s + t)`` (a value on the upper bound falls into the last pixel), and the pixels
between them come from the same Bresenham stepping. Arithmetic follows the input dtypes, as
Datashader's does, so float32 data rounds the same way.
"""

from __future__ import annotations

from pipelines.kernels import ngjit


@ngjit
def clip_t(p, q, t0, t1):
    accept = True
    if p < 0 and q < 0:
        r = q / p
        if r > t1:
            accept = False
        elif r > t0:
            t0 = r
    elif p > 0 and q < p:
        r = q / p
        if r < t0:
            accept = False
        elif r < t1:
            t1 = r
    elif q < 0:
        accept = False
    return t0, t1, accept


@ngjit
def liang_barsky(xmin, xmax, ymin, ymax, x0, x1, y0, y1, skip):
    """Clip a segment to the view: ``(x0, x1, y0, y1, skip, clipped_start, clipped_end)``."""
    if (
        (x0 < xmin and x1 < xmin)
        or (x0 > xmax and x1 > xmax)
        or (y0 < ymin and y1 < ymin)
        or (y0 > ymax and y1 > ymax)
    ):
        skip = True
    t0, t1 = 0, 1
    dx1 = x1 - x0
    t0, t1, accept = clip_t(-dx1, x0 - xmin, t0, t1)
    if not accept:
        skip = True
    t0, t1, accept = clip_t(dx1, xmax - x0, t0, t1)
    if not accept:
        skip = True
    dy1 = y1 - y0
    t0, t1, accept = clip_t(-dy1, y0 - ymin, t0, t1)
    if not accept:
        skip = True
    t0, t1, accept = clip_t(dy1, ymax - y0, t0, t1)
    if not accept:
        skip = True
    clipped_end = t1 < 1
    if clipped_end:
        x1 = x0 + t1 * dx1
        y1 = y0 + t1 * dy1
    clipped_start = t0 > 0
    if clipped_start:
        x0 = x0 + t0 * dx1
        y0 = y0 + t0 * dy1
    return x0, x1, y0, y1, skip, clipped_start, clipped_end


@ngjit
def rounds_off_view(xmin, xmax, ymin, ymax, x0, x1, y0, y1):
    """For a segment with both ends inside the view: whether Liang-Barsky's ``q < p`` test still
    fires through rounding (and would clip it). Same expressions, same dtypes as there.

    Written with ``&``/``|`` rather than ``and``/``or``: noisy curves change direction at
    random, and branches on the sign of each step mispredict half the time.
    """
    return rounds_off_axis(xmin, xmax, x0, x1) | rounds_off_axis(ymin, ymax, y0, y1)


@ngjit
def rounds_off_axis(vmin, vmax, v0, v1):
    """One axis of :func:`rounds_off_view`: a shared x axis is checked once for all curves."""
    d = v1 - v0
    return ((d > 0) & (vmax - v0 < d)) | ((-d > 0) & (v0 - vmin < -d))


@ngjit
def needs_clipping(xmin, xmax, ymin, ymax, x0, x1, y0, y1):
    """False when :func:`liang_barsky` would return the segment unchanged and unskipped.

    True for any end outside the view (NaN included), and for the rare inside segment where
    Liang-Barsky's ``q < p`` test fires through rounding; both then take the full path. This
    evaluates the same expressions in the same dtypes, so the shortcut is exact.
    """
    if not (
        xmin <= x0 <= xmax and xmin <= x1 <= xmax and ymin <= y0 <= ymax and ymin <= y1 <= ymax
    ):
        return True
    return rounds_off_view(xmin, xmax, ymin, ymax, x0, x1, y0, y1)


@ngjit
def to_pixel(v, s, t, top):
    """Pixel index of ``v``; ``top`` is ``round(vmax * s + t)``, the canvas size."""
    p = int(v * s + t)
    return p - 1 if p == top else p
