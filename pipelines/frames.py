"""DataFrames from queries that keep their columns when no row matches.

chDB sends no result block for an empty answer, so clickhouse-connect's ``query_df`` then has
no column names either; code reading ``frame["result"]`` would fail exactly when a filter
matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

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
