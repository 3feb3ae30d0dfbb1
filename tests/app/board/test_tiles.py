"""A station's tile as HTML: its state in words, its figures, and nothing unescaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import pandas as pd

from app.board import tiles
from pipelines.board import Shift, StationTile


def tile_html(*args) -> str:
    """The tile's HTML with character references read back, as the browser shows it."""
    return unescape(tiles.tile_html(*args))


NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
SHIFT = Shift(
    "A", datetime(2026, 12, 5, 6, tzinfo=UTC), datetime(2026, 12, 4, 22, tzinfo=UTC), "UTC"
)


def tile(**fields) -> StationTile:
    values = dict(
        plant="P",
        line="L1",
        station="ST010",
        process="press-fit",
        shift=SHIFT,
        parts=200,
        nok=5,
        parts_before=180,
        nok_before=2,
        recent=60,
        last_at=pd.Timestamp(NOW - timedelta(seconds=8)),
        last_curve=7,
        results=("OK", "NOK", "OK"),
        cycle=timedelta(seconds=10),
        defects=(("burr", 4), ("short_stroke", 1)),
    )
    return StationTile(**{**values, **fields})


def test_a_running_station_says_its_rate_and_figures():
    html = tile_html(tile(), NOW, None, "line-7")
    assert "● running · 6.0 parts/min" in html and "ch-stopped" not in html
    assert "<b>2.5%</b>" in html and "NOK this shift (5 of 200)" in html
    assert "<b>1.1%</b>" in html and "<b>8 s</b>" in html
    assert "Defects this shift: burr 4 · short_stroke 1" in html
    assert html.count('class="ch-nok"') == 1 and html.count('class="ch-ok"') == 2
    assert "./curves?project=line-7&process=press-fit&station=ST010&live=shift" in html


def test_a_station_that_went_quiet_is_flagged_and_an_idle_one_is_grey():
    quiet = tile(recent=0, last_at=pd.Timestamp(NOW - timedelta(minutes=14)))
    assert "⚠ stopped · no part for 14 min" in tile_html(quiet, NOW, None, "p")
    assert "ch-stopped" in tile_html(quiet, NOW, None, "p")
    idle = tile(
        parts=0,
        nok=0,
        parts_before=0,
        nok_before=0,
        recent=0,
        results=(),
        defects=(),
        last_at=pd.Timestamp(NOW - timedelta(days=3)),
    )
    html = tile_html(idle, NOW, None, "p")
    assert "idle · last part 3 d ago" in html and "ch-stopped" not in html
    assert "no parts this shift or the last" in html and "No defects this shift" in html


def test_names_from_the_data_are_escaped():
    hostile = "<img src=x onerror=alert(1)>"
    raw = tiles.tile_html(
        tile(station=hostile, process=hostile, line=hostile, defects=((hostile, 1),)),
        NOW,
        None,
        hostile,
    )
    assert "<img" not in raw and hostile in unescape(raw)


def test_durations_read_as_a_line_lead_says_them():
    assert [
        tiles.duration(timedelta(seconds=s)) for s in (-3, 8, 140, 3 * 3600 + 300, 2 * 86_400)
    ] == [
        "0 s",
        "8 s",
        "2 min",
        "3 h 05 min",
        "2 d",
    ]
