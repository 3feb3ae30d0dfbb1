"""Filters and views as SQL text and parameters, checked without a database."""

import pandas as pd
import pytest

from pipelines.views import CurveFilter, FilterError, View


def test_empty_filter_selects_everything():
    assert CurveFilter.of().where() == ("1", {})


def test_values_are_bound_never_written_into_the_sql():
    where = CurveFilter.of(
        station=["S1", "x'); DROP TABLE curves; --"],
        result="NOK",
        serial="LEJ'--",
        start="2026-11-16",
        end="2026-11-17T06:00:00+01:00",
    )
    sql, params = where.where("c")
    assert "DROP" not in sql and "LEJ" not in sql and "S1" not in sql
    assert sql == (
        "c.result IN {f0:Array(String)} AND c.station IN {f1:Array(String)} "
        "AND positionCaseInsensitive(c.part_serial, {serial:String}) > 0 "
        "AND c.started_at >= {start:DateTime64(3, 'UTC')} "
        "AND c.started_at < {end:DateTime64(3, 'UTC')}"
    )
    assert params["f1"] == ["S1", "x'); DROP TABLE curves; --"]
    assert params["serial"] == "LEJ'--"
    assert pd.Timestamp(params["end"]) == pd.Timestamp("2026-11-17 05:00:00", tz="UTC")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(colour="red"), "cannot filter on colour"),
        (dict(result="maybe"), "result must be OK, NOK or UNKNOWN"),
        (dict(start="yesterday-ish"), "start: 'yesterday-ish' is not a date"),
        (dict(start="2026-11-18", end="2026-11-17"), "must be before end"),
    ],
)
def test_bad_filters_name_the_field(kwargs, message):
    with pytest.raises(FilterError, match=message):
        CurveFilter.of(**kwargs)


@pytest.mark.parametrize("typed", ["11.12.2026", "19.11.2026", "12/11/2026", "Dec 11 2026"])
def test_a_time_window_is_read_strictly(typed):
    """Day- or month-first dates were guessed (``11.12.2026`` became 12 November): refused now,
    with the accepted form, as the API refuses them."""
    with pytest.raises(FilterError) as refused:
        CurveFilter.of(end=typed)
    assert str(refused.value).startswith(f"end: {typed!r} ")
    assert "Type dates as YYYY-MM-DD HH:MM, e.g. 2026-12-11 06:00" in str(refused.value)


def test_typed_times_are_taken_as_they_are():
    moment = pd.Timestamp("2026-12-11 06:00", tz="Europe/Berlin")
    assert CurveFilter.of(start=moment).start == pd.Timestamp("2026-12-11 05:00", tz="UTC")
    assert CurveFilter.of(start=moment.tz_localize(None)).start.hour == 6  # naive: UTC
    with pytest.raises(FilterError, match="start: 'soon' is not a date and time"):
        CurveFilter.of(start="soon")
    with pytest.raises(FilterError, match=r"end: .* must lie between the years 1900 and 2261"):
        CurveFilter.of(end="1899-12-31")


def test_a_hand_built_filter_is_checked_again():
    with pytest.raises(FilterError, match="cannot filter on part_serial"):
        CurveFilter(equals={"part_serial": ("x",)}).where()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(width=0), "canvas must be 1..8192"),
        (dict(x_range=(5.0, 5.0)), "x_range must be"),
        (dict(color_by="part_serial"), "cannot colour by 'part_serial'"),
    ],
)
def test_bad_views_are_refused(kwargs, message):
    with pytest.raises(FilterError, match=message):
        View(**kwargs)


def test_a_filter_narrows_another_when_its_curves_are_among_the_others():
    held = CurveFilter.of(project="p", process="press-fit")
    assert CurveFilter.of(project="p", process="press-fit", station="S1").narrows(held)
    assert CurveFilter.of(project="p", process="press-fit", start="2026-01-01").narrows(held)
    assert held.narrows(held)
    assert not CurveFilter.of(process="press-fit").narrows(held)  # any project
    assert not CurveFilter.of(project=["p", "q"], process="press-fit").narrows(held)
    assert not CurveFilter.of(project="p", process="press-fit", serial="A").narrows(held)
    windowed = CurveFilter.of(project="p", process="press-fit", start="2026-01-01")
    assert not windowed.narrows(windowed)  # a held time window is left to the engine
