"""The station board's figures: per station of a project, how its line is doing right now.

Everything is counted by the engine in three aggregation queries (no rows come back to
Python but one per station): parts and NOK parts this shift and the last, parts in the last
minutes, the newest parts' results, the last part's time and curve, the defect mix, and the
start of the station's newest :data:`RECENT_PARTS` (the picture a tile draws). Shifts are each
plant's own (:mod:`models.plants`), so a project spanning plants in two time zones is counted
on each plant's clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from models.identifiers import identifier
from models.plants import load_plants
from models.times import relative_window, zone_of
from pipelines.frames import engine_time, query_frame

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

LAST_PARTS = 20  # results shown as a row of dots, newest first
RECENT_PARTS = 100  # the parts a tile's picture shows
RATE_MINUTES = 10  # parts per minute over this many minutes
# A station is flagged as stopped when its last part is older than this many of its own
# recent cycle times, and at least STOPPED_FLOOR.
STOPPED_CYCLES = 10
STOPPED_FLOOR = timedelta(minutes=2)


@dataclass(frozen=True)
class Shift:
    """A plant's shift: its name and when it began, and when the one before it began."""

    name: str
    start: datetime
    previous: datetime
    zone: str


@dataclass(frozen=True)
class StationTile:
    """One station's figures at ``now``."""

    plant: str
    line: str
    station: str
    process: str
    shift: Shift
    parts: int = 0  # this shift
    nok: int = 0
    parts_before: int = 0  # the shift before
    nok_before: int = 0
    recent: int = 0  # parts in the last RATE_MINUTES
    last_at: pd.Timestamp | None = None
    last_curve: int | None = None
    results: tuple[str, ...] = ()  # the newest LAST_PARTS, newest first
    cycle: timedelta | None = None  # the mean time between the newest parts
    defects: tuple[tuple[str, int], ...] = field(default_factory=tuple)  # this shift, most first
    window_start: pd.Timestamp | None = None  # the oldest of the newest RECENT_PARTS

    @property
    def nok_rate(self) -> float | None:
        return self.nok / self.parts if self.parts else None

    @property
    def nok_rate_before(self) -> float | None:
        return self.nok_before / self.parts_before if self.parts_before else None

    @property
    def per_minute(self) -> float:
        return self.recent / RATE_MINUTES

    def since_last(self, now: datetime) -> timedelta | None:
        return None if self.last_at is None else now - self.last_at.to_pydatetime()

    def stopped(self, now: datetime) -> bool:
        """No part for longer than :data:`STOPPED_CYCLES` of its recent cycle times (at least
        :data:`STOPPED_FLOOR`), after parts this shift or the last: a station that was making
        parts and went quiet (one idle for two shifts is only shown idle)."""
        since = self.since_last(now)
        if since is None or not (self.parts or self.parts_before):
            return False
        limit = max(STOPPED_FLOOR, (self.cycle or timedelta(0)) * STOPPED_CYCLES)
        return since > limit


def shift_of(plant: str, now: datetime) -> Shift:
    """The shift running at ``now`` at ``plant`` (its own shifts, or the default ones)."""
    shifts = load_plants().shifts_of(plant)
    start, _ = relative_window(
        "shift", now=now, zone=shifts.zone, shift_starts=shifts.clock, shift_zone=shifts.zone
    )
    previous, _ = relative_window(
        "shift",
        now=start - timedelta(milliseconds=1),
        zone=shifts.zone,
        shift_starts=shifts.clock,
        shift_zone=shifts.zone,
    )
    local = start.astimezone(zone_of(shifts.zone)).time().replace(second=0, microsecond=0)
    name = next((n for n, clock in shifts.clock.items() if clock == local), "Shift")
    return Shift(name, start, previous, shifts.zone)


_STATIONS = ("plant", "line", "station", "process", "last_at", "last_curve", "window_start")
_COUNTS = (
    "line",
    "station",
    "parts",
    "nok",
    "parts_before",
    "nok_before",
    "recent",
    "newest",
)


def station_board(client: Client, database: str, project: str, now: datetime) -> list[StationTile]:
    """Every station that ever made a part in ``project``, with its figures at ``now``
    (UTC-aware), ordered by plant, line and station."""
    db = identifier(database)
    stations = query_frame(
        client,
        "SELECT plant, line, station, argMax(process, started_at) AS process, "
        "max(started_at) AS last_at, argMax(curve_id, started_at) AS last_curve, "
        "min(started_at) AS window_start FROM ("
        "  SELECT plant, line, station, process, started_at, curve_id, row_number() OVER "
        "  (PARTITION BY plant, line, station ORDER BY started_at DESC, curve_id DESC) AS n "
        f"  FROM {db}.curves WHERE project = {{p:String}}"
        ") WHERE n <= {recent:UInt32} GROUP BY plant, line, station ORDER BY plant, line, station",
        _STATIONS,
        {"p": project, "recent": RECENT_PARTS},
    )
    tiles = []
    for plant, rows in stations.groupby("plant", sort=True):
        shift = shift_of(str(plant), now)
        counts = _counts(client, db, project, str(plant), shift, now)
        defects = _defects(client, db, project, str(plant), shift)
        for row in rows.itertuples():
            got = counts.get((row.line, row.station))
            newest = got.newest if got is not None else []
            tiles.append(
                StationTile(
                    plant=str(plant),
                    line=row.line,
                    station=row.station,
                    process=row.process,
                    shift=shift,
                    parts=int(got.parts) if got is not None else 0,
                    nok=int(got.nok) if got is not None else 0,
                    parts_before=int(got.parts_before) if got is not None else 0,
                    nok_before=int(got.nok_before) if got is not None else 0,
                    recent=int(got.recent) if got is not None else 0,
                    last_at=engine_time(row.last_at),
                    last_curve=int(row.last_curve),
                    results=tuple(str(r) for _, r in newest),
                    cycle=_cycle([t for t, _ in newest]),
                    defects=tuple(defects.get((row.line, row.station), ())),
                    window_start=engine_time(row.window_start),
                )
            )
    return tiles


def _counts(client: Client, db: str, project: str, plant: str, shift: Shift, now: datetime):
    t = "DateTime64(3, 'UTC')"
    frame = query_frame(
        client,
        f"SELECT line, station, countIf(started_at >= {{shift:{t}}}) AS parts, "
        f"countIf(started_at >= {{shift:{t}}} AND result = 'NOK') AS nok, "
        f"countIf(started_at < {{shift:{t}}}) AS parts_before, "
        f"countIf(started_at < {{shift:{t}}} AND result = 'NOK') AS nok_before, "
        f"countIf(started_at >= {{recent:{t}}}) AS recent, "
        "arraySlice(arrayReverseSort(groupArray((started_at, toString(result)))), 1, {n:UInt32}) "
        f"AS newest FROM {db}.curves WHERE project = {{p:String}} AND plant = {{plant:String}} "
        f"AND started_at >= {{before:{t}}} AND started_at <= {{now:{t}}} GROUP BY line, station",
        _COUNTS,
        {
            "p": project,
            "plant": plant,
            "shift": shift.start,
            "before": shift.previous,
            "recent": now - timedelta(minutes=RATE_MINUTES),
            "now": now,
            "n": LAST_PARTS,
        },
    )
    return {(r.line, r.station): r for r in frame.itertuples()}


def _defects(client: Client, db: str, project: str, plant: str, shift: Shift) -> dict:
    frame = query_frame(
        client,
        "SELECT line, station, defect, count() AS parts "
        f"FROM {db}.curves WHERE project = {{p:String}} AND plant = {{plant:String}} "
        "AND started_at >= {shift:DateTime64(3, 'UTC')} AND defect != '' "
        "GROUP BY line, station, defect ORDER BY parts DESC, defect",
        ("line", "station", "defect", "parts"),
        {"p": project, "plant": plant, "shift": shift.start},
    )
    mix: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for r in frame.itertuples():
        mix.setdefault((r.line, r.station), []).append((str(r.defect), int(r.parts)))
    return mix


def _cycle(times: list) -> timedelta | None:
    """The mean time between the newest parts (newest first), or None with fewer than two."""
    if len(times) < 2:
        return None
    newest, oldest = engine_time(times[0]), engine_time(times[-1])
    return (newest - oldest).to_pytimedelta() / (len(times) - 1)
