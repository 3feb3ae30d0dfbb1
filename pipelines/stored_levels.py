"""Per-curve levels kept in the engine (``curve_levels``), written with the samples.

A curve's level ``k`` (:mod:`pipelines.levels`) is stored when it stands in for the engine's
per-view reduction (the curve has 8 or more samples per bucket), keeps at most half of the
curve's samples (a fuller level would cost more to store than it saves in reading), and some
canvas of 512 pixels or more would read it (the curve spans 256 of its buckets or more).
Levels are computed from the store's own codes, so what is stored is exactly what
:func:`pipelines.levels.compute_levels` gives on the committed samples, whoever wrote them: an
import or the live listener (with the commit, :mod:`pipelines.store`), a project's move (from
the staged samples) or the backfill of curves stored before the table existed.

They are read for a view aligned to a level's grid (:func:`pipelines.levels.aligned_level`):
there every run of the level lies in one pixel column, and the level alone draws the curve's
pixels exactly (:mod:`pipelines.fetch` reads it instead of reducing samples in the engine). A
curve without a row at that level is reduced in the engine as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from models.identifiers import identifier
from pipelines.frames import id_chunks, list_codes, query_table
from pipelines.levels import REDUCE_FROM_PER_COLUMN, compute_levels
from pipelines.schema import STORED_ORDER

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

log = logging.getLogger(__name__)

# Buckets of 16 to 8,192 codes: on an 800-pixel canvas, curves spanning 12,800 to 6.5 M codes
# of x have an aligned overview within 2x of their range (`pipelines.levels.aligned_view`).
STORED_LEVELS = tuple(range(4, 14))
# A level is stored for a curve when it keeps at most this share of the curve's samples,
WORTH_STORING = 0.5
# when the curve has at least this many samples per bucket (as many as make the engine reduce
# a curve per pixel column, ``pipelines.levels.REDUCE_FROM_PER_COLUMN``: a level stands in for
# that reduction; fewer samples leave the engine whole at no cost to it),
SAMPLES_PER_BUCKET = REDUCE_FROM_PER_COLUMN
# and when the curve spans at least this many of its buckets: an aligned overview on a canvas
# of W pixels reads the finest level whose buckets the curve spans at most W of, so a coarser
# level would serve only canvases narrower than twice this (512 pixels).
FEWEST_BUCKETS = 256
# The columns of a ``curve_levels`` row that come from its curve's ``curve_samples`` row.
_KEY_COLUMNS = (
    "project",
    "plant",
    "line",
    "station",
    "started_at",
    "curve_id",
    "dataset_id",
)


def level_rows(samples: pa.Table) -> pa.Table | None:
    """``curve_levels`` rows of the curves in ``samples`` (an Arrow table shaped like
    ``curve_samples``: its key columns, steps and ``x``/``y`` code lists); None when no level
    is worth storing for any of them."""
    if not samples.num_rows:
        return None
    x, y, offsets = list_codes(samples)
    counts = np.diff(offsets)
    span = np.zeros(len(counts))
    some = counts > 0
    if some.any():
        starts = offsets[:-1][some]
        span[some] = np.maximum.reduceat(x, starts) - np.minimum.reduceat(x, starts).astype(float)
    # Per curve, the levels that may be worth it: low <= k <= high.
    with np.errstate(divide="ignore"):
        low = np.ceil(np.log2(SAMPLES_PER_BUCKET * span / np.maximum(counts, 1)))
        high = np.floor(np.log2(np.maximum(span, 1) / FEWEST_BUCKETS))
    low = np.maximum(low, STORED_LEVELS[0])
    high = np.minimum(high, STORED_LEVELS[-1])
    keys = samples.select([*_KEY_COLUMNS, "x_step", "y_step"])
    parts = []
    # Curves grouped by the finest level they may store, each group computed from there: the
    # first level walks every sample of its curves, so a finer one nobody stores is not walked
    # (on the demo this halved the samples walked).
    for first in np.unique(low[low <= high]):
        member = (low == first) & (low <= high)
        group = np.flatnonzero(member)
        chosen = np.repeat(member, counts)
        g_counts = counts[group]
        g_offsets = np.zeros(len(group) + 1, dtype=np.int64)
        np.cumsum(g_counts, out=g_offsets[1:])
        ks = [k for k in STORED_LEVELS if first <= k <= high[group].max()]
        steps = np.ones((2, len(group)))  # codes: the steps only say so (buckets are codes)
        levels = compute_levels(x[chosen], y[chosen], g_offsets, ks, steps=steps, runs=False)
        for k, level in levels.items():
            kept = np.diff(level.offsets)
            worth = (kept <= WORTH_STORING * g_counts) & (k <= high[group])
            if worth.any():
                parts.append(_rows(keys.take(pa.array(group[worth])), k, level, kept, worth))
    return pa.concat_tables(parts) if parts else None


def _rows(keys: pa.Table, k: int, level, kept: np.ndarray, worth: np.ndarray) -> pa.Table:
    """``keys`` (the worthy curves' key columns) with their level ``k``'s kept codes."""
    chosen = np.repeat(worth, kept)
    lists = pa.array(np.concatenate([[0], np.cumsum(kept[worth])]).astype(np.int32))
    rows = keys.append_column("level", pa.array(np.full(keys.num_rows, k, np.uint8)))
    for name, values in (("x", level.x), ("y", level.y)):
        rows = rows.append_column(name, pa.ListArray.from_arrays(lists, pa.array(values[chosen])))
    return rows


def stage_levels(
    client: Client, database: str, *, samples: str, target: str, ids: Sequence[int]
) -> int:
    """Compute the levels of curves ``ids`` from the codes in table ``samples`` and insert them
    into ``target``, a chunk of curves at a time; return how many rows went in. Table names
    are validated here."""
    db = identifier(database)
    source, into = identifier(samples), identifier(target)
    columns = ", ".join(c for c in _KEY_COLUMNS if c != "dataset_id")
    written = 0
    for chunk in id_chunks(list(ids)):
        part = query_table(
            client,
            f"SELECT {columns}, toString(dataset_id) AS dataset_id, x_step, y_step, x, y "
            f"FROM {db}.{source} WHERE curve_id IN {{ids:Array(UInt64)}}",
            {"ids": chunk},
        )
        rows = level_rows(part) if part is not None else None
        if rows is not None:
            client.insert_arrow(f"{db}.{into}", rows)
            written += rows.num_rows
    return written


def backfill_levels(client: Client, database: str) -> int:
    """Give every committed curve its levels; return how many rows went in. Run once, when the
    schema gains the table (a curve stored since has them from its commit). Interrupted, the
    curves it did not reach have no levels, which only makes their overviews read samples."""
    db = identifier(database)
    ids = [
        int(r[0])
        for r in client.query(
            f"SELECT curve_id FROM {db}.curves "
            f"WHERE dataset_id IN (SELECT dataset_id FROM {db}.datasets) "
            f"AND curve_id NOT IN (SELECT curve_id FROM {db}.curve_levels) "
            f"ORDER BY {STORED_ORDER}"
        ).result_rows
    ]
    if ids:  # once, after an upgrade: about a second per 30 M samples, so say why it waits
        log.info("computing per-curve levels of %s stored curves (once)", f"{len(ids):,}")
    return stage_levels(client, database, samples="curve_samples", target="curve_levels", ids=ids)
