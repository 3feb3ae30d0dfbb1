"""Following the line in the explorer: a window that slides with the clock, new parts drawn as
they are committed, and pauses while someone zooms, selects or points at curves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from app.explorer.explorer import CurveExplorer
from app.explorer.plot import NEWEST_ON_TOP
from pipelines.curves import Curves
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter

pytestmark = pytest.mark.integration


def made_now(store, seed: int, curves: int = 24, ago: timedelta = timedelta(0)) -> pd.DataFrame:
    """Press-fit parts started ``ago`` before now, committed as the listener commits them."""
    batches = [b for b in generate_demo(DemoSpec(curves=curves, seed=seed)) if len(b.meta)]
    now = pd.Timestamp(datetime.now(UTC) - ago)
    for batch in batches:
        batch.meta["curve_key"] = batch.meta["curve_key"] + f"-now{seed}"
        batch.meta["started_at"] = now - pd.to_timedelta(np.arange(len(batch.meta)), "s")
    store.write(batches, DatasetSpec(project="demo", kind="import", name=f"now{seed}"))
    return pd.concat([b.meta for b in batches], ignore_index=True)


@pytest.fixture
def line(engine, store):
    """Last week's demo parts, and a client factory on the store."""
    store.write(generate_demo(DemoSpec(curves=60, seed=4)), DatasetSpec("demo", "demo", "d"))
    return engine.client, store


def test_live_draws_the_window_and_follows_new_parts_until_paused(line):
    factory, store = line
    explorer = CurveExplorer(client_factory=factory, database=store.database)
    explorer.wait()
    process = explorer.state.process
    explorer.state.live = "1h"
    explorer.wait()
    assert explorer.plot.image.curves == 0  # the demo's parts are older than an hour
    assert "No part of this line started in the last hour" in explorer.plot.empty
    made = made_now(store, seed=21)
    explorer.tick()
    explorer.wait()
    where = CurveFilter.of(project="demo", process=process, start=explorer.state.live_start())
    expected = Curves(factory(), store.database, where).density(explorer.plot.image.view)
    np.testing.assert_array_equal(explorer.plot.image.counts, expected.counts)
    assert explorer.plot.image.curves == (made["process"] == process).sum() > 0
    assert len(explorer.plot.newest) == NEWEST_ON_TOP
    assert explorer.plot.status.startswith("**Live** · last hour · updated")
    assert explorer.state.to_query()["live"] == "1h"
    # Selecting parts pauses following: a new commit is not drawn until Resume.
    shown = explorer.plot.image
    (x0, x1), (y0, y1) = shown.view.x_range, shown.view.y_range
    explorer.plot.on_tap(x=(x0 + x1) / 2, y=(y0 + y1) / 2)
    explorer.wait()
    assert explorer.plot.paused == "select" and explorer.plot.resume.visible
    assert explorer.plot.status.startswith("**Live paused**: you selected parts")
    more = made_now(store, seed=22)
    explorer.tick()
    explorer.wait()
    assert explorer.plot.image is shown
    explorer.plot.follow()
    explorer.wait()
    assert not explorer.plot.resume.visible
    added = (more["process"] == process).sum()
    assert explorer.plot.image.curves == shown.curves + added
    # A second in which nothing came or went sends nothing to the page but the status line.
    sent = []
    explorer.plot._send = lambda *args, **kwargs: sent.append(args)
    before = explorer.plot.image
    explorer.tick()
    explorer.wait()
    assert sent == [] and explorer.plot.image.counts is before.counts
    del explorer.plot._send
    # Live off: the From and Until window again (none here: every part).
    explorer.state.live = ""
    explorer.wait()
    assert explorer.plot.image.curves > shown.curves + added
    assert not explorer.plot.status.startswith("**Live")
    explorer.close()


def test_parts_leave_the_window_as_the_clock_moves_on(line):
    factory, store = line
    made_now(store, seed=23, ago=timedelta(minutes=10))
    now = [datetime.now(UTC)]
    explorer = CurveExplorer(client_factory=factory, database=store.database, query=None)
    explorer.state.clock = lambda: now[0]
    explorer.state.live = "15m"
    explorer.wait()
    assert explorer.plot.image.curves > 0
    now[0] += timedelta(minutes=6)  # the parts started 10-11 minutes ago fall out
    explorer.tick()
    explorer.wait()
    assert explorer.plot.image.curves == 0
    explorer.close()


@pytest.mark.parametrize("gesture", ["zoom", "hover"])
def test_a_zoom_or_pointing_at_curves_pauses_following_until_resumed(line, gesture):
    factory, store = line
    made_now(store, seed=31)
    explorer = CurveExplorer(client_factory=factory, database=store.database, query=None)
    explorer.state.live = "1h"
    explorer.wait()
    shown = explorer.plot.image
    assert shown.curves > 0 and not explorer.plot.paused
    (x0, x1), (y0, y1) = shown.view.x_range, shown.view.y_range
    # The plot reporting the ranges it was given is no gesture: following goes on.
    explorer.plot.on_range(x_range=(x0, x1), y_range=(y0, y1))
    assert not explorer.plot.paused
    explorer.plot.on_pointer(x=x1 + (x1 - x0), y=(y0 + y1) / 2)  # beside the picture
    assert not explorer.plot.paused
    if gesture == "zoom":
        explorer.plot.on_range(x_range=(x0, (x0 + x1) / 2), y_range=(y0, y1))
    else:
        explorer.plot.on_pointer(x=(x0 + x1) / 2, y=(y0 + y1) / 2)
    explorer.wait()
    assert explorer.plot.paused == gesture and explorer.plot.resume.visible
    words = {"zoom": "you zoomed or panned", "hover": "you pointed at curves"}[gesture]
    assert explorer.plot.status.startswith(f"**Live paused**: {words}")
    held = explorer.plot.image
    more = made_now(store, seed=32)
    explorer.tick()
    explorer.wait()
    assert explorer.plot.image is held  # paused: the new parts wait
    explorer.plot.follow()
    explorer.wait()
    assert not explorer.plot.paused and not explorer.plot.resume.visible
    assert explorer.plot.status.startswith("**Live** · last hour")
    assert (more["process"] == explorer.state.process).sum() > 0
    drawn = explorer.plot.image
    where = CurveFilter.of(
        project="demo", process=explorer.state.process, start=explorer.state.live_start()
    )
    expected = Curves(factory(), store.database, where).density(drawn.view)
    np.testing.assert_array_equal(drawn.counts, expected.counts)
    assert drawn.curves > held.curves  # the parts that waited are drawn now
    explorer.close()
