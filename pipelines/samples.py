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
