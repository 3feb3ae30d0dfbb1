"""Unusual parts: the parts whose features sit furthest from the rest of their program's parts,
whether they passed or not, so an engineer can look at the odd ones before they become a trend.

Each feature of a part is put in robust σ of its program (median, and MAD × 1.4826, which is σ
for a normal), so one wild part does not hide the others; a part's score is the root mean
square of its features' robust z, and the feature furthest out is named ("area 6.2 σ above its
program's median"). Sample count is left out: it follows the sampling, not the part. A program
with fewer than :data:`LEAST_PARTS` parts has no population to compare with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.kernels.features import FEATURES

MAD_SIGMA = 1.4826  # MAD of a normal, in σ
LEAST_PARTS = 20
JUDGED = tuple(f for f in FEATURES if f != "sample_count")


def unusual_parts(features: pd.DataFrame, limit: int = 50) -> pd.DataFrame:
    """The ``limit`` most unusual parts of ``features`` (rows of :meth:`Curves.features` with
    ``program``), most unusual first: their columns, ``score`` (RMS robust z), ``feature``
    (the one furthest out) and ``z`` (its robust z, signed)."""
    if "program" not in features.columns:
        raise ValueError("features lack program")
    scored = []
    for _, group in features.groupby("program", sort=False):
        if len(group) < LEAST_PARTS:
            continue
        values = group[list(JUDGED)].to_numpy(np.float64)
        median = np.nanmedian(values, axis=0)
        spread = np.nanmedian(np.abs(values - median), axis=0) * MAD_SIGMA
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(spread > 0, (values - median) / spread, 0.0)
        z = np.where(np.isfinite(z), z, 0.0)  # a missing feature says nothing
        furthest = np.abs(z).argmax(axis=1)
        scored.append(
            group.assign(
                score=np.sqrt((z**2).mean(axis=1)),
                feature=np.array(JUDGED)[furthest],
                z=z[np.arange(len(z)), furthest],
            )
        )
    if not scored:
        return features.iloc[:0].assign(score=[], feature=[], z=[])
    ranked = pd.concat(scored).sort_values(["score", "curve_id"], ascending=[False, True])
    return ranked.head(limit).reset_index(drop=True)


def unusual_words(row) -> str:
    """Why a part is unusual, in words (``row``: one of :func:`unusual_parts`, a Series or a
    named tuple)."""
    z, feature = (row["z"], row["feature"]) if isinstance(row, pd.Series) else (row.z, row.feature)
    side = "above" if z > 0 else "below"
    return f"{str(feature).replace('_', ' ')} {abs(z):.1f} σ {side} its program's median"
