"""A part's curves and key values, read through ``Curves.part``, against numpy by hand."""

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.ingest import ingest_file
from pipelines.parts import KEY_COLUMNS, Part, work_unit

pytestmark = pytest.mark.integration

# (curve, serial, station, result, started_at, [(x, y), ...]): part P-1 passes two stations and
# fails the second; P-10 (whose serial contains P-1) and a serial-less curve are other parts.
CURVES = [
    ("c1", "P-1", "ST010", "OK", "2026-11-16T06:00:00Z", [(0, 0), (0.5, 2.5), (1, 4), (2, 3.5)]),
    ("c2", "P-1", "ST020", "NOK", "2026-11-16T06:01:00Z", [(0, 1), (3, 7.25), (4, 7.25), (5, 2)]),
    ("c3", "P-10", "ST010", "OK", "2026-11-16T06:02:00Z", [(0, 9), (1, 9)]),
    ("c4", "", "ST010", "OK", "2026-11-16T06:03:00Z", [(0, 1), (1, 1)]),
]


@pytest.fixture
def stored(store, tmp_path):
    lines = ["curve_key,x,y,part_serial,station,result,started_at,x_unit,y_unit,x_name,y_name"]
    for key, serial, station, result, started, samples in CURVES:
        lines += [
            f"{key},{x},{y},{serial},{station},{result},{started},mm,kN,stroke,force"
            for x, y in samples
        ]
    path = tmp_path / "parts.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest_file(store, path, project="line7")
    return store


def expected(samples) -> dict[str, float]:
    """The key values of one curve, by hand."""
    x, y = np.array(samples, dtype=float).T
    top = int(np.argmax(y))
    work = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    return {
        "peak_x": x[top],
        "peak_y": y[top],
        "final_x": x[-1],
        "final_y": y[-1],
        "work": work,
    }


def test_a_part_is_its_serials_curves_with_key_values(stored):
    part = Curves(stored.client, stored.database, projects=("line7",)).part("P-1")
    assert part.found and part.serial == "P-1"
    frame = part.curves
    assert frame["curve_key"].tolist() == ["c1", "c2"]  # oldest first; not P-10's curve
    assert frame["station"].tolist() == ["ST010", "ST020"]
    assert frame["result"].astype(str).tolist() == ["OK", "NOK"]
    assert part.result == "NOK"
    for row, (*_, samples) in zip(frame.itertuples(), CURVES[:2], strict=True):
        by_hand = expected(samples)
        for column in KEY_COLUMNS:
            np.testing.assert_allclose(getattr(row, column), by_hand[column], rtol=1e-9)
    # The flat top of c2 (7.25 at x=3 and x=4): the peak is where it was first reached.
    assert frame.loc[1, "peak_x"] == pytest.approx(3.0)
    assert (frame["x_unit"].tolist(), frame["y_unit"].tolist()) == (["mm"] * 2, ["kN"] * 2)
    assert work_unit("mm", "kN") == "kN·mm" and work_unit("", "kN") == ""


def test_key_values_match_numpy_on_demo_curves(store, demo_batches):
    from pipelines.store import DatasetSpec

    store.write(demo_batches, DatasetSpec(project="demo", kind="demo", name="d"))
    curves = Curves(store.client, store.database, projects=("demo",))
    serial = demo_batches[0].meta["part_serial"].iloc[0]
    part = curves.part(serial)
    samples = curves.filter(serial=serial).samples()
    assert len(part.curves) == len(samples) > 1
    for i, row in samples.meta.reset_index(drop=True).iterrows():
        s, e = samples.offsets[i], samples.offsets[i + 1]
        by_hand = expected(np.column_stack([samples.x[s:e], samples.y[s:e]]))
        mine = part.curves.set_index("curve_id").loc[row["curve_id"]]
        for column in KEY_COLUMNS:
            np.testing.assert_allclose(mine[column], by_hand[column], rtol=1e-6, atol=1e-9)


def test_an_unknown_serial_is_an_empty_part(stored):
    curves = Curves(stored.client, stored.database, projects=("line7",))
    for serial in ("P-404", "", "p-1"):  # exact: neither a prefix nor another case
        part = curves.part(serial)
        assert not part.found and part.result == "UNKNOWN"
        assert set(KEY_COLUMNS) <= set(part.curves.columns)


def test_a_part_outside_the_readers_projects_is_not_read(stored):
    assert not Curves(stored.client, stored.database, projects=("other",)).part("P-1").found
    assert Curves(stored.client, stored.database).part("P-1").found  # the operator


def test_a_part_result_needs_every_station_ok():
    def part(*results):
        return Part("S", pd.DataFrame({"result": list(results)}))

    assert part("OK", "OK").result == "OK"
    assert part("OK", "NOK").result == "NOK"
    assert part("OK", "UNKNOWN").result == "UNKNOWN"
