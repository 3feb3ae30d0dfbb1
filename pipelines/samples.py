"""Curves in memory as concatenated arrays (Arrow's list layout)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class CurveSet:
    """Curves in memory. ``x`` and ``y`` are float64 values, or, where ``x_step`` and ``y_step``
    are set, the store's integer codes with a step per curve (a value is ``code * step``):
    code that only judges or measures curves reads codes as they come, without a float copy of
    every sample (30 M samples: 0.12 s)."""

    meta: pd.DataFrame  # one row per curve, in the order of ``offsets``
    offsets: np.ndarray  # int64, length C+1
    x: np.ndarray  # samples of all curves, concatenated
    y: np.ndarray
    x_step: np.ndarray | None = None  # float64 per curve, when x and y are codes
    y_step: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.meta)

    def steps(self) -> tuple[np.ndarray, np.ndarray]:
        """Each curve's x and y step as float64 (1.0 for float values), for kernels that
        read either form."""
        ones = np.ones(len(self.offsets) - 1)
        x_step = ones if self.x_step is None else np.asarray(self.x_step, np.float64)
        y_step = ones if self.y_step is None else np.asarray(self.y_step, np.float64)
        return x_step, y_step
