"""Frames and Arrow tables from queries, with empty answers handled.

chDB sends no result block for an empty answer, so clickhouse-connect's ``query_df`` then has
no column names either; code reading ``frame["result"]`` would fail exactly when a filter
matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


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
