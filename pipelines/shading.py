"""Colour levels of a density, decided on the server: the browser only looks colours up.

Bokeh's own ``eq_hist`` mapper bins every pixel by a binary search over 65,536 edges in the
browser: 240 ms of a 960 × 480 view in Chromium. Here each drawn pixel gets a level 1-255 (0:
empty, transparent) from its count, for ``linear`` and ``log`` between the image's smallest and
largest count and for ``eq_hist`` by the share of drawn pixels at or below it; the page maps
levels to the palette linearly. The counts themselves stay exact beside them, for hover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LEVELS = 255  # colours of the palette; level 0 is an empty pixel
BAR = (0.5, LEVELS + 0.5)  # the colour bar's span: level k fills [k - 0.5, k + 0.5]
MAX_COUNT_TICKS = 8  # labels on the colour bar of curves per pixel
NORMS = ("eq_hist", "log", "linear")
_TABLE_LIMIT = 1 << 22  # eq_hist by a table indexed by count up to here (16 MB), else by search


@dataclass(frozen=True)
class CountScale:
    """Where a count sits on the colour scale (0 to 1) for one image and normalisation."""

    how: str
    low: int  # the smallest drawn count (0: nothing drawn)
    high: int  # the largest
    values: np.ndarray  # eq_hist: the distinct drawn counts, ascending
    shares: np.ndarray  # eq_hist: their positions, 0 for the smallest to 1 for the largest

    @classmethod
    def of(cls, counts: np.ndarray, how: str = "eq_hist") -> CountScale:
        if how not in NORMS:
            raise ValueError(f"normalisation must be one of {', '.join(NORMS)}, not {how!r}")
        drawn = counts[counts > 0]
        if not drawn.size:
            return cls(how, 0, 0, np.empty(0, np.int64), np.empty(0))
        low, high = int(drawn.min()), int(drawn.max())
        values = shares = np.empty(0)
        if how == "eq_hist":
            if high < _TABLE_LIMIT:
                pixels = np.bincount(drawn.astype(np.int64), minlength=high + 1)
                values = np.flatnonzero(pixels)
                pixels = pixels[values]
            else:
                values, pixels = np.unique(drawn, return_counts=True)
            below = np.cumsum(pixels, dtype=np.float64)
            spread = below[-1] - below[0]
            shares = (below - below[0]) / spread if spread else np.ones(len(values))
        return cls(how, low, high, values.astype(np.int64), shares)

    def position(self, counts: np.ndarray) -> np.ndarray:
        """Each count's place on the scale, 0 to 1 (1 for every count when all are equal)."""
        c = np.asarray(counts, dtype=np.float64)
        if self.how == "eq_hist":
            return np.interp(c, self.values, self.shares) if len(self.values) else c * 0
        if self.high <= self.low:
            return np.ones_like(c)
        if self.how == "log":
            return np.log(np.maximum(c, self.low) / self.low) / math.log(self.high / self.low)
        return (c - self.low) / (self.high - self.low)

    def levels(self, counts: np.ndarray) -> np.ndarray:
        """uint8 per pixel: 0 where no curve passes, else 1 to 255 along the scale."""
        out = np.zeros(counts.shape, dtype=np.uint8)
        drawn = counts > 0
        if not drawn.any():
            return out
        if self.how == "eq_hist" and self.high < _TABLE_LIMIT:
            table = np.zeros(self.high + 1, dtype=np.float64)
            table[self.values] = self.shares
            where = table[counts[drawn].astype(np.int64)]
        else:
            where = self.position(counts[drawn])
        out[drawn] = 1 + np.minimum((where * LEVELS).astype(np.int64), LEVELS - 1)
        return out

    def bar_ticks(self, ticks: list[int]) -> list[tuple[float, str]]:
        """Counts as (place on the colour bar, label), for a bar spanning :data:`BAR`."""
        where = np.clip(self.position(np.asarray(ticks, dtype=np.float64)), 0, 1)
        places = BAR[0] + where * LEVELS
        return [(round(float(p), 6), f"{t:,}") for p, t in zip(places, ticks, strict=True)]


def count_ticks(top: float, norm: str = "linear", counts: np.ndarray | None = None) -> list[int]:
    """Whole numbers for the colour bar of curves per pixel, 1 to ``top``, each once and
    ``top`` always labelled: a count is an integer, and Bokeh's own ticks (1.2, 1.4, ...)
    written as integers repeated themselves ("3,2,2,2,2,2,1,1,1,1"). With ``log``, ticks
    are 1, 2, 5, 10, 20, ... (1, 10, 100, ... over many decades); otherwise evenly spaced
    by 1, 2 or 5 times a power of ten. With ``eq_hist`` and the image's ``counts``, ticks are
    the counts' quantiles, which that normalisation spaces evenly along the bar (even ticks
    crowd into its top end)."""
    top = int(top) if top == top and top >= 1 else 1  # NaN or an empty image: 1
    if top <= 2:
        return list(range(1, top + 1))
    drawn = counts[counts > 0] if counts is not None else np.empty(0)
    if norm == "eq_hist" and drawn.size:
        levels = np.quantile(drawn, np.linspace(0, 1, MAX_COUNT_TICKS), method="lower")
        return [*(int(t) for t in np.unique(levels) if 1 <= t < top), top]
    steps = (m * 10**e for e in range(16) for m in (1, 2, 5))
    if norm == "log":
        ticks = [t for t in steps if t < top]
        if len(ticks) >= MAX_COUNT_TICKS:  # many decades: their powers of ten only
            ticks = [t for t in ticks if str(t).startswith("1")]
        far = [t for t in ticks if t * 1.5 <= top]  # leave room for the top's label
    else:
        step = next(t for t in steps if math.ceil(top / t) < MAX_COUNT_TICKS)
        ticks = [1, *range(step, top, step)]
        far = [t for t in dict.fromkeys(ticks) if t + 0.5 * step <= top]
    return [*far, top]
