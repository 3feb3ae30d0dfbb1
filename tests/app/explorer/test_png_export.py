"""The explorer's "Export view (PNG)" against a real engine: a report figure at the size chosen
beside the button, with the view's exact counts on the figure's grid, the overlays in its
legend and the filter, time window and project in its caption."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import pipelines.report_png as figures
from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.explorer import CurveExplorer
from pipelines.curves import Curves
from pipelines.report_png import PRESETS
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from pipelines.views import CurveFilter

pytestmark = pytest.mark.integration


@pytest.fixture
def demo(engine, store):
    batches = list(generate_demo(DemoSpec(curves=90, seed=4)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    return engine.client, store.database, meta


@pytest.fixture
def captured(monkeypatch):
    """What the explorer hands the report figure, and the counts its redraw drew."""
    seen = {}
    real = figures.report_png

    def spy(image, **options):
        redraw = options["redraw"]

        def recorded(width, height):
            seen["image"] = redraw(width, height)
            return seen["image"]

        seen["options"] = options
        return real(image, **{**options, "redraw": recorded})

    monkeypatch.setattr(figures, "report_png", spy)
    return seen


def opened(demo, **query) -> CurveExplorer:
    factory, database, _ = demo
    explorer = CurveExplorer(client_factory=factory, database=database, query=query or None)
    explorer.wait()
    return explorer


def test_the_export_is_a_report_figure_with_the_view_and_its_overlays(demo, captured):
    factory, database, meta = demo
    explorer = opened(demo, start="2026-11-16T00:00Z", end="2026-11-30T00:00Z")
    process = explorer.state.process
    chosen = meta[meta.process == process]
    program = chosen.program.value_counts().idxmax()
    serial = chosen[chosen.program == program].part_serial.iloc[0]
    explorer.state.param.update(
        program=[program], envelope=True, reference=serial, zone="Europe/Berlin"
    )
    explorer.wait()
    explorer.select_box((0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1))
    explorer.wait()
    assert explorer.plot.highlighted and explorer.plot.reference_lines
    assert explorer.plot.png_size.value == "slide"  # the default beside the button
    assert "A4 landscape, 300 dpi" in explorer.plot.png_size.options

    data = explorer.plot.to_png("screen")

    size = PRESETS["screen"].size
    with Image.open(io.BytesIO(data)) as png:
        assert png.size == (size.width, size.height)
        assert [round(d) for d in png.info["dpi"]] == [size.dpi, size.dpi]
        caption = png.info["Description"]
    assert f"Project demo · process {process} · program {program}" in caption
    assert "Curves started from 2026-11-16 01:00 until 2026-11-30 01:00 (Europe/Berlin)" in caption
    assert f"{explorer.plot.image.curves:,} curves drawn" in caption
    assert "(Europe/Berlin) with Curvehouse." in caption  # made on the page's clocks too
    options = captured["options"]
    assert options["envelope"].label.startswith("Median of ")
    assert [s.label for s in options["lines"]] == [
        f"Reference part {serial}",
        f"Selected parts: the newest {len(explorer.plot.highlighted)}",
    ]
    # The counts in the figure are the view's exact distinct-curve counts on its own grid,
    # not the screen's picture stretched.
    drawn = captured["image"]
    assert drawn.counts.shape != (PLOT_HEIGHT, PLOT_WIDTH)
    assert drawn.view.x_range == explorer.plot.image.view.x_range
    where = CurveFilter.of(
        project="demo",
        process=process,
        program=program,
        start="2026-11-16T00:00Z",
        end="2026-11-30T00:00Z",
    )
    expected = Curves(factory(), database, where).density(drawn.view)
    np.testing.assert_array_equal(drawn.counts, expected.counts)


def test_the_size_choice_names_the_file_and_counts_only_stays_available(demo, captured):
    explorer = opened(demo, color_by="station")
    explorer.plot.png_size.value = "a4-width"
    assert explorer.plot.snapshot.filename == "curvehouse-view-a4-width.png"
    data = explorer.plot.to_png()
    with Image.open(io.BytesIO(data)) as png:
        assert png.size == (PRESETS["a4-width"].size.width, PRESETS["a4-width"].size.height)
        assert "Colours mix each station's curves" in png.info["Description"]
    assert captured["options"]["color_by"] == "station"
    bare = explorer.plot.to_png("counts")
    with Image.open(io.BytesIO(bare)) as png:
        assert png.size == (PLOT_WIDTH, PLOT_HEIGHT)
