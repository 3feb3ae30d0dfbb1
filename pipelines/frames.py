"""Frames and Arrow tables from queries, with empty answers handled.

chDB sends no result block for an empty answer, so clickhouse-connect's ``query_df`` then has
no column names either; code reading ``frame["result"]`` would fail exactly when a filter
matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


# Curve ids per bound list. clickhouse-connect sends bind parameters as a multipart form once
# they pass 4 KiB, and ClickHouse servers cap a form field at http_max_field_value_size
# (128 KiB by default): 4,000 ids of up to 20 digits stay near 80 KB.
ID_CHUNK = 4_000


def id_chunks(ids: Sequence[int], most: int | None = None) -> Iterator[list[int]]:
    """``ids`` in lists of at most :data:`ID_CHUNK`, so no bound list outgrows a server's form
    field, or of at most ``most`` when that is smaller; nothing for no ids."""
    size = ID_CHUNK if most is None else max(1, min(most, ID_CHUNK))
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def query_frame(
    client: Client, sql: str, columns: Sequence[str], parameters: dict[str, Any] | None = None
) -> pd.DataFrame:
    """``client.query_df``, or an empty frame with ``columns`` when nothing matched."""
    frame = client.query_df(sql, parameters=parameters or {})
    if frame.empty and list(frame.columns) != list(columns):
        return pd.DataFrame(columns=list(columns))
    return frame


def query_table(
    client: Client, sql: str, parameters: dict[str, Any] | None = None
) -> pa.Table | None:
    """An Arrow table of numeric columns, or None when nothing matched.

    ``raw_query`` in Arrow format rather than ``query_arrow``: the latter adds string settings
    that chDB applies with a SET before and after every query, about 40 ms each time on the
    explorer's hot path, and these answers hold no strings. The answer is not LZ4-compressed
    inside Arrow: in-process, decompressing 10 M samples cost 100-200 ms for nothing; over
    HTTP, the client's transport compression still applies.
    """
    sql = f"{sql} SETTINGS output_format_arrow_compression_method = 'none'"
    raw = client.raw_query(sql, parameters=parameters or {}, fmt="Arrow")
    if not raw:
        return None
    return pa.ipc.open_file(pa.py_buffer(raw)).read_all()


def engine_time(value: Any) -> pd.Timestamp | None:
    """A time the engine answered, as a UTC timestamp: its ``DateTime64(3, 'UTC')`` columns come
    back without their zone. None for a missing one."""
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def in_period(started: pd.Series, period: tuple | None) -> np.ndarray | None:
    """Which of the engine's times ``started`` fall in ``period`` = (from, until), either end
    None for open; None when there is no period (every one counts)."""
    if period is None or all(end is None for end in period):
        return None
    times = pd.to_datetime(started)
    times = times.dt.tz_localize("UTC") if times.dt.tz is None else times.dt.tz_convert("UTC")
    begin, end = (engine_time(t) for t in period)
    mask = np.ones(len(times), bool)
    if begin is not None:
        mask &= (times >= begin).to_numpy()
    if end is not None:
        mask &= (times < end).to_numpy()
    return mask


def list_codes(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A table's ``x`` and ``y`` code lists as flat arrays with offsets from 0 (Arrow's list
    layout), however the engine chunked its answer."""
    xs, ys = (table.column(c).combine_chunks() for c in ("x", "y"))
    offsets = xs.offsets.to_numpy().astype(np.int64)
    x = xs.flatten().to_numpy(zero_copy_only=False)
    y = ys.flatten().to_numpy(zero_copy_only=False)
    return x, y, offsets - offsets[0]
