"""Explorer state: what the widgets edit, what the pipelines get, and the URL round trip."""

import pytest

from app.explorer.state import ExplorerState
from pipelines.views import CurveFilter, FilterError, View


def test_defaults_are_an_empty_query_and_an_open_filter():
    state = ExplorerState()
    assert state.to_query() == {}
    assert state.curve_filter() == CurveFilter.of()
    assert state.view(960, 480) == View(width=960, height=480)


def test_state_becomes_the_pipelines_requests():
    state = ExplorerState(
        project="line-7",
        process="press-fit",
        station=["S1", "S2"],
        result=["NOK"],
        serial=" LEJ ",
        start="2026-11-20 06:00",
        x_range=(1.0, 5.0),
        y_range=(0.0, 30.0),
        color_by="station",
    )
    assert state.curve_filter() == CurveFilter.of(
        project="line-7",
        process="press-fit",
        station=["S1", "S2"],
        result="NOK",
        serial="LEJ",
        start="2026-11-20T06:00Z",
    )
    assert state.view(300, 200) == View(
        x_range=(1.0, 5.0), y_range=(0.0, 30.0), width=300, height=200, color_by="station"
    )


def test_bad_filters_raise_naming_the_field():
    with pytest.raises(FilterError, match="start"):
        ExplorerState(start="yesterday-ish").curve_filter()
    with pytest.raises(FilterError, match="result"):
        ExplorerState(result=["MAYBE"]).curve_filter()


def test_the_url_round_trips_everything_that_differs_from_the_defaults():
    state = ExplorerState(
        project="demo",
        process="screwdriving",
        plant=["Leipzig", "Győr"],
        line=["LEJ-L1"],
        program=["SD-M6"],
        shift=["night"],
        result=["OK", "NOK"],
        serial="261123",
        start="2026-11-21",
        end="2026-11-22 12:00",
        x_range=(0.125, 3500.5),
        y_range=(-1.0, 30.0),
        color_by="result",
        cmap="fire",
        norm="log",
        envelope=True,
        reference="LEJ-L1-261123-000039",
    )
    query = state.to_query()
    assert query["x"] == "0.125,3500.5" and query["plant"] == "Leipzig,Győr"
    again = ExplorerState()
    again.from_query(query)
    names = [p for p in state.param if p != "name"]
    assert {n: getattr(again, n) for n in names} == {n: getattr(state, n) for n in names}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"x": "1,a"}, "x must be two numbers"),
        ({"y": "5,1"}, "y must have low < high"),
        ({"cmap": "rainbow"}, "cmap must be one of"),
        ({"norm": "sqrt"}, "norm must be one of"),
    ],
)
def test_a_bad_url_is_refused_whole(query, message):
    state = ExplorerState()
    with pytest.raises(FilterError, match=message):
        state.from_query({"station": "S9", **query})
    assert state.station == []  # all or nothing


def test_reset_view_fits_again():
    state = ExplorerState(x_range=(0.0, 1.0), y_range=(0.0, 2.0))
    state.reset_view()
    assert state.x_range is None and state.y_range is None
    assert "x" not in state.to_query()


def test_live_is_a_window_ending_now_that_sets_from_and_until_aside():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 5, 9, 41, 7, 654_000, tzinfo=UTC)
    state = ExplorerState(
        clock=lambda: now, process="press-fit", start="2026-01-01", end="2026-02-01"
    )
    state.live = "15m"
    assert state.curve_filter() == CurveFilter.of(process="press-fit", start="2026-12-05T09:26:07Z")
    state.live = "1h"
    assert state.curve_filter().start == CurveFilter.of(start="2026-12-05T08:41:07Z").start
    state.live = "shift"  # the default shifts start at 06:00, 14:00 and 22:00 UTC
    assert state.curve_filter().start.hour == 6 and state.curve_filter().end is None
    assert state.to_query()["live"] == "shift"
    again = ExplorerState()
    again.from_query(state.to_query())
    assert again.live == "shift"
    with pytest.raises(FilterError, match="live must be one of"):
        ExplorerState().from_query({"live": "5m"})


def test_every_colour_choice_is_one_the_pipelines_draw_and_round_trips():
    """Plant and line are colour choices (issue 20: plants compared on one raster), and the
    verdict (issue 19); each one is a column the pipelines split by, or the verdicts, and
    travels through the URL."""
    from app.explorer.state import COLOR_BY
    from pipelines.views import BY_VERDICT, COLOR_COLUMNS

    assert {"plant", "line", BY_VERDICT} <= set(COLOR_BY)
    for choice in filter(None, COLOR_BY):
        assert choice in (*COLOR_COLUMNS, BY_VERDICT)
        state = ExplorerState(color_by=choice)
        assert state.view(40, 20).color_by == choice
        again = ExplorerState()
        again.from_query(state.to_query())
        assert again.color_by == choice
    with pytest.raises(FilterError, match="color_by must be one of"):
        ExplorerState().from_query({"color_by": "part_serial"})


def test_side_by_side_is_a_flag_in_the_url():
    state = ExplorerState(color_by="plant", side_by_side=True)
    assert state.to_query() == {"color_by": "plant", "side_by_side": "1"}
    again = ExplorerState()
    again.from_query(state.to_query())
    assert again.side_by_side and again.color_by == "plant"
    again.from_query({"side_by_side": "0"})
    assert not again.side_by_side
