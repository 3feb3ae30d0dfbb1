"""Density views from the engine equal the kernel on the full, unreduced curves."""

import numpy as np
import pandas as pd
import pytest

from pipelines.batch import TEXT_COLUMNS, CurveBatch
from pipelines.curves import Curves
from pipelines.density import curve_density, curves_through
from pipelines.fetch import (
    IN_PROCESS_REDUCE_FROM,
    answer_sizes,
    drawable_sets,
    drawing_plan,
    fetch,
    fetch_drawable,
    fetch_samples,
    fit,
    runs_in_process,
    select,
)
from pipelines.hot import HotCache
from pipelines.schema import STORED_ORDER
from pipelines.sources import EngineSamples, MemorySamples
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from tests.pipelines.density_reference import reference_density

pytestmark = pytest.mark.integration


def density_image(client, database, where, view, **engine):
    """The view drawn from the engine's answers (``engine``: :class:`EngineSamples` knobs)."""
    return Curves(client, database, where, source=EngineSamples(**engine)).density(view)


@pytest.fixture
def demo_store(store):
    batches = list(generate_demo(DemoSpec(curves=90, seed=9)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    return store, batches


def full_curves(batches, keep):
    """Every sample of the curves whose metadata passes ``keep``, in engineering units."""
    curves = []
    for batch in batches:
        for i, row in batch.meta.iterrows():
            if keep(row):
                s, e = batch.offsets[i], batch.offsets[i + 1]
                curves.append((batch.x[s:e] * row.x_step, batch.y[s:e] * row.y_step))
    return curves


def expected(curves, view):
    x = np.concatenate([c[0] for c in curves])
    y = np.concatenate([c[1] for c in curves])
    offsets = np.concatenate([[0], np.cumsum([len(c[0]) for c in curves])])
    return curve_density(
        x,
        y,
        offsets,
        x_range=view.x_range,
        y_range=view.y_range,
        width=view.width,
        height=view.height,
    )


def test_overview_fits_the_selected_curves(demo_store):
    store, batches = demo_store
    where = CurveFilter.of(process="press-fit")
    image = density_image(store.client, store.database, where, View(width=200, height=100))
    curves = full_curves(batches, lambda r: r.process == "press-fit")
    assert image.curves == len(curves)
    assert image.view.x_range[0] < min(c[0].min() for c in curves)
    assert image.view.x_range[1] > max(c[0].max() for c in curves)
    np.testing.assert_array_equal(image.counts, expected(curves, image.view))
    assert image.x_label == "displacement (mm)" and image.y_label == "force (kN)"


@pytest.mark.parametrize(
    ("x_range", "y_range"),
    [((9.0, 11.0), (5.0, 25.0)), ((11.9, 12.3), (0.0, 40.0)), ((-1.0, 0.5), (-1.0, 2.0))],
)
def test_zoomed_views_are_exact_although_trimmed(demo_store, x_range, y_range):
    store, batches = demo_store
    where = CurveFilter.of(process="press-fit")
    view = View(x_range=x_range, y_range=y_range, width=120, height=80)
    fetched = fetch(store.client, store.database, where, view)
    curves = full_curves(batches, lambda r: r.process == "press-fit")
    assert np.isfinite(fetched.x).sum() < sum(len(c[0]) for c in curves)  # it did trim
    image = density_image(store.client, store.database, where, view)
    np.testing.assert_array_equal(image.counts, expected(curves, view))
    ranges = dict(x_range=x_range, y_range=y_range, width=120, height=80)
    np.testing.assert_array_equal(image.counts, reference_density(curves, **ranges))


def test_filters_and_colour_by_split_the_counts(demo_store):
    store, batches = demo_store
    view = View(x_range=(0.0, 3500.0), y_range=(0.0, 30.0), width=100, height=60, color_by="result")
    where = CurveFilter.of(process="screwdriving")
    image = density_image(store.client, store.database, where, view)
    results = sorted(
        {r for b in batches for r in b.meta.loc[b.meta.process == "screwdriving", "result"]}
    )
    assert image.categories == results
    for k, result in enumerate(image.categories):
        curves = full_curves(
            batches, lambda r, res=result: r.process == "screwdriving" and r.result == res
        )
        np.testing.assert_array_equal(image.counts[:, :, k], expected(curves, view))


def test_an_empty_selection_is_an_empty_image(demo_store):
    store, _ = demo_store
    image = density_image(
        store.client, store.database, CurveFilter.of(station="nowhere"), View(width=30, height=20)
    )
    assert image.curves == 0 and image.counts.shape == (20, 30) and image.counts.sum() == 0
    assert fit(store.client, store.database, CurveFilter.of(station="nowhere"), View()).x_range


def test_chunked_drawing_adds_up_to_the_same_image(demo_store):
    store, _ = demo_store
    view = View(x_range=(0.0, 300.0), y_range=(0.0, 15.0), width=90, height=50, color_by="line")
    where = CurveFilter.of(process="spot-weld")
    whole = density_image(store.client, store.database, where, view)
    chunked = density_image(store.client, store.database, where, view, chunk_samples=20_000)
    assert chunked.categories == whole.categories
    np.testing.assert_array_equal(chunked.counts, whole.counts)
    assert chunked.samples == whole.samples


def test_colour_by_with_whole_and_trimmed_curves_in_one_view(demo_store):
    store, batches = demo_store
    # Wide enough to hold the short weld programme whole, narrow enough to trim the long one.
    view = View(x_range=(0.0, 280.0), y_range=(0.0, 15.0), width=70, height=40, color_by="program")
    where = CurveFilter.of(process="spot-weld")
    image = density_image(store.client, store.database, where, view)
    assert image.categories == ["SW-1.5mm-DP600", "SW-2.0mm-DP800"]
    for k, program in enumerate(image.categories):
        curves = full_curves(batches, lambda r, p=program: r.program == p)
        np.testing.assert_array_equal(image.counts[:, :, k], expected(curves, view))


def test_colour_by_an_empty_selection(demo_store):
    store, _ = demo_store
    view = View(x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=10, height=10, color_by="result")
    image = density_image(store.client, store.database, CurveFilter.of(station="none"), view)
    assert image.categories == [] and image.counts.shape == (10, 10, 0)


def adversarial_batch(x_step: float = 1.0, y_step: float = 1.0) -> CurveBatch:
    """Integer codes; at step 1, views with integer bounds put samples exactly on pixel
    edges, at other steps values carry float64 rounding. Noisy curves with many samples per
    column, hysteresis loops, steps and spikes, constants, two-point curves and curves far
    outside."""
    rng = np.random.default_rng(3)
    curves = []
    for _ in range(12):  # noisy, dense: tens of samples per column
        n = int(rng.integers(400, 3000))
        x = np.sort(rng.integers(-50, 250, n))
        curves.append((x, np.cumsum(rng.integers(-3, 4, n))))
    for _ in range(6):  # hysteresis: x goes out and back
        t = np.linspace(0, 4 * np.pi, int(rng.integers(300, 1500)))
        curves.append((np.rint(100 + 120 * np.sin(t)), np.rint(40 * np.cos(1.3 * t))))
    curves.append((np.arange(0, 200), np.where(np.arange(200) % 50 < 25, -30, 30)))  # steps
    spike = np.zeros(400, dtype=np.int64)
    spike[::37] = 500
    curves.append((np.arange(-100, 300), spike))
    curves.append((np.arange(0, 200), np.full(200, 10)))  # constant, on a pixel edge
    curves.append((np.array([0, 200]), np.array([-40, 40])))  # two points
    curves.append((np.arange(5000, 5100), np.arange(100)))  # far outside
    offsets = np.concatenate([[0], np.cumsum([len(c[0]) for c in curves])])
    meta = pd.DataFrame(
        {
            "curve_key": [f"a{i}" for i in range(len(curves))],
            **{c: "" for c in TEXT_COLUMNS},
            "started_at": pd.Timestamp("2026-11-20", tz="UTC"),
            "ended_at": pd.Timestamp("2026-11-20", tz="UTC"),
            "result": "OK",
            "x_step": x_step,
            "y_step": y_step,
        }
    )
    x = np.concatenate([c[0] for c in curves]).astype(np.int32)
    y = np.concatenate([c[1] for c in curves]).astype(np.int32)
    return CurveBatch(meta, offsets, x, y)


@pytest.fixture(params=[(1.0, 1.0), (0.1, 0.25)], ids=["unit-steps", "decimal-steps"])
def adversarial_store(store, request):
    batch = adversarial_batch(*request.param)
    store.write([batch], DatasetSpec(project="adv", kind="demo", name="a"))
    return store, batch


def test_engine_reduction_draws_the_same_pixels(adversarial_store, request):
    """Many random views, some with integer bounds (samples on pixel edges), some narrow
    (zooms), some off to one side: the reduced answer draws exactly what whole curves draw."""
    store, batch = adversarial_store
    where = CurveFilter.of(project="adv")
    whole = full_curves([batch], lambda r: True)
    meta = select(
        store.client, store.database, where, View(x_range=(-1e9, 1e9), y_range=(-1e9, 1e9))
    )
    rng = np.random.default_rng(11)
    kinds_used = set()
    # Half the views on the node: the same SQL, a second engine to answer it.
    for trial in range(30 if "node" in request.node.callspec.id else 60):
        view = random_view(rng, batch, on_codes=bool(trial % 2))
        xr, yr = view.x_range, view.y_range
        drawable = fetch_drawable(store.client, store.database, meta, view)
        masks, _ = drawing_plan(meta, view)
        kinds_used |= {kind for kind, mask in masks.items() if mask.any()}
        got = curve_density(
            drawable.x,
            drawable.y,
            drawable.offsets,
            x_range=xr,
            y_range=yr,
            width=view.width,
            height=view.height,
        )
        np.testing.assert_array_equal(got, expected(whole, view), err_msg=str(view))
    assert kinds_used == {"whole", "trimmed", "reduced"}


def random_view(rng, batch: CurveBatch, *, on_codes: bool) -> View:
    """A view over the adversarial curves: with ``on_codes``, bounds are sample values (code
    times step), so samples fall exactly on pixel edges; otherwise anywhere. Some are narrow
    zooms, some off to one side."""
    xs, ys = float(batch.meta["x_step"].iloc[0]), float(batch.meta["y_step"].iloc[0])
    if on_codes:
        x0, y0 = int(rng.integers(-60, 240)), int(rng.integers(-60, 40))
        xr = (x0 * xs, (x0 + int(rng.integers(1, 300))) * xs)
        yr = (y0 * ys, (y0 + int(rng.integers(1, 120))) * ys)
    else:
        x0, y0 = rng.uniform(-80, 260), rng.uniform(-80, 60)
        xr = (x0 * xs, (x0 + rng.uniform(0.5, 320)) * xs)
        yr = (y0 * ys, (y0 + rng.uniform(0.5, 150)) * ys)
    return View(
        x_range=xr,
        y_range=yr,
        width=int(rng.choice([7, 10, 32, 50, 100, 300])),
        height=int(rng.integers(5, 60)),
    )


@pytest.mark.parametrize("shift", [0, 40_000], ids=["codes-fit-int16", "codes-beyond-int16"])
def test_drawing_answers_travel_as_int16_where_every_code_fits(store, shift):
    """The engine's drawing answers come as int16 when the curves' stored extents show every
    code fits (half the bytes to move), else as stored; the pixels are the same either way."""
    batch = adversarial_batch()
    batch = CurveBatch(batch.meta, batch.offsets, batch.x, batch.y + np.int32(shift))
    store.write([batch], DatasetSpec(project="adv", kind="demo", name="a"))
    where = CurveFilter.of(project="adv")
    whole = full_curves([batch], lambda r: True)
    rng = np.random.default_rng(17)
    dtypes = set()
    for trial in range(16):
        view = random_view(rng, batch, on_codes=bool(trial % 2))
        view = View(
            x_range=view.x_range,
            y_range=(view.y_range[0] + shift, view.y_range[1] + shift),
            width=view.width,
            height=view.height,
        )
        meta = select(store.client, store.database, where, view)
        answers = drawable_sets(
            store.client, store.database, meta, view, in_process=runs_in_process(store.client)
        )
        dtypes |= {(c.x.dtype, c.y.dtype) for c in answers if c.x_step is not None}
        image = density_image(store.client, store.database, where, view)
        np.testing.assert_array_equal(image.counts, expected(whole, view), err_msg=str(view))
    codes = np.dtype(np.int32 if shift else np.int16)
    assert dtypes == {(codes, codes)}


def answered_and_sized(store, meta, view) -> tuple[int, int]:
    """Samples the curves' drawing answers hold, and what :func:`answer_sizes` expected."""
    local = runs_in_process(store.client)
    sizes = pd.Series(answer_sizes(meta, view, in_process=local), index=meta["curve_id"].to_numpy())
    answered = expected = 0
    for curves in drawable_sets(store.client, store.database, meta, view, in_process=local):
        answered += len(curves.x)
        expected += sizes.loc[curves.meta["curve_id"].to_numpy()].sum()
    return answered, expected


def test_answer_sizes_say_about_what_the_curves_answer(demo_store):
    """The engine path budgets its chunks by what curves answer: whole, trimmed to the view or
    reduced to four samples per pixel column; not by what they store."""
    store, _ = demo_store
    where = CurveFilter.of(project="demo")
    overview = fit(store.client, store.database, where, View(width=40, height=20))
    (x0, x1), y_range = overview.x_range, overview.y_range
    views = {
        "reduced": overview,
        "trimmed": View(x_range=(x0 + 0.3 * (x1 - x0), x0 + 0.4 * (x1 - x0)), y_range=y_range),
        "whole": View(width=4000, height=20, x_range=(x0, x1), y_range=y_range),
    }
    for name, view in views.items():
        meta = select(store.client, store.database, where, view)
        answered, expected = answered_and_sized(store, meta, view)
        assert 0.8 * expected <= answered <= expected * 1.01, name
        if name != "whole":
            assert expected < meta["point_count"].sum() / 4, name


def test_an_engine_in_this_process_sends_more_curves_whole(demo_store, request):
    """In-process answers cost no transport, so the plan trims a curve only when the view keeps
    under a quarter of it, and reduces only from 32 samples per pixel column; the pictures
    stay exact whichever plan the client gets."""
    store, batches = demo_store
    assert runs_in_process(store.client) == ("embedded" in request.node.callspec.id)
    where = CurveFilter.of(process="spot-weld")
    overview = fit(store.client, store.database, where, View(width=300, height=100))
    (x0, x1), y_range = overview.x_range, overview.y_range
    views = {
        "overview": overview,
        "zoom 2x": View(x_range=(x0 + 0.25 * (x1 - x0), x1 - 0.25 * (x1 - x0)), y_range=y_range),
        "zoom 10x": View(x_range=(x0 + 0.45 * (x1 - x0), x0 + 0.55 * (x1 - x0)), y_range=y_range),
    }
    curves = full_curves(batches, lambda r: r.process == "spot-weld")
    for name, view in views.items():
        meta = select(store.client, store.database, where, view)
        remote, _ = drawing_plan(meta, view)
        local, _ = drawing_plan(meta, view, in_process=True)
        assert local["whole"].sum() >= remote["whole"].sum(), name
        if name == "zoom 2x":  # keeps half of each curve: whole, not trimmed
            assert remote["trimmed"].any() and not local["trimmed"].any()
        if name == "zoom 10x":  # keeps a tenth: trimmed either way
            assert local["trimmed"].sum() == remote["trimmed"].sum() > 0
        image = density_image(store.client, store.database, where, view)
        np.testing.assert_array_equal(image.counts, expected(curves, image.view), err_msg=name)
    meta = select(store.client, store.database, where, overview)
    density = meta["point_count"] / ((meta["x_max"] - meta["x_min"]) * 300 / (x1 - x0))
    local, _ = drawing_plan(meta, overview, in_process=True)
    assert (local["reduced"] == (density >= IN_PROCESS_REDUCE_FROM).to_numpy()).all()


@pytest.mark.parametrize("held", [False, True], ids=["engine", "memory"])
def test_picks_on_reduced_answers_match_whole_curves(adversarial_store, held):
    """Picking fetches only a box's neighbourhood (``x_keep``), reduced, or reads the filter's
    samples held in memory: the curves it finds are exactly those whose whole polyline draws a
    pixel in the box."""
    store, batch = adversarial_store
    source = MemorySamples(HotCache(1 << 30)) if held else EngineSamples()
    curves = Curves(store.client, store.database, source=source)
    where = CurveFilter.of(project="adv")
    whole = full_curves([batch], lambda r: True)
    keys = batch.meta["curve_key"].tolist()
    rng = np.random.default_rng(5)
    for trial in range(25):
        view = random_view(rng, batch, on_codes=bool(trial % 2))
        c0 = int(rng.integers(0, view.width))
        r0 = int(rng.integers(0, view.height))
        box = (c0, min(c0 + int(rng.integers(0, 4)), view.width - 1), r0, r0)
        found = curves.matching(where).pick(view, box, limit=100)
        ranges = dict(
            x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height
        )
        expected_keys = sorted(
            key
            for key, (x, y) in zip(keys, whole, strict=True)
            if curves_through(x, y, np.array([0, len(x)]), box=box, **ranges).any()
        )
        assert sorted(found.curves["curve_key"]) == expected_keys, (view, box)


def test_reduced_answers_scale_with_pixel_columns_not_samples(adversarial_store):
    store, batch = adversarial_store
    xs, ys = float(batch.meta["x_step"].iloc[0]), float(batch.meta["y_step"].iloc[0])
    view = View(
        x_range=(-60.0 * xs, 260.0 * xs), y_range=(-100.0 * ys, 100.0 * ys), width=16, height=10
    )
    meta = select(store.client, store.database, CurveFilter.of(project="adv"), view)
    dense = meta[meta["curve_key"].isin([f"a{i}" for i in range(12)])]  # the noisy curves
    drawable = fetch_drawable(store.client, store.database, dense, view)
    assert drawing_plan(dense, view)[0]["reduced"].all()
    # At most four samples per column and curve, plus first and last of each side outside.
    assert len(drawable.x) <= len(dense) * (4 * view.width + 4)
    assert dense["point_count"].sum() > 10 * len(drawable.x)


def test_coded_samples_are_the_stored_codes_and_steps(demo_store):
    """``coded=True`` hands over each curve's codes and steps as stored; decoded, they are the
    float samples every other reader gets, bit for bit."""
    store, batches = demo_store
    meta = select(store.client, store.database, CurveFilter(), None, stored_order=True)
    coded = fetch_samples(store.client, store.database, meta, None, coded=True)
    values = fetch_samples(store.client, store.database, meta, None)
    assert coded.x.dtype == np.int32 and list(coded.meta["curve_id"]) == list(
        values.meta["curve_id"]
    )
    counts = np.diff(coded.offsets)
    np.testing.assert_array_equal(coded.x * np.repeat(coded.x_step, counts), values.x)
    np.testing.assert_array_equal(coded.y * np.repeat(coded.y_step, counts), values.y)
    keys = {k for b in batches for k in b.meta["curve_key"]}
    assert set(coded.meta["curve_key"]) == keys
    with pytest.raises(ValueError, match="whole"):
        fetch_samples(store.client, store.database, meta, View((0, 1), (0, 1)), coded=True)


def test_stored_order_lists_curves_as_their_samples_are_stored(demo_store):
    store, _ = demo_store
    meta = select(store.client, store.database, CurveFilter(), None, stored_order=True)
    stored = store.client.query(
        f"SELECT curve_id FROM {store.database}.curves ORDER BY {STORED_ORDER}"
    ).result_columns[0]
    assert list(meta["curve_id"]) == list(stored)
    assert list(meta["curve_id"]) != sorted(meta["curve_id"])  # not merely by id
