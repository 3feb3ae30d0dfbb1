"""Read stored curves back as concatenated float arrays (Arrow list layout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.identifiers import identifier

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


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


def latest_curves(client: Client, database: str, *, process: str, limit: int = 500) -> CurveSet:
    """The newest ``limit`` curves of one process, samples scaled to engineering units.

    Metadata first (small), then only those curves' samples: ``curve_id IN`` runs as a
    PREWHERE, so the engine decodes sample arrays only in granules that hold a wanted curve.
    """
    db = identifier(database)
    meta = client.query_df(
        f"SELECT curve_id, project, part_serial, result, x_name, x_unit, y_name, y_unit "
        f"FROM {db}.curves WHERE process = {{process:String}} "
        "ORDER BY started_at DESC, curve_id LIMIT {n:UInt32}",
        parameters={"process": process, "n": int(limit)},
    )
    if meta.empty:
        return CurveSet(meta, np.zeros(1, dtype=np.int64), np.empty(0), np.empty(0))
    result = client.query_arrow(
        f"SELECT curve_id, x_step, y_step, x, y FROM {db}.curve_samples "
        "WHERE curve_id IN {ids:Array(UInt64)}",
        parameters={"ids": meta["curve_id"].tolist()},
    )
    samples = result.drop_columns(["x", "y"]).to_pandas()
    order = pd.Index(samples["curve_id"]).get_indexer(meta["curve_id"])
    xs = result.column("x").combine_chunks().take(order)
    ys = result.column("y").combine_chunks().take(order)
    offsets = xs.offsets.to_numpy().astype(np.int64)
    counts = np.diff(offsets)
    x_step = np.repeat(samples["x_step"].to_numpy()[order], counts)
    y_step = np.repeat(samples["y_step"].to_numpy()[order], counts)
    x = xs.flatten().to_numpy().astype(np.float64) * x_step
    y = ys.flatten().to_numpy().astype(np.float64) * y_step
    return CurveSet(meta, offsets - offsets[0], x, y)
