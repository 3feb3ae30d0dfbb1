"""The report-ready PNG: the asked size and resolution, counts drawn at whole pixels (a known
count is read back from the PNG), the caption and legend passed to the figure, and sizes
refused past the limits."""

import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pipelines.drawing import DensityImage
from pipelines.report_png import (
    PRESETS,
    Envelope,
    LineSet,
    PngSize,
    ReportSizeError,
    caption_lines,
    colormap,
    count_norm,
    figure,
    png_bytes,
    report_png,
    shade,
)
from pipelines.views import CurveFilter, View

VIEW = View(x_range=(0.0, 10.0), y_range=(0.0, 50.0), width=96, height=48)
KNOWN = 7  # the count of one isolated pixel, read back from the PNG


def image_of(counts: np.ndarray, **fields) -> DensityImage:
    return DensityImage(
        counts=counts,
        view=VIEW,
        curves=int(counts.max()) if counts.size else 0,
        x_label="displacement (mm)",
        y_label="force (kN)",
        **fields,
    )


def known_counts(width: int, height: int) -> np.ndarray:
    """Counts 1..40 along a diagonal stripe, the rest empty, and one pixel of :data:`KNOWN`
    away from everything else."""
    counts = np.zeros((height, width), dtype=np.uint32)
    rows = np.arange(height)
    counts[rows, (rows * (width - 1)) // max(height - 1, 1)] = 1 + rows % 40
    counts[height // 4, (3 * width) // 4] = KNOWN
    return counts


def decoded(data: bytes) -> np.ndarray:
    """The PNG's RGBA pixels, row 0 at the bottom (as counts are)."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))[::-1]


@pytest.mark.parametrize("norm", ["linear", "log", "eq_hist"])
def test_counts_keep_their_exact_colour_at_whole_pixels(norm):
    drawn = {}

    def redraw(width, height):
        drawn["counts"] = known_counts(width, height)
        return image_of(drawn["counts"])

    size = PngSize(1200, 700, 200)  # two PNG pixels a count
    fig = figure(image_of(known_counts(96, 48)), size=size, redraw=redraw, norm=norm, cmap="fire")
    data = png_bytes(fig)
    counts = drawn["counts"]
    assert counts.shape[1] > 400  # the grid fills the plot area, not the screen's size
    (placed,) = fig.images
    x0, y0, cell = placed.ox, placed.oy, size.cell
    assert cell == 2
    pixels = decoded(data)[y0 : y0 + counts.shape[0] * cell, x0 : x0 + counts.shape[1] * cell]
    expected = shade(counts, colormap("fire"), count_norm(counts, norm))
    expected = np.repeat(np.repeat(expected, cell, axis=0), cell, axis=1)
    drawn_pixels = expected[..., 3] > 0
    np.testing.assert_array_equal(pixels[drawn_pixels], expected[drawn_pixels])
    # The isolated pixel reads back as its count: its colour is that count's and no other's,
    # a whole cell of it and not a pixel more.
    row, col = np.argwhere(counts == KNOWN)[0]
    lookup = {
        tuple(shade(np.array([[v]]), colormap("fire"), count_norm(counts, norm))[0, 0]): v
        for v in range(1, int(counts.max()) + 1)
    }
    block = pixels[row * cell : (row + 1) * cell, col * cell : (col + 1) * cell]
    assert {lookup.get(tuple(p)) for p in block.reshape(-1, 4)} == {KNOWN}
    around = pixels[(row - 1) * cell : (row + 2) * cell, (col - 1) * cell : (col + 2) * cell]
    same = (around == block[0, 0]).all(axis=-1)
    assert same.sum() == cell * cell


def test_without_redraw_the_image_is_drawn_at_whole_pixels():
    counts = known_counts(96, 48)
    fig = figure(image_of(counts), size=PngSize(800, 500, 100))
    (placed,) = fig.images
    block = placed.get_array()
    scale = block.shape[0] // counts.shape[0]
    assert scale >= 2 and block.shape[:2] == (48 * scale, 96 * scale)
    pixels = decoded(png_bytes(fig))
    row, col = np.argwhere(counts == KNOWN)[0]
    y, x = placed.oy + row * scale, placed.ox + col * scale
    norm = count_norm(counts, "eq_hist")
    expected = shade(np.array([[KNOWN]]), colormap("Blues"), norm)[0, 0]
    assert (pixels[y : y + scale, x : x + scale] == expected).all()


@pytest.mark.parametrize("key", ["slide", "a4-width"])
def test_the_png_has_the_asked_size_and_resolution(key):
    size = PRESETS[key].size
    data = report_png(
        image_of(known_counts(96, 48)),
        size=size,
        redraw=lambda w, h: image_of(known_counts(w, h)),
        title="press-fit",
    )
    with Image.open(io.BytesIO(data)) as png:
        assert png.size == (size.width, size.height)
        assert [round(d) for d in png.info["dpi"]] == [size.dpi, size.dpi]
        assert png.info["Title"] == "press-fit"


def test_the_caption_axes_and_colour_bar_are_in_the_figure():
    where = CurveFilter.of(
        project="demo",
        process="press-fit",
        station=["ST010", "ST020"],
        start="2026-11-20T05:00Z",
        end="2026-11-21T05:00Z",
    )
    made = datetime(2026, 12, 4, 16, 40, tzinfo=UTC)
    caption = caption_lines(where, project="demo", zone="Europe/Berlin", made=made, curves=1234)
    assert caption[0] == "Project demo · process press-fit · station ST010, ST020"
    assert caption[1] == (
        "Curves started from 2026-11-20 06:00 until 2026-11-21 06:00 (Europe/Berlin)"
    )
    assert caption[-1] == "Made 2026-12-04 17:40 (Europe/Berlin) with Curvehouse."
    fig = figure(
        image_of(known_counts(96, 48)), size=PRESETS["screen"].size, caption=caption, norm="log"
    )
    texts = "\n".join(t.get_text() for t in fig.texts)
    for line in caption:
        assert " ".join(line.split()) in " ".join(texts.split())  # wrapped, every word there
    plot = fig.axes[0]
    assert plot.get_xlabel() == "displacement (mm)" and plot.get_ylabel() == "force (kN)"
    bar = fig.axes[-1]
    assert bar.get_ylabel() == "curves per pixel (log scale)"
    ticks = [t.get_text() for t in bar.get_yticklabels()]
    assert ticks[-1] == "40" and ticks[0] == "1"


def test_the_legend_names_categories_and_overlays():
    counts = np.zeros((48, 96, 2), dtype=np.uint32)
    counts[10, :, 0] = 3
    counts[30, :, 1] = 1
    image = image_of(counts, categories=["NOK", "OK"], category_curves={"NOK": 1, "OK": 3})
    band = pd.DataFrame(
        {"x": np.linspace(0, 10, 20), "curves": 4}
        | {p: np.linspace(0, 40, 20) + k for k, p in enumerate(["p05", "p25", "p50", "p75", "p95"])}
    )
    x = np.linspace(0, 10, 50)
    fig = figure(
        image,
        size=PRESETS["screen"].size,
        color_by="result",
        envelope=Envelope(band, "Median of 4 curves (P1)"),
        lines=[
            LineSet("Reference part A-1", "#111111", [(x, x * 2)], 3.0),
            LineSet("Selected parts: the newest 2", "#ff7f0e", [(x, x), (x, x + 1)]),
        ],
    )
    (legend,) = fig.legends
    assert legend.get_title().get_text() == "result"
    assert [t.get_text() for t in legend.get_texts()] == [
        "NOK (1)",
        "OK (3)",
        "Median of 4 curves (P1)",
        "25–75 % band",
        "5–95 % band",
        "Reference part A-1",
        "Selected parts: the newest 2",
    ]
    over = fig.axes[1]
    assert len(over.lines) == 5 + 1 + 2  # envelope lines, reference, selected parts
    assert len(fig.axes) == 2  # categories have their legend, not a colour bar


@pytest.mark.parametrize(
    ("width", "height", "dpi"),
    [(50_000, 1000, 150), (4000, 4000, 150), (100, 80, 150), (1920, 1080, 1200), (1920, 1080, 10)],
)
def test_sizes_past_the_limits_are_refused(width, height, dpi):
    with pytest.raises(ReportSizeError):
        PngSize(width, height, dpi)


def test_presets_are_within_the_limits():
    for preset in PRESETS.values():
        assert PngSize(preset.size.width, preset.size.height, preset.size.dpi) == preset.size
    assert PRESETS["a4"].size.width == 3508 and PRESETS["a4"].size.dpi == 300


@pytest.mark.parametrize("norm", ["linear", "log", "eq_hist"])
@pytest.mark.parametrize("fill", [0, 1, 5])
def test_an_empty_or_flat_view_still_draws(norm, fill):
    counts = np.full((48, 96), fill, dtype=np.uint32)
    scale = count_norm(counts, norm)
    if fill:
        assert float(scale(float(fill))) == 1.0  # the one count drawn in the top colour
    data = report_png(image_of(counts), size=PRESETS["screen"].size, norm=norm)
    with Image.open(io.BytesIO(data)) as png:
        assert png.size == (1280, 720)
