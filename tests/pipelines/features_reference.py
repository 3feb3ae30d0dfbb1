"""Slow, obvious per-curve features in NumPy and plain Python, to check the kernels against."""

from __future__ import annotations

import numpy as np

from pipelines.kernels.features import FEATURES


def reference_features(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """One curve's fixed features: finite samples only, segments only between neighbours that
    are both finite, area as the signed trapezoid sum in stored order."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return {**dict.fromkeys(FEATURES, np.nan), "sample_count": 0.0}
    fx, fy = x[finite], y[finite]
    peak = int(np.argmax(fy))  # the first of equal maxima
    area = 0.0
    for i in range(1, len(x)):
        if finite[i] and finite[i - 1]:
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2
    return {
        "peak_y": fy[peak],
        "peak_x": fx[peak],
        "final_x": fx[-1],
        "final_y": fy[-1],
        "min_y": fy.min(),
        "area": area,
        "duration": fx[-1] - fx[0],
        "sample_count": float(finite.sum()),
    }


def reference_crossing(a: np.ndarray, b: np.ndarray, level: float) -> float:
    """``b`` where ``a`` first reaches ``level`` walking the samples in order."""
    for i in range(len(a)):
        if not (np.isfinite(a[i]) and np.isfinite(b[i])):
            continue
        ok_before = i > 0 and np.isfinite(a[i - 1]) and np.isfinite(b[i - 1])
        if ok_before and min(a[i - 1], a[i]) < level < max(a[i - 1], a[i]):
            t = (level - a[i - 1]) / (a[i] - a[i - 1])
            return b[i - 1] + t * (b[i] - b[i - 1])
        if a[i] == level:
            return b[i]
    return np.nan


def reference_slope(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    inside = np.isfinite(x) & np.isfinite(y) & (x >= lo) & (x <= hi)
    if inside.sum() < 2 or np.ptp(x[inside]) == 0:
        return np.nan
    return float(np.polyfit(x[inside], y[inside], 1)[0])


def concatenate(curves: list[tuple[np.ndarray, np.ndarray]]):
    """Arrow's list layout of ``curves``: flat x, flat y, offsets."""
    offsets = np.zeros(len(curves) + 1, dtype=np.int64)
    np.cumsum([len(cx) for cx, _ in curves], out=offsets[1:])
    if not curves:
        return np.empty(0), np.empty(0), offsets
    x = np.concatenate([np.asarray(cx, dtype=np.float64) for cx, _ in curves])
    y = np.concatenate([np.asarray(cy, dtype=np.float64) for _, cy in curves])
    return x, y, offsets
