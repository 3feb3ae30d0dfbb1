"""Density views from the engine equal the kernel on the full, untrimmed curves."""

import numpy as np
import pytest

from pipelines.density import curve_density
from pipelines.overlay import density_image, fetch, fit
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter, View
from tests.pipelines.density_reference import reference_density

pytestmark = pytest.mark.integration


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
