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
    """The newest ``limit`` curves of one process, samples scaled to engineering units."""
    db = identifier(database)
    result = client.query_arrow(
        f"SELECT c.curve_id AS curve_id, c.part_serial AS part_serial, c.result AS result, "
        f"c.x_name AS x_name, c.x_unit AS x_unit, c.y_name AS y_name, c.y_unit AS y_unit, "
        f"s.x_step AS x_step, s.y_step AS y_step, s.x AS x, s.y AS y "
        f"FROM {db}.curve_samples AS s INNER JOIN (SELECT * FROM {db}.curves "
        "WHERE process = {process:String} ORDER BY started_at DESC LIMIT {n:UInt32}) AS c "
        "ON s.curve_id = c.curve_id AND s.project = c.project",
        parameters={"process": process, "n": int(limit)},
    )
    meta = result.drop_columns(["x", "y"]).to_pandas()
    xs, ys = result.column("x").combine_chunks(), result.column("y").combine_chunks()
    offsets = xs.offsets.to_numpy().astype(np.int64)
    counts = np.diff(offsets)
    x = xs.flatten().to_numpy().astype(np.float64) * np.repeat(meta["x_step"].to_numpy(), counts)
    y = ys.flatten().to_numpy().astype(np.float64) * np.repeat(meta["y_step"].to_numpy(), counts)
    return CurveSet(meta, offsets - offsets[0], x, y)
