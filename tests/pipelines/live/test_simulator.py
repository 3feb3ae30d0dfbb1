"""The demo plant on the line: takt, stations, messages the listener accepts, restarts."""

from __future__ import annotations

import orjson
import pandas as pd
import pytest

from pipelines.live.payload import parse_message
from pipelines.live.simulator import (
    EPOCH,
    STATIONS,
    PlantSimulator,
    parse_rate,
    pick_stations,
)

NOW = pd.Timestamp("2026-12-05 10:00", tz="UTC").value
S = 1_000_000_000


@pytest.mark.parametrize(("text", "per_second"), [("5/s", 5.0), ("300/min", 5.0), ("36/h", 0.01)])
def test_rates_read_as_people_write_them(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["fast", "5", "0/s", "-1/s", "5/day"])
def test_a_rate_that_is_not_one_says_what_one_looks_like(text):
    with pytest.raises(ValueError, match=r"looks like 5/s, 300/min"):
        parse_rate(text)


def test_stations_are_chosen_by_their_short_or_full_name():
    every = pick_stations(None)
    assert len(every) == len(STATIONS)
    st010 = pick_stations(["ST010"])
    assert {STATIONS[i].station for i in st010} == {"ST010"} and len(st010) == len(STATIONS) // 3
    (one,) = pick_stations(["LEJ-L1-ST020"])
    assert (STATIONS[one].code, STATIONS[one].line, STATIONS[one].station) == ("LEJ", "L1", "ST020")
    with pytest.raises(ValueError, match=r"no station 'ST999'; the plant has .*ST010"):
        pick_stations(["ST999"])


def published(simulator: PlantSimulator, seconds: int, start: int = NOW) -> list:
    simulator.start(start)
    return [d for t in range(seconds + 1) for d in simulator.due(start + t * S)]


def test_the_plant_publishes_at_its_rate_in_time_order_messages_the_listener_accepts():
    sent = published(PlantSimulator(rate=5.0, stations=pick_stations(None), project="demo"), 120)
    assert 5.0 * 120 * 0.9 <= len(sent) <= 5.0 * 120 * 1.1
    times = [d.at_ns for d in sent]
    assert times == sorted(times) and times[0] >= NOW and times[-1] <= NOW + 120 * S
    parsed = [parse_message(d.payload, max_bytes=16 << 20) for d in sent[:30]]
    assert all(not p.refusals and len(p.curves) == 1 for p in parsed)
    bodies = [orjson.loads(d.payload) for d in sent]
    assert {b["process"] for b in bodies} == {"press-fit", "screwdriving", "spot-weld"}
    assert len({b["curve_key"] for b in bodies}) == len(bodies)
    ends = [pd.Timestamp(b["ended_at"]).value for b in bodies]
    assert ends == [d.at_ns for d in sent]  # due the moment the part is made


def test_chosen_stations_get_the_whole_rate():
    chosen = pick_stations(["ST010"])
    sent = published(PlantSimulator(rate=2.0, stations=chosen, project="demo"), 120)
    assert 2.0 * 120 * 0.9 <= len(sent) <= 2.0 * 120 * 1.1
    assert {orjson.loads(d.payload)["station"].rsplit("-", 1)[1] for d in sent} == {"ST010"}


def test_a_restart_continues_the_same_timeline_with_the_same_keys_and_samples():
    first = published(PlantSimulator(rate=5.0, stations=pick_stations(None), project="d"), 60)
    later = published(
        PlantSimulator(rate=5.0, stations=pick_stations(None), project="d"), 30, NOW + 30 * S
    )
    again = {d.curve_key: d.payload for d in first if d.at_ns >= NOW + 30 * S}
    overlap = {d.curve_key: d.payload for d in later if d.at_ns <= NOW + 60 * S}
    assert overlap and overlap == {k: again[k] for k in overlap}


def test_the_slow_drift_of_the_demo_plant_happens_on_the_line_too():
    """A station whose sensor drifts over a shift rejects its parts ("drift") late in it."""
    from pipelines.synthetic.generator import _drift_episode, _hour_key

    shift_ns = 8 * 3600 * S
    first = (EPOCH.value // shift_ns + 1) * shift_ns + 6 * 3600 * S  # 06:00 or 14:00 or 22:00
    drifting = next(
        (start, i)
        for start in range(first, first + 400 * shift_ns, shift_ns)
        for i in range(len(STATIONS))
        if _drift_episode(7, i, _hour_key(start))
    )
    start, station = drifting
    sim = PlantSimulator(rate=0.5, stations=(station,), project="demo")
    late = start + 7 * 3600 * S  # seven hours into the drifting shift
    defects = {orjson.loads(d.payload)["defect"] for d in published(sim, 120, late)}
    assert "drift" in defects
