"""Curves in memory as concatenated float arrays (Arrow's list layout)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class CurveSet:
    meta: pd.DataFrame  # one row per curve, in the order of ``offsets``
    offsets: np.ndarray  # int64, length C+1
    x: np.ndarray  # float64 samples of all curves, concatenated
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.meta)

    def nan_separated(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y with a NaN after every curve: the layout Datashader's line glyph breaks on."""
        n = len(self.x) + len(self)
        breaks = self.offsets[1:] + np.arange(1, len(self) + 1) - 1
        xs = np.full(n, np.nan)
        ys = np.full(n, np.nan)
        keep = np.ones(n, dtype=bool)
        keep[breaks] = False
        xs[keep], ys[keep] = self.x, self.y
        return xs, ys
