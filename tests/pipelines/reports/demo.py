"""A small stored demo for shift reports, and the figures of one shift computed with pandas
from the stored rows (not through :mod:`pipelines.kpis`).

The demo runs two days from Monday 2026-11-16 06:00 UTC. Two curves of shift B in Leipzig get
hostile names (a station and a defect that are HTML), and project ``other`` shares the
database, so a report shows what it should, escaped, and nothing of another project.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date

import numpy as np
import pandas as pd

from pipelines.curves import Curves
from pipelines.reports import ShiftRef
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

SPEC = DemoSpec(curves=400, seed=5, days=2)
SHIFT = ShiftRef("Leipzig", date(2026, 11, 16), "B")
# Shift B of the packaged plant book (default shifts, on UTC clocks): written out by hand.
WINDOW = (pd.Timestamp("2026-11-16 14:00", tz="UTC"), pd.Timestamp("2026-11-16 22:00", tz="UTC"))
HOSTILE_STATION = "<img src=x onerror=alert(1)>&ST"
HOSTILE_DEFECT = "<script>alert('defect')</script>"


def _hostile(batches):
    """Two Leipzig curves again, as a NOK part at a station named in HTML, inside shift B."""
    first = batches[0]
    mask = (first.meta["plant"] == "Leipzig").to_numpy().copy()
    mask &= np.cumsum(mask) <= 2
    extra = first.take(mask)
    start = WINDOW[0] + pd.Timedelta(hours=1)
    extra.meta = extra.meta.assign(
        curve_key=extra.meta["curve_key"] + "/hostile",
        station=HOSTILE_STATION,
        part_serial="HOSTILE-1",
        result="NOK",
        defect=HOSTILE_DEFECT,
        started_at=start,
        ended_at=start + pd.Timedelta(seconds=3),
    )
    return [*batches, extra]


@contextmanager
def stored_demo(engine):
    """The demo in project ``demo`` (and a little of ``other``) in a fresh database: a reader
    of ``demo``'s curves and ``demo``'s rows as pandas reads them."""
    client = engine.client()
    name = f"t_{uuid.uuid4().hex[:12]}"
    try:
        store = CurveStore.open(client, name, sweep_stale_after=0)
        store.write(_hostile(list(generate_demo(SPEC))), DatasetSpec("demo", "demo", "d"))
        other = DemoSpec(curves=60, seed=3, days=1, project="other")
        store.write(generate_demo(other), DatasetSpec("other", "demo", "o"))
        rows = client.query_df(
            "SELECT project, curve_id, plant, station, process, part_serial, "
            f"toString(result) AS result, defect, started_at FROM `{name}`.curves "
            "WHERE project = 'demo'"
        )
        rows["started_at"] = pd.to_datetime(rows["started_at"]).dt.tz_localize("UTC")
        yield Curves(client, name, projects=("demo",)), rows
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{name}`")
        client.close()


def shift_rows(rows: pd.DataFrame, plant: str = SHIFT.plant, window=WINDOW) -> pd.DataFrame:
    inside = (rows["started_at"] >= window[0]) & (rows["started_at"] < window[1])
    return rows[inside & (rows["plant"] == plant)]


def shift_figures(rows: pd.DataFrame) -> dict:
    """Parts, NOK parts and first-pass yield of ``rows``, one part at a time: a part is a
    serial (a curve without one is its own part); NOK when any curve is NOK, OK when all are
    OK; the yield is OK parts over judged parts."""
    parts: dict[tuple, list[str]] = {}
    for row in rows.itertuples():
        key = (row.project, row.part_serial or f"#{row.curve_id}")
        parts.setdefault(key, []).append(row.result)
    ok = sum(all(r == "OK" for r in results) for results in parts.values())
    nok = sum(any(r == "NOK" for r in results) for results in parts.values())
    return {
        "parts": len(parts),
        "nok_parts": nok,
        "first_pass_yield": ok / (ok + nok) if ok + nok else None,
        "processes": sorted(set(rows["process"])),
    }
