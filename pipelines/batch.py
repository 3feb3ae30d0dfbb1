"""A batch of curves in the shape the store writes: one metadata row per curve plus codes.

Samples of all curves are concatenated, with Arrow-style ``offsets`` (length C+1), so a batch of
10,000 curves is four NumPy arrays and a small DataFrame, never 10,000 Python objects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

# Per-curve text columns, in schema order. A CurveBatch has every one: the readers fill a column
# a file lacks with "" (pipelines/ingest/assemble.py).
TEXT_COLUMNS = (
    "plant",
    "line",
    "station",
    "process",
    "program",
    "shift",
    "part_serial",
    "defect",
    "x_name",
    "x_unit",
    "y_name",
    "y_unit",
)
RESULTS = ("UNKNOWN", "OK", "NOK")


@dataclass
class CurveBatch:
    """``meta`` has ``curve_key``, ``started_at``, ``ended_at`` (UTC), ``result``, ``x_step``,
    ``y_step`` and the :data:`TEXT_COLUMNS`; ``x``/``y`` are Int32 codes."""

    meta: pd.DataFrame
    offsets: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.int64)
        if len(self.offsets) != len(self.meta) + 1:
            raise ValueError("offsets must have one more entry than there are curves")
        if self.x.dtype != np.int32 or self.y.dtype != np.int32 or len(self.x) != len(self.y):
            raise ValueError("x and y must be Int32 code arrays of equal length")
        if int(self.offsets[-1]) != len(self.x) or int(self.offsets[0]) != 0:
            raise ValueError("offsets must start at 0 and end at the number of samples")

    @classmethod
    def from_curves(
        cls, rows: list[dict], xs: list[np.ndarray], ys: list[np.ndarray]
    ) -> CurveBatch:
        """A batch from per-curve metadata rows and code arrays."""
        offsets = np.zeros(len(xs) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in xs], out=offsets[1:])
        return cls(pd.DataFrame(rows), offsets, np.concatenate(xs), np.concatenate(ys))

    def __len__(self) -> int:
        return len(self.meta)

    @property
    def point_count(self) -> int:
        return len(self.x)

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def take(self, mask: np.ndarray) -> CurveBatch:
        """The curves where ``mask`` is true, samples included."""
        keep = np.flatnonzero(mask)
        counts = self.counts()[keep]
        offsets = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        index = np.repeat(self.offsets[:-1][keep] - offsets[:-1], counts) + np.arange(offsets[-1])
        return CurveBatch(
            self.meta.iloc[keep].reset_index(drop=True), offsets, self.x[index], self.y[index]
        )


def curve_ids(project: str, keys: pd.Series | list[str]) -> np.ndarray:
    """Stable 64-bit id of each ``(project, curve_key)``: a key maps to the same id forever."""
    prefix = project.encode() + b"\x00"
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(prefix + k.encode(), digest_size=8).digest(), "little")
            for k in keys
        ),
        dtype=np.uint64,
        count=len(keys),
    )


def fingerprints(batch: CurveBatch) -> np.ndarray:
    """A content hash per curve (codes and steps), to tell a re-import from a conflicting one."""
    out = np.empty(len(batch), dtype=np.uint64)
    x, y, o = batch.x, batch.y, batch.offsets
    xs, ys = batch.meta["x_step"].to_numpy(), batch.meta["y_step"].to_numpy()
    for i in range(len(batch)):
        h = hashlib.blake2b(digest_size=8)
        h.update(np.array([xs[i], ys[i]]).tobytes())
        h.update(x[o[i] : o[i + 1]].tobytes())
        h.update(y[o[i] : o[i + 1]].tobytes())
        out[i] = int.from_bytes(h.digest(), "little")
    return out


def _utc_ms(values: pd.Series) -> pa.Array:
    """Timestamps at the schema's millisecond precision (finer digits are dropped)."""
    stamps = pd.to_datetime(values, utc=True).dt.floor("ms")
    return pa.array(stamps, pa.timestamp("ms", "UTC"))


def _list_column(offsets: np.ndarray, codes: np.ndarray) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(codes))


def to_tables(
    batch: CurveBatch,
    *,
    project: str,
    ids: np.ndarray,
    prints: np.ndarray,
    dataset_id: str,
    ingested_at: pd.Timestamp,
) -> tuple[pa.Table, pa.Table]:
    """Arrow tables for ``curves`` and ``curve_samples``, column names as in the schema.

    ``ids`` and ``prints`` are :func:`curve_ids` and :func:`fingerprints` of the batch.
    """
    meta = batch.meta
    starts = batch.offsets[:-1]
    xs, ys = meta["x_step"].to_numpy(np.float64), meta["y_step"].to_numpy(np.float64)
    x_lo = np.minimum.reduceat(batch.x, starts) * xs
    x_hi = np.maximum.reduceat(batch.x, starts) * xs
    y_lo = np.minimum.reduceat(batch.y, starts) * ys
    y_hi = np.maximum.reduceat(batch.y, starts) * ys
    n = len(batch)
    started = _utc_ms(meta["started_at"])
    key_columns = {
        "project": pa.array([project] * n, pa.string()),
        "plant": pa.array(meta["plant"], pa.string()),
        "line": pa.array(meta["line"], pa.string()),
        "station": pa.array(meta["station"], pa.string()),
        "started_at": started,
        "curve_id": pa.array(ids),
        "dataset_id": pa.array([dataset_id] * n, pa.string()),
    }
    curves = pa.table(
        {
            **key_columns,
            "curve_key": pa.array(meta["curve_key"], pa.string()),
            **{c: pa.array(meta[c], pa.string()) for c in TEXT_COLUMNS[3:]},
            "ended_at": _utc_ms(meta["ended_at"]),
            "result": pa.array(meta["result"], pa.string()),
            "point_count": pa.array(batch.counts().astype(np.uint32)),
            "x_min": pa.array(x_lo),
            "x_max": pa.array(x_hi),
            "y_min": pa.array(y_lo),
            "y_max": pa.array(y_hi),
            "x_step": pa.array(xs),
            "y_step": pa.array(ys),
            "fingerprint": pa.array(prints),
            "ingested_at": pa.array([ingested_at] * n, pa.timestamp("ms", "UTC")),
        }
    )
    samples = pa.table(
        {
            **key_columns,
            "x_step": pa.array(xs),
            "y_step": pa.array(ys),
            "x": _list_column(batch.offsets, batch.x),
            "y": _list_column(batch.offsets, batch.y),
        }
    )
    return curves, samples
