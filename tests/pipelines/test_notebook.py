"""The notebook entry point on a real engine: filter, arrays, pixels, a zoomable plot."""

import holoviews as hv
import numpy as np
import pytest

from models.settings import Settings
from pipelines.density import curve_density
from pipelines.notebook import Curves, open_curves
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter

# Logic above the engine's reading: the node runs the reading and SQL tests elsewhere.
pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]


@pytest.fixture
def curves(store):
    store.write(generate_demo(DemoSpec(curves=60, seed=4)), DatasetSpec("demo", "demo", "d"))
    return Curves(store.client, store.database, CurveFilter.of())


def test_open_curves_uses_the_settings(embedded_provider):
    settings = Settings.from_env().with_overrides(database="notebook_probe")
    opened = open_curves(settings, process="press-fit")
    try:
        assert opened.database == "notebook_probe" and opened.count() == 0
        assert opened.where.equals == {"process": ("press-fit",)}
    finally:
        opened.client.command("DROP DATABASE notebook_probe")
        opened.client.close()


def test_filtering_narrows_and_counts(curves):
    assert curves.count() == 60
    welds = curves.filter(process="spot-weld")
    assert welds.count() == 20
    nok = welds.filter(result=["NOK"])
    meta = nok.metadata()
    assert len(meta) == nok.count() and set(meta["result"]) <= {"NOK"}
    assert "fingerprint" not in meta.columns
    assert meta["started_at"].is_monotonic_decreasing
    assert curves.filter(serial="no-such-serial").count() == 0


def test_arrays_feed_the_kernel(curves):
    press = curves.filter(process="press-fit")
    s = press.samples()
    x, y, offsets = s.x, s.y, s.offsets
    assert sorted(s.meta["curve_key"]) == sorted(press.metadata()["curve_key"])
    assert len(offsets) == press.count() + 1 and offsets[-1] == len(x) == len(y)
    image = press.density(width=160, height=90)
    counts = curve_density(
        x,
        y,
        offsets,
        x_range=image.view.x_range,
        y_range=image.view.y_range,
        width=160,
        height=90,
    )
    np.testing.assert_array_equal(image.counts, counts)
    assert image.counts.max() <= press.count()


def test_plot_redraws_on_zoom(curves):
    plot = curves.filter(process="screwdriving").plot(width=200, height=120)
    hv.renderer("bokeh").get_plot(plot)  # the first, fitted render
    first = plot.last
    assert isinstance(first, hv.Image)
    plot.event(x_range=(1000.0, 1500.0), y_range=(0.0, 5.0))
    zoomed = plot.last
    assert zoomed.range(0) == pytest.approx((1000.0 + 1.25, 1500.0 - 1.25), abs=1.3)
    assert not np.array_equal(
        np.nan_to_num(first.data["curves"]), np.nan_to_num(zoomed.data["curves"])
    )


def test_colour_by_result_draws_rgb(curves):
    plot = curves.filter(process="spot-weld").plot(width=120, height=80, color_by="result")
    hv.renderer("bokeh").get_plot(plot)
    assert isinstance(plot.last, hv.RGB)


def test_filtering_the_same_field_twice_keeps_values_in_both(curves):
    two = curves.filter(process=["press-fit", "spot-weld"])
    assert two.count() == 40
    assert two.filter(process="spot-weld").count() == 20
    assert two.filter(process="screwdriving").count() == 0
