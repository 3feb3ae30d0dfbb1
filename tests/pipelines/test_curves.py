"""The one reader of curves on a real engine: summaries, pages, choices, samples, and the
projects it may see."""

import numpy as np
import pandas as pd
import pytest

from pipelines.curves import Curves
from pipelines.hot import HotCache
from pipelines.sources import MemorySamples
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import NEWEST_COLUMNS, PICK_COLUMNS, CurveFilter, View

pytestmark = pytest.mark.integration


def test_an_empty_store_says_so(store):
    curves = Curves(store.client, store.database)
    assert curves.overview().empty
    assert curves.breakdown().empty
    assert curves.metadata(20, columns=NEWEST_COLUMNS).empty
    assert curves.bytes_per_point() is None
    assert curves.count() == 0 and curves.page(10, 0, ["curve_id"]).rows == []
    assert "fingerprint" not in curves.metadata().columns
    assert {"curve_id", "station", "started_at"} <= set(curves.metadata().columns)


def test_summaries_match_what_was_written(store, demo_batches):
    store.write(demo_batches, DatasetSpec(project="demo", kind="demo", name="d"))
    meta = pd.concat([b.meta for b in demo_batches])
    curves = Curves(store.client, store.database)
    overview = curves.overview()
    assert overview.curves == len(meta)
    assert overview.points == sum(b.point_count for b in demo_batches)
    assert overview.nok == int((meta["result"] == "NOK").sum())
    assert (overview.projects, overview.datasets) == (1, 1)
    # A part passes several stations: parts and rejected parts count serials, not curves.
    failed = meta.groupby("part_serial")["result"].apply(lambda r: (r == "NOK").any())
    assert overview.parts == len(failed) < overview.curves
    assert overview.rejected_parts == int(failed.sum())
    assert overview.first_pass_yield == 1 - int(failed.sum()) / len(failed)

    breakdown = curves.breakdown()
    assert breakdown["curves"].sum() == len(meta)
    assert (breakdown["ok"] + breakdown["nok"] == breakdown["curves"]).all()
    assert set(breakdown["station"]) == set(meta["station"])

    newest = curves.metadata(5, columns=NEWEST_COLUMNS)
    assert len(newest) == 5 and list(newest.columns) == list(NEWEST_COLUMNS)
    assert newest["started_at"].is_monotonic_decreasing
    assert newest["part_serial"].iloc[0] in set(meta["part_serial"])

    assert 0 < curves.bytes_per_point() < 8


def test_parts_are_serials_and_a_curve_without_one_is_its_own_part(store, tmp_path):
    from pipelines.ingest import ingest_file

    rows = [  # (curve, serial, result): part P1 fails one of two stations, P2 passes both
        ("c1", "P1", "OK"),
        ("c2", "P1", "NOK"),
        ("c3", "P2", "OK"),
        ("c4", "P2", "OK"),
        ("c5", "", "NOK"),
        ("c6", "", "OK"),
    ]
    path = tmp_path / "parts.csv"
    lines = ["curve_key,x,y,part_serial,result"]
    lines += [
        f"{key},{x},{x * 2},{serial},{result}" for key, serial, result in rows for x in (0, 1)
    ]
    path.write_text("\n".join(lines) + "\n")
    ingest_file(store, path, project="line7")
    overview = Curves(store.client, store.database).overview()
    assert (overview.curves, overview.nok) == (6, 2)
    assert (overview.parts, overview.rejected_parts) == (4, 2)  # P1, P2, c5, c6; P1 and c5
    assert overview.nok_rate == 2 / 6 and overview.first_pass_yield == 0.5
    # The same serial in another project is another part.
    path.write_text("curve_key,x,y,part_serial,result\nd1,0,1,P1,OK\nd1,1,2,P1,OK\n")
    ingest_file(store, path, project="line8")
    assert Curves(store.client, store.database).overview().parts == 5


def test_newest_samples_come_back_scaled(store, demo_batches):
    store.write(demo_batches, DatasetSpec(project="demo", kind="demo", name="d"))
    curves = Curves(store.client, store.database).filter(process="spot-weld").newest_samples(4)
    assert len(curves) == 4
    assert curves.offsets[-1] == len(curves.x) == len(curves.y)
    assert 5 < curves.y.max() < 20  # kA
    assert np.isfinite(curves.x).all()  # whole curves: nothing cut


@pytest.fixture
def two_projects(store):
    """The demo plant in project "a", and a second plant of other parts in project "b"."""
    store.write(generate_demo(DemoSpec(curves=60, seed=4)), DatasetSpec("a", "demo", "a"))
    other = list(generate_demo(DemoSpec(curves=30, seed=8)))
    for batch in other:
        batch.meta["curve_key"] = batch.meta["curve_key"] + "-b"
        batch.meta["station"] = "B-" + batch.meta["station"]
    store.write(other, DatasetSpec("b", "demo", "b"))
    return store


def test_a_project_outside_the_set_is_never_read(two_projects):
    store = two_projects
    everything = Curves(store.client, store.database)
    only_a = Curves(store.client, store.database, projects=("a",))
    assert (everything.count(), only_a.count()) == (90, 60)
    # Asking for project b, by filter or by curve, still reads nothing of it.
    assert only_a.filter(project="b").count() == 0
    assert only_a.matching(CurveFilter.of(project=["a", "b"])).count() == 60
    b_curve = int(everything.filter(project="b").metadata(1, columns=["curve_id"]).iloc[0, 0])
    assert len(only_a.curve(b_curve)) == 0 and len(everything.curve(b_curve)) == 1
    assert set(only_a.metadata(None)["project"]) == {"a"}
    assert only_a.page(500, 0, ["project"]).total == 60
    assert set(only_a.breakdown()["project"]) == {"a"}
    assert set(only_a.processes_by_project()["project"]) == {"a"}
    assert only_a.overview().curves == 60
    assert not any(s.startswith("B-") for s in only_a.choices()["station"])
    assert set(only_a.datasets()["project"]) == {"a"}
    assert set(only_a.newest_samples(500).meta["station"]) == set(only_a.metadata(None)["station"])
    view = View(width=40, height=20)
    for source in (only_a.source, MemorySamples(HotCache(1 << 30))):
        reader = Curves(store.client, store.database, projects=("a",), source=source)
        image = reader.density(view)
        assert image.curves == 60 and image.near == 60
        everywhere = (0, view.width - 1, 0, view.height - 1)
        assert reader.pick(image.view, everywhere, limit=1000).total == 60
    nobody = Curves(store.client, store.database, projects=())
    assert nobody.count() == 0 and nobody.datasets().empty and nobody.density(view).curves == 0


def test_a_page_is_the_newest_curves_with_the_total(two_projects):
    curves = Curves(two_projects.client, two_projects.database).filter(project="a")
    columns = ["curve_id", "part_serial", "started_at", "result"]
    newest = curves.metadata(None, columns=columns)
    first, second = curves.page(7, 0, columns), curves.page(7, 7, columns)
    assert first.total == second.total == 60
    assert [r["curve_id"] for r in first.rows + second.rows] == newest["curve_id"][:14].tolist()
    assert set(first.rows[0]) == set(columns)
    assert isinstance(first.rows[0]["curve_id"], int)  # plain values, ready for a response
    nok = curves.filter(result="NOK")
    assert nok.page(500, 0, columns).total == nok.count() == (newest["result"] == "NOK").sum()


def test_choices_are_the_values_among_the_selected_curves(two_projects):
    store = two_projects
    curves = Curves(store.client, store.database)
    welds = curves.filter(project="a", process="spot-weld")
    meta = welds.metadata(None)
    choices = welds.choices()
    assert set(choices) == {"plant", "line", "station", "program", "shift", "result"}
    assert choices["station"] == sorted(set(meta["station"]))
    assert choices["program"] == sorted(set(meta["program"]))
    assert "project" not in choices and "process" not in choices


def test_counts_follow_the_filters(two_projects):
    store = two_projects
    curves = Curves(store.client, store.database)
    meta = curves.metadata(None)
    assert curves.count() == len(meta) == 90
    for process in ("press-fit", "spot-weld"):
        chosen = curves.filter(process=process)
        assert chosen.count() == (meta["process"] == process).sum()
        nok = chosen.filter(result="NOK")
        assert nok.count() == ((meta["process"] == process) & (meta["result"] == "NOK")).sum()
    assert curves.filter(serial="no-such-serial").count() == 0


def test_samples_whole_or_for_a_range(two_projects):
    store = two_projects
    press = Curves(store.client, store.database).filter(project="a", process="press-fit")
    whole = press.samples()
    assert len(whole) == press.count() and np.isfinite(whole.x).all()
    assert sorted(whole.meta["curve_id"]) == sorted(press.metadata(None)["curve_id"])
    cut = press.samples(x_range=(5.0, 6.0))
    assert sorted(cut.meta["curve_id"]) == sorted(whole.meta["curve_id"])
    assert len(cut.x) < len(whole.x)  # trimmed to what the range needs
    assert np.nanmin(cut.x) < 5.0 + 0.1 and np.nanmax(cut.x) > 6.0 - 0.1
    one = int(whole.meta["curve_id"].iloc[0])
    single = press.curve(one)
    s, e = whole.offsets[0], whole.offsets[1]
    np.testing.assert_array_equal(single.x, whole.x[s:e])
    np.testing.assert_array_equal(single.y, whole.y[s:e])


def test_a_pick_lists_the_newest_curves_found(two_projects):
    store = two_projects
    press = Curves(store.client, store.database).filter(project="a", process="press-fit")
    image = press.density(View(width=60, height=30))
    found = press.pick(image.view, (0, 59, 0, 29), limit=4)
    assert found.total == press.count() and list(found.curves.columns) == list(PICK_COLUMNS)
    assert found.curves["curve_id"].tolist() == press.metadata(4)["curve_id"].tolist()
    lines = press.highlight(found.curves["curve_id"].tolist(), image.view)
    assert sorted(line.meta.curve_id for line in lines) == sorted(found.curves["curve_id"])
    serial = found.curves["part_serial"].iloc[0]
    reference = press.part_lines(serial, image.view)
    assert reference and {line.meta.part_serial for line in reference} == {serial}
    assert press.part_lines("NO-SUCH-PART", image.view) == []
