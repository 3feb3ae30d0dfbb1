"""Drift at the stations: on made-up parts where the answer is known, and on the demo plant,
whose drift episodes must be found at their station and before their parts are rejected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.drifts import station_drifts
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

# Logic above the engine's reading: the node runs the reading and SQL tests elsewhere.
pytestmark = pytest.mark.embedded_only


def parts(values_by_program: dict[str, np.ndarray], station: str = "ST1") -> pd.DataFrame:
    """A station making programs in turn, one part a minute, with the given areas."""
    rows = []
    n = len(next(iter(values_by_program.values())))
    start = pd.Timestamp("2026-12-01 06:00")
    for i in range(n):
        for j, (program, values) in enumerate(values_by_program.items()):
            rows.append(
                (len(rows), station, program, start + pd.Timedelta(minutes=2 * i + j), values[i])
            )
    return pd.DataFrame(rows, columns=["curve_id", "station", "program", "started_at", "area"])


def test_a_sensor_offset_on_every_program_is_one_drift_found_where_it_began():
    rng = np.random.default_rng(2)
    a, b = rng.normal(100, 1, 120), rng.normal(40, 0.2, 120)
    a[80:] += 2.0  # 2 σ of program A, and of program B (its σ is 0.2): the sensor moved
    b[80:] += 0.4
    made = parts({"A": a, "B": b})
    # Against the parts before the offset; measured against all of them (a third drifted),
    # the parts before look low, and that too is an alarm.
    (alert,) = station_drifts(made, baseline=(made["started_at"].min(), "2026-12-01 08:40"))
    assert len(station_drifts(made)) > 1
    assert alert.station == "ST1" and alert.direction == "up"
    first_moved = pd.Timestamp("2026-12-01 06:00", tz="UTC") + pd.Timedelta(minutes=160)
    assert first_moved - pd.Timedelta(minutes=10) <= alert.since <= first_moved
    assert first_moved <= alert.alarm <= first_moved + pd.Timedelta(minutes=20)
    assert alert.shift_sigma == pytest.approx(2.0, abs=0.5)
    assert alert.words("Europe/Berlin").startswith(
        "ST1 area drifting up since 2026-12-01 09:"
    )  # CET


def test_one_odd_part_or_a_short_history_raises_no_alarm_and_bad_input_is_refused():
    rng = np.random.default_rng(4)
    a = rng.normal(100, 1, 100)
    a[50] += 30  # a malformed part: clipped, so it cannot alarm alone
    assert station_drifts(parts({"A": a})) == []
    short = np.r_[np.full(10, 100.0), np.full(9, 110.0)]
    assert station_drifts(parts({"A": short})) == []  # 19 parts: no history to judge by
    with pytest.raises(ValueError, match="features lack peak_y"):
        station_drifts(parts({"A": a}), "peak_y")


@pytest.mark.integration
def test_the_demo_plants_drift_is_found_at_its_station_before_its_parts_fail(store):
    store.write(generate_demo(DemoSpec(curves=10_000)), DatasetSpec("demo", "demo", "d"))
    features = Curves(store.client, store.database).features(
        ("station", "program", "started_at", "defect")
    )
    alerts = station_drifts(features)
    started = pd.to_datetime(features["started_at"]).dt.tz_localize("UTC")
    drifted = features.assign(started=started, shift=started.dt.floor("8h"))
    rejected = drifted[drifted["defect"] == "drift"].groupby(["station", "shift"])["started"].min()
    assert len(rejected) >= 20  # the demo has its drift episodes
    found = set()
    for (station, shift), first_rejected in rejected.items():
        during = [
            a
            for a in alerts
            if a.station == station and a.since < shift + pd.Timedelta(hours=8) and a.until >= shift
        ]
        assert during, f"the drift at {station} in the shift of {shift} was not found"
        assert min(a.alarm for a in during) < first_rejected, (station, shift)
        found |= {id(a) for a in during}
    station_shifts = drifted.groupby(["station", "shift"]).ngroups
    elsewhere = [a for a in alerts if id(a) not in found]
    assert len(elsewhere) <= 0.1 * (station_shifts - len(rejected)), len(elsewhere)
