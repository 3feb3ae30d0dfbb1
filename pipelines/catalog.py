"""Read-side summaries of what is stored: counts, breakdowns, newest curves and storage sizes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from models.identifiers import identifier
from pipelines.frames import query_frame
from pipelines.views import FILTER_COLUMNS, CurveFilter

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class Overview:
    curves: int
    points: int
    nok: int
    projects: int
    datasets: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None

    @property
    def empty(self) -> bool:
        return self.curves == 0


BREAKDOWN_COLUMNS = (
    "project",
    "plant",
    "line",
    "station",
    "process",
    "curves",
    "ok",
    "nok",
    "nok_rate",
    "points",
)


NEWEST_COLUMNS = (
    "started_at",
    "project",
    "part_serial",
    "line",
    "station",
    "program",
    "result",
    "defect",
    "point_count",
)


class Catalog:
    """Summary queries over one database's curve tables."""

    def __init__(
        self, client: Client, database: str, projects: tuple[str, ...] | None = None
    ) -> None:
        """``projects``: count only these projects' curves (those a person may see)."""
        self.client = client
        self.db = identifier(database)
        self.database = database
        self.projects = projects

    def _curves(self) -> tuple[str, dict[str, object]]:
        """The curves this catalog counts, as a ``FROM`` body, and its parameters."""
        if self.projects is None:
            return f"{self.db}.curves", {}
        scope = f"{self.db}.curves WHERE project IN {{scope:Array(String)}}"
        return scope, {"scope": list(self.projects)}

    def overview(self) -> Overview:
        curves, params = self._curves()
        row = self.client.query(
            f"SELECT count(), sum(point_count), countIf(result = 'NOK'), uniqExact(project), "
            f"uniqExact(dataset_id), min(started_at), max(started_at) FROM {curves}",
            parameters=params,
        ).result_rows[0]
        curves = int(row[0])
        return Overview(
            curves=curves,
            points=int(row[1] or 0),
            nok=int(row[2] or 0),
            projects=int(row[3]),
            datasets=int(row[4]),
            first=pd.Timestamp(row[5], tz="UTC") if curves else None,
            last=pd.Timestamp(row[6], tz="UTC") if curves else None,
        )

    def breakdown(self) -> pd.DataFrame:
        """Curves per plant, line and station, split by result."""
        curves, params = self._curves()
        frame = self.client.query_df(
            f"SELECT project, plant, line, station, process, count() AS curves, "
            f"countIf(result = 'OK') AS ok, countIf(result = 'NOK') AS nok, "
            f"sum(point_count) AS points FROM {curves} "
            "GROUP BY project, plant, line, station, process "
            "ORDER BY project, plant, line, station",
            parameters=params,
        )
        if frame.empty:
            return pd.DataFrame(columns=list(BREAKDOWN_COLUMNS))
        frame["nok_rate"] = frame["nok"] / frame["curves"]
        return frame[list(BREAKDOWN_COLUMNS)]

    def newest(self, limit: int = 20) -> pd.DataFrame:
        curves, params = self._curves()
        return query_frame(
            self.client,
            f"SELECT {', '.join(NEWEST_COLUMNS)} FROM {curves} "
            "ORDER BY started_at DESC, curve_id LIMIT {n:UInt32}",
            NEWEST_COLUMNS,
            {**params, "n": int(limit)},
        )

    def storage(self) -> pd.DataFrame:
        """On-disk size of each table, and bytes per stored (x, y) point."""
        frame = self.client.query_df(
            "SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS compressed_bytes, "
            "sum(data_uncompressed_bytes) AS uncompressed_bytes FROM system.parts "
            "WHERE database = {db:String} AND active GROUP BY table ORDER BY table",
            parameters={"db": self.database},
        )
        return frame

    def processes(self, limit: int = 3) -> list[str]:
        """The most common processes, most curves first."""
        curves, params = self._curves()
        rows = self.client.query(
            f"SELECT process FROM {curves} GROUP BY process "
            "ORDER BY count() DESC, process LIMIT {n:UInt32}",
            parameters={**params, "n": int(limit)},
        ).result_rows
        return [r[0] for r in rows]

    def bytes_per_point(self, points: int | None = None) -> float | None:
        """Compressed sample bytes per stored (x, y) point; pass ``points`` if already known."""
        points = self.overview().points if points is None else points
        sizes = self.storage()
        if not points or sizes.empty:
            return None
        samples = sizes.loc[sizes["table"] == "curve_samples", "compressed_bytes"].sum()
        return float(samples) / points

    def processes_by_project(self) -> pd.DataFrame:
        """Curves per project and process, most curves first: what a page offers to open."""
        curves, params = self._curves()
        return query_frame(
            self.client,
            f"SELECT project, process, count() AS curves FROM {curves} "
            "GROUP BY project, process ORDER BY curves DESC, project, process",
            ["project", "process", "curves"],
            params,
        )

    def choices(self, where: CurveFilter) -> dict[str, list[str]]:
        """Distinct values of each filter column among the curves ``where`` selects, sorted:
        the options of a page's pickers."""
        sql, params = where.within(self.projects).where()
        columns = [c for c in FILTER_COLUMNS if c not in ("project", "process")]
        row = self.client.query(
            f"SELECT {', '.join(f'groupUniqArray({c})' for c in columns)} "
            f"FROM {self.db}.curves WHERE {sql}",
            parameters=params,
        ).result_rows
        values = row[0] if row else [[] for _ in columns]
        return {c: sorted(v for v in vs if v) for c, vs in zip(columns, values, strict=True)}
