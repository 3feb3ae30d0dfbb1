"""plants.json: every demo plant has a time zone, the default shifts are the demo's own, and a
broken file is refused naming the entry and the field."""

import json
from datetime import UTC, datetime, timedelta
from importlib import resources

import pandas as pd
import pytest

from models.plants import PlantDataError, load_plants
from models.times import relative_window
from pipelines.synthetic.plant import LINES, shift_of


def packaged():
    return json.loads((resources.files("models") / "plants.json").read_text(encoding="utf-8"))


def written(tmp_path, raw):
    path = tmp_path / "plants.json"
    path.write_text(json.dumps(raw))
    return path


def test_the_packaged_file_loads_and_knows_every_demo_plant(tmp_path):
    book = load_plants()
    assert load_plants(written(tmp_path, packaged())) == book
    demo = {station.plant for line in LINES for station in line}
    assert demo == set(book.by_key)
    assert book.zone("Leipzig") == "Europe/Berlin"
    assert book.zone("Győr") == "Europe/Budapest"
    assert book.zone("Greenville") == "America/New_York"
    assert book.zone("Atlantis") is None


def test_the_default_shifts_are_the_ones_the_demo_labels_curves_by():
    shifts = load_plants().shifts_of(None)
    assert load_plants().shifts_of("Leipzig") == shifts == load_plants().shifts_of("Atlantis")
    moment = datetime(2026, 11, 16, tzinfo=UTC)
    for _ in range(48):  # every half hour of two days
        start, _end = relative_window(
            "shift", now=moment, zone="UTC", shift_starts=shifts.clock, shift_zone=shifts.zone
        )
        name = next(n for n, c in shifts.clock.items() if c == start.astimezone(UTC).time())
        letter, hours_in = shift_of(pd.Timestamp(moment))
        assert name == letter
        assert (moment - start).total_seconds() == pytest.approx(hours_in * 3600)
        moment += timedelta(minutes=30)


def test_a_plant_may_keep_shifts_of_its_own(tmp_path):
    raw = packaged()
    raw["plants"][0]["shifts"] = {"zone": "Europe/Berlin", "starts": {"early": "05:30"}}
    book = load_plants(written(tmp_path, raw))
    assert book.shifts_of("Leipzig").clock["early"].hour == 5
    assert book.shifts_of("Győr") == book.shifts


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda r: r["plants"][1].update(zone="Europe/Gyor"),
            "plants[1] 'Győr' zone: 'Europe/Gyor' is not a time zone",
        ),
        (
            lambda r: r["shifts"]["starts"].update(B="2pm"),
            "shifts starts: shift 'B' starts at '2pm', not at HH:MM.",
        ),
        (
            lambda r: r["shifts"]["starts"].update(B="06:00"),
            "two shifts start at the same time",
        ),
        (lambda r: r["plants"].append(dict(r["plants"][0])), "two plants share a key"),
        (lambda r: r["plants"][2].update(tz="UTC"), "plants[2] 'Greenville' tz is not a field"),
    ],
)
def test_a_broken_file_is_refused_naming_where(tmp_path, mutate, message):
    raw = packaged()
    mutate(raw)
    with pytest.raises(PlantDataError) as refused:
        load_plants(written(tmp_path, raw))
    assert str(refused.value).startswith("plants.json: ")
    assert message in str(refused.value)
