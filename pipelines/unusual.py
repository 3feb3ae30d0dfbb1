"""Unusual parts: the parts whose features sit furthest from the rest of their program's parts,
whether they passed or not, so an engineer can look at the odd ones before they become a trend.

Each feature of a part is put in robust σ of its program (median, and MAD × 1.4826, which is σ
for a normal), so one wild part does not hide the others. Sample count is left out: it follows
the sampling, not the part. A program with fewer than :data:`LEAST_PARTS` parts has no
population to compare with.

Features miss what happens between them (a burst of noise mid-stroke, a snap-in that never
came), so the curve itself is compared too: its **distance from the median envelope**
(:func:`envelope_distances`). Each of the program's curves is cut into :data:`ENVELOPE_BINS`
equal x bins over the program's usual extent (the medians of its curves' first and last x) and
averaged in each, as the explorer's envelope does; in each bin the program's median curve and
its robust spread (MAD × 1.4826, never below the sensor's resolution ``y_step``) make every
curve's value a robust z, and the distance is those z's root mean square over the bins the
curve reaches (bins fewer than half the program's curves reach are left out). A typical part
sits about 1 σ away, like a typical feature.

A part's score is the root mean square of its features' robust z and its envelope distance;
what is furthest out is named ("area 6.2 σ above its program's median", "curve 8.0 σ from its
program's median curve").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.identifiers import identifier
from pipelines.fetch import fetch_samples, select
from pipelines.frames import query_frame
from pipelines.kernels.bins import average_in_bins
from pipelines.kernels.features import FEATURES

if TYPE_CHECKING:
    from pipelines.curves import Curves

MAD_SIGMA = 1.4826  # MAD of a normal, in σ
LEAST_PARTS = 20
JUDGED = tuple(f for f in FEATURES if f != "sample_count")
ENVELOPE = "envelope"  # the envelope distance's name among the features
ENVELOPE_BINS = 50
CHUNK_SAMPLES = 2_000_000  # samples read at a time: 32 MB as float64 x and y


def median_distance(values: np.ndarray, resolution: float) -> np.ndarray:
    """Each row's distance (root mean square robust z over the bins it reaches) from the rows'
    median curve; ``values``: one program's curves averaged in x bins
    (:func:`~pipelines.kernels.bins.average_in_bins`). NaN for a row that reaches no judged
    bin."""
    reached = np.isfinite(values).sum(axis=0)
    judged = values[:, reached >= max(1.0, len(values) / 2)]
    if judged.shape[1] == 0:
        return np.full(len(values), np.nan)
    median = np.nanmedian(judged, axis=0)
    spread = np.nanmedian(np.abs(judged - median), axis=0) * MAD_SIGMA
    z2 = ((judged - median) / np.maximum(spread, resolution)) ** 2
    bins = np.isfinite(z2).sum(axis=1)
    total = np.where(np.isfinite(z2), z2, 0.0).sum(axis=1)
    out = np.full(len(values), np.nan)
    np.divide(total, bins, out=out, where=bins > 0)
    return np.sqrt(out)


def envelope_distances(curves: Curves, *, bins: int = ENVELOPE_BINS) -> pd.Series:
    """Each selected curve's distance from its program's median envelope (see the module),
    indexed by ``curve_id``; NaN for curves of programs with fewer than :data:`LEAST_PARTS`.
    Samples are read :data:`CHUNK_SAMPLES` at a time, so memory stays bounded."""
    client, database, where = curves.client, curves.database, curves.selection
    sql, params = where.where("c")
    programs = query_frame(
        client,
        "SELECT program, count() AS curves, median(x_min) AS lo, median(x_max) AS hi, "
        f"max(y_step) AS resolution FROM {identifier(database)}.curves AS c WHERE {sql} "
        "GROUP BY program",
        ["program", "curves", "lo", "hi", "resolution"],
        params,
    )
    programs = programs[(programs["curves"] >= LEAST_PARTS) & (programs["hi"] > programs["lo"])]
    if programs.empty:
        return pd.Series(dtype=np.float64, name=ENVELOPE)
    meta = select(client, database, where, None)
    meta = meta[meta["program"].isin(programs["program"])].reset_index(drop=True)
    ranges = programs.set_index("program")
    lo = meta["program"].map(ranges["lo"]).to_numpy(np.float64)
    width = meta["program"].map(ranges["hi"] - ranges["lo"]).to_numpy(np.float64)
    values = np.full((len(meta), bins), np.nan)
    position = pd.Index(meta["curve_id"])
    ends = np.cumsum(meta["point_count"].to_numpy(np.int64))
    start = 0
    while start < len(meta):
        read = ends[start - 1] if start else 0  # samples of the curves before this chunk
        stop = max(start + 1, int(np.searchsorted(ends, read + CHUNK_SAMPLES, side="right")))
        chunk = fetch_samples(client, database, meta.iloc[start:stop], None)
        rows = position.get_indexer(chunk.meta["curve_id"])
        values[rows] = average_in_bins(chunk.x, chunk.y, chunk.offsets, lo[rows], width[rows], bins)
        start = stop
    distance = np.full(len(meta), np.nan)
    for program, group in meta.groupby("program", sort=False).indices.items():
        resolution = float(ranges.loc[program, "resolution"])
        distance[group] = median_distance(values[group], resolution)
    return pd.Series(distance, index=position, name=ENVELOPE)


def unusual_parts(
    features: pd.DataFrame, limit: int = 50, *, envelope: pd.Series | None = None
) -> pd.DataFrame:
    """The ``limit`` most unusual parts of ``features`` (rows of :meth:`Curves.features` with
    ``program``), most unusual first: their columns, ``score`` (RMS of the features' robust z
    and the envelope distance), ``feature`` (what is furthest out: a feature, or
    :data:`ENVELOPE`), ``z`` (its robust z, signed; the distance for the envelope) and
    ``envelope`` (the distance; NaN without ``envelope``, a :func:`envelope_distances`)."""
    if "program" not in features.columns:
        raise ValueError("features lack program")
    distances = (
        np.full(len(features), np.nan)
        if envelope is None
        else features["curve_id"].map(envelope).to_numpy(np.float64)
    )
    features = features.assign(envelope=distances)
    names = np.array([*JUDGED, ENVELOPE])
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
        if envelope is not None:
            far = group["envelope"].to_numpy(np.float64)
            z = np.column_stack([z, np.where(np.isfinite(far), far, 0.0)])
        furthest = np.abs(z).argmax(axis=1)
        scored.append(
            group.assign(
                score=np.sqrt((z**2).mean(axis=1)),
                feature=names[furthest],
                z=z[np.arange(len(z)), furthest],
            )
        )
    if not scored:
        return features.iloc[:0].assign(score=[], feature=[], z=[])
    ranked = pd.concat(scored).sort_values(["score", "curve_id"], ascending=[False, True])
    return ranked.head(limit).reset_index(drop=True)


def rank_unusual(curves: Curves, columns: tuple[str, ...], limit: int = 50) -> pd.DataFrame:
    """:func:`unusual_parts` of the selected curves, with their envelope distances: what the
    API, the Quality page and the explorer list. ``columns``: of the curves table, besides
    ``program`` (added when missing)."""
    wanted = columns if "program" in columns else (*columns, "program")
    features = curves.features(wanted)
    return unusual_parts(features, limit, envelope=envelope_distances(curves))


def unusual_words(row) -> str:
    """Why a part is unusual, in words (``row``: one of :func:`unusual_parts`, a Series or a
    named tuple)."""
    z, feature = (row["z"], row["feature"]) if isinstance(row, pd.Series) else (row.z, row.feature)
    if feature == ENVELOPE:
        return f"curve {abs(z):.1f} σ from its program's median curve"
    side = "above" if z > 0 else "below"
    return f"{str(feature).replace('_', ' ')} {abs(z):.1f} σ {side} its program's median"
