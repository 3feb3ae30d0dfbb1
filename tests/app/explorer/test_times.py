"""From and Until: typed on a plant's clocks or UTC, read strictly (``11.12.2026`` refused next
to its field, never applied), stored unambiguously, and quick windows against a fixed now."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from app.explorer.controls import ExplorerControls
from app.explorer.state import ExplorerState
from pipelines.views import FilterError

ACCEPTED = "Type dates as YYYY-MM-DD HH:MM, e.g. 2026-12-11 06:00"
NOW = datetime(2026, 12, 11, 9, 30, tzinfo=UTC)


def stamp(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize("typed", ["11.12.2026", "19.11.2026", "12/11/2026"])
def test_the_state_refuses_a_date_that_is_not_iso(typed):
    state = ExplorerState(end="2026-12-01")
    with pytest.raises(FilterError) as refused:
        state.enter_time("end", typed)
    assert str(refused.value).startswith(f"Until: {typed!r} ")
    assert ACCEPTED in str(refused.value)
    assert state.end == "2026-12-01"  # nothing applied
    # A link carrying it is refused when it is read, naming the parameter.
    with pytest.raises(FilterError, match=rf"end: '{typed}' .* {ACCEPTED}"):
        ExplorerState(end=typed).curve_filter()


def test_the_state_accepts_iso_and_reads_it_in_utc_by_default():
    state = ExplorerState()
    state.enter_time("start", "2026-12-11 06:00")
    state.enter_time("end", "2026-12-11T08:00+01:00")
    assert state.to_query() == {"start": "2026-12-11 06:00", "end": "2026-12-11T08:00+01:00"}
    window = state.curve_filter()
    assert (window.start, window.end) == (stamp("2026-12-11 06:00"), stamp("2026-12-11 07:00"))
    state.enter_time("start", "  ")
    assert state.start == "" and state.curve_filter().start is None


def test_one_plant_in_the_filter_shows_its_local_time():
    state = ExplorerState(start="2026-12-11T05:00Z")
    assert state.display_zone() == "UTC" and state.shown_time("start") == "2026-12-11 05:00"
    state.plant = ["Leipzig"]
    assert state.display_zone() == "Europe/Berlin"
    assert state.shown_time("start") == "2026-12-11 06:00"
    # Typed on Leipzig's clocks, stored in UTC: the link means the same moment anywhere.
    state.enter_time("end", "2026-12-11 14:00")
    assert state.end == "2026-12-11T13:00Z"
    assert state.curve_filter().end == stamp("2026-12-11 13:00")
    state.plant = ["Greenville"]
    assert state.shown_time("end") == "2026-12-11 08:00"
    state.plant = ["Leipzig", "Győr"]  # not one plant: UTC
    assert state.display_zone() == "UTC"
    state.plant = ["Nowhere"]  # a plant plants.json does not know: UTC
    assert state.display_zone() == "UTC"


def test_a_chosen_zone_wins_and_utc_stays_available():
    state = ExplorerState(plant=["Leipzig"], zone="UTC", start="2026-12-11T05:00Z")
    assert state.shown_time("start") == "2026-12-11 05:00"
    state.zone = "America/New_York"
    assert state.shown_time("start") == "2026-12-11 00:00"
    state.enter_time("start", "2026-12-11 01:00")
    assert state.start == "2026-12-11T06:00Z"
    assert state.to_query()["zone"] == "America/New_York"


def test_typing_across_dst_on_the_plant_s_clocks():
    state = ExplorerState(plant=["Leipzig"])
    with pytest.raises(FilterError, match="does not exist in Europe/Berlin"):
        state.enter_time("start", "2026-03-29 02:30")
    with pytest.raises(FilterError, match="happens twice in Europe/Berlin"):
        state.enter_time("start", "2026-10-25 02:30")
    assert state.start == ""
    state.enter_time("start", "2026-10-25 02:30+01:00")
    assert state.curve_filter().start == stamp("2026-10-25 01:30")
    assert state.shown_time("start") == "2026-10-25 02:30+01:00"  # the second 02:30, said so
    state.enter_time("end", "2026-10-25 03:00")
    assert state.end == "2026-10-25T02:00Z"


def test_the_zone_round_trips_through_the_url_and_a_bad_one_is_refused():
    state = ExplorerState(plant=["Győr"], zone="Europe/Budapest", start="2026-12-11T05:00Z")
    again = ExplorerState()
    again.from_query(state.to_query())
    assert (again.zone, again.start) == ("Europe/Budapest", "2026-12-11T05:00Z")
    assert "zone" not in ExplorerState().to_query()  # the plant's own clocks: the default
    with pytest.raises(FilterError, match="zone: 'Mars/Olympus' is not a time zone"):
        again.from_query({"zone": "Mars/Olympus", "station": "S1"})
    assert again.station == []


def test_quick_windows_against_a_fixed_now():
    state = ExplorerState(clock=lambda: NOW)
    state.apply_window("last-8h")
    assert (state.start, state.end) == ("2026-12-11T01:30Z", "2026-12-11T09:30Z")
    state.apply_window("yesterday")
    assert (state.start, state.end) == ("2026-12-10T00:00Z", "2026-12-11T00:00Z")
    # The demo's shifts (06-14, 14-22, 22-06, kept in UTC as the demo labels its curves).
    state.apply_window("shift")
    assert (state.start, state.end) == ("2026-12-11T06:00Z", "2026-12-11T14:00Z")
    # Yesterday on Leipzig's clocks; the link keeps the resolved times.
    state.plant = ["Leipzig"]
    state.apply_window("yesterday")
    assert (state.start, state.end) == ("2026-12-09T23:00Z", "2026-12-10T23:00Z")
    assert state.shown_time("start") == "2026-12-10 00:00"
    again = ExplorerState()
    again.from_query(state.to_query())
    assert again.curve_filter() == state.curve_filter()
    with pytest.raises(FilterError, match="no time window 'tomorrow'"):
        state.apply_window("tomorrow")


def test_yesterday_across_the_fall_back_night_has_25_hours():
    state = ExplorerState(clock=lambda: datetime(2026, 10, 26, 8, tzinfo=UTC), plant=["Leipzig"])
    state.apply_window("yesterday")
    window = state.curve_filter()
    assert (window.start, window.end) == (stamp("2026-10-24 22:00"), stamp("2026-10-25 23:00"))


def controls(**params) -> ExplorerControls:
    state = ExplorerState(clock=lambda: NOW, **params)
    return ExplorerControls(state, pd.DataFrame(columns=["project", "process", "curves"]))


def test_the_page_says_a_refusal_next_to_the_field_and_applies_nothing():
    page = controls(end="2026-12-01")
    page.end.value = "11.12.2026"
    assert page.state.end == "2026-12-01"
    alert = page.time_errors["end"]
    assert alert.visible and "ambiguous" in alert.object and "YYYY" in alert.object
    assert page.end.value == "11.12.2026"  # left as typed, to be corrected
    page.end.value = "2026-12-11"
    assert page.state.end == "2026-12-11" and not alert.visible


def test_the_fields_are_labelled_with_their_zone_and_follow_it():
    page = controls(start="2026-12-11T05:00Z")
    assert (page.start.name, page.start.value) == ("From (UTC)", "2026-12-11 05:00")
    assert page.end.name == "Until (UTC)"
    page.state.plant = ["Leipzig"]
    assert (page.start.name, page.start.value) == ("From (Europe/Berlin)", "2026-12-11 06:00")
    page.start.value = "2026-12-11 07:00"
    assert page.state.start == "2026-12-11T06:00Z"
    page.zone.value = "UTC"
    assert (page.start.name, page.start.value) == ("From (UTC)", "2026-12-11 06:00")
    assert set(page.zone.options.values()) >= {
        "plant",
        "UTC",
        "Europe/Berlin",
        "Europe/Budapest",
        "America/New_York",
    }


def test_quick_window_buttons_fill_the_fields():
    page = controls(plant=["Leipzig"])
    page.windows["shift"].clicks += 1
    assert (page.state.start, page.state.end) == ("2026-12-11T06:00Z", "2026-12-11T14:00Z")
    assert (page.start.value, page.end.value) == ("2026-12-11 07:00", "2026-12-11 15:00")
    page.clear_filters()
    assert (page.start.value, page.end.value) == ("", "")


def test_a_plant_from_a_link_is_an_option_before_the_curves_are_counted():
    """The browser drops a picker's value that is not among its options, and the filter with
    it: ``?plant=Leipzig`` showed every plant, in UTC."""
    page = controls()
    page.state.from_query({"plant": "Leipzig", "station": "LEJ-L1-ST010"})
    assert "Leipzig" in page.filters["plant"].options.values()
    assert "LEJ-L1-ST010" in page.filters["station"].options.values()
    assert page.start.name == "From (Europe/Berlin)"


def test_a_link_s_unreadable_date_is_said_next_to_its_field():
    page = controls()
    page.state.from_query({"end": "11.12.2026"})
    assert page.end.value == "11.12.2026"
    assert page.time_errors["end"].visible and "ambiguous" in page.time_errors["end"].object
    with pytest.raises(FilterError, match=r"end: '11\.12\.2026' is ambiguous"):
        page.state.curve_filter()  # and the render says so above the plot


def test_empty_date_fields_show_the_form_to_type_not_a_date_that_looks_typed():
    page = controls()
    for field in (page.start, page.end):
        assert field.value == ""
        assert field.placeholder == "YYYY-MM-DD HH:MM"
        assert not any(ch.isdigit() for ch in field.placeholder)
        assert "empty for no" in field.description
