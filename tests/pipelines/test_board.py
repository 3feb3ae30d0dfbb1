"""The station board's figures, counted by the engine, against pandas on the same parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from pipelines.batch import curve_ids
from pipelines.board import LAST_PARTS, RATE_MINUTES, RECENT_PARTS, shift_of, station_board
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # shift A (06:00 UTC) of the default shifts


@pytest.fixture
def line(store):
    """Parts of three stations over the last two shifts, with results and defects drawn at
    random, and one station that has been quiet for a week."""
    rng = np.random.default_rng(3)
    batches = list(generate_demo(DemoSpec(curves=400, seed=6)))
    stations = ["TP-L1-ST010", "TP-L1-ST020", "TP-L2-ST010", "TP-L9-OLD"]
    for batch in batches:
        n = len(batch.meta)
        station = rng.choice(stations[:3], n)
        ago = pd.to_timedelta(rng.uniform(0, 14 * 3600, n), "s")  # back into the last shift
        old = rng.random(n) < 0.03
        station[old] = stations[3]
        ago = ago.where(~old, ago + pd.Timedelta(days=7))
        nok = rng.random(n) < 0.15
        batch.meta = batch.meta.assign(
            plant="TESTPLANT",
            station=station,
            line=[s[:5] for s in station],
            started_at=(pd.Timestamp(NOW) - ago).floor("ms"),
            result=np.where(nok, "NOK", "OK"),
            defect=np.where(nok, rng.choice(["burr", "short_stroke"], n), ""),
        )
    store.write(batches, DatasetSpec(project="board", kind="import", name="line"))
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    return store, meta


def test_each_stations_figures_are_what_pandas_counts(line):
    store, meta = line
    tiles = station_board(store.client, store.database, "board", NOW)
    shift = shift_of("TESTPLANT", NOW)
    assert (shift.name, shift.start, shift.previous) == (
        "A",
        datetime(2026, 12, 5, 6, tzinfo=UTC),
        datetime(2026, 12, 4, 22, tzinfo=UTC),
    )
    assert [t.station for t in tiles] == sorted(meta["station"].unique())
    started = meta["started_at"]
    for tile in tiles:
        mine = meta[meta["station"] == tile.station].sort_values("started_at", ascending=False)
        now_shift = mine[mine["started_at"] >= shift.start]
        before = mine[(mine["started_at"] < shift.start) & (mine["started_at"] >= shift.previous)]
        assert (tile.parts, tile.nok) == (len(now_shift), (now_shift["result"] == "NOK").sum())
        assert (tile.parts_before, tile.nok_before) == (
            len(before),
            (before["result"] == "NOK").sum(),
        )
        recent = mine[mine["started_at"] >= pd.Timestamp(NOW) - pd.Timedelta(minutes=RATE_MINUTES)]
        assert tile.recent == len(recent)
        in_window = mine[mine["started_at"] >= shift.previous]
        assert list(tile.results) == list(in_window["result"].head(LAST_PARTS))
        assert tile.last_at == mine["started_at"].iloc[0]
        assert tile.last_curve == int(curve_ids("board", [mine["curve_key"].iloc[0]])[0])
        assert tile.window_start == mine["started_at"].head(RECENT_PARTS).min()
        mix = now_shift[now_shift["defect"] != ""]["defect"].value_counts()
        assert dict(tile.defects) == {k: int(v) for k, v in mix.items()}
    assert started.max() <= pd.Timestamp(NOW)


def test_a_station_that_went_quiet_is_flagged_and_an_old_one_is_only_idle(line):
    store, _ = line
    tiles = {t.station: t for t in station_board(store.client, store.database, "board", NOW)}
    busy = tiles["TP-L1-ST010"]
    assert not busy.stopped(NOW) and busy.cycle is not None
    limit = max(timedelta(minutes=2), busy.cycle * 10)  # ten of its cycles, two minutes at least
    last = busy.last_at.to_pydatetime()
    assert busy.stopped(last + limit + timedelta(seconds=1))
    assert not busy.stopped(last + limit - timedelta(seconds=1))
    old = tiles["TP-L9-OLD"]
    assert (old.parts, old.parts_before) == (0, 0) and not old.stopped(NOW)
    assert old.since_last(NOW) >= timedelta(days=7)
