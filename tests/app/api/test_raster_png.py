"""The raster as a report-ready PNG through the real server: sized by a preset or by pixels
and dpi, captioned with the project and filter, and refused past the limits with a 422
naming the option. ``size=counts`` (or width and height alone) keeps the bare counts."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pipelines.report_png import PRESETS

pytestmark = pytest.mark.integration


def png_of(answer) -> Image.Image:
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(answer.content))


def refused(answer) -> str:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid"
    return answer.json()["error"]["message"]


@pytest.fixture(scope="module")
def base(world) -> str:
    return f"/api/projects/{world.project_a}/curves/raster"


def test_png_is_a_report_figure_by_default(world, base):
    with png_of(world.call("GET", f"{base}?format=png&station=S1")) as png:
        slide = PRESETS["slide"].size
        assert png.size == (slide.width, slide.height)
        assert [round(d) for d in png.info["dpi"]] == [slide.dpi, slide.dpi]
        assert "Project press-shop · station S1" in png.info["Description"]
        assert "Curves started at any time" in png.info["Description"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("size=a4-width", (2008, 1240, 300)),
        ("png_width=800&png_height=500&dpi=100", (800, 500, 100)),
        ("size=screen&dpi=200", (1280, 720, 200)),
    ],
)
def test_report_size_and_resolution_are_chosen(world, base, query, expected):
    with png_of(world.call("GET", f"{base}?format=png&color_by=result&{query}")) as png:
        assert (*png.size, round(png.info["dpi"][0])) == expected
        assert "Colours mix each result's curves" in png.info["Description"]


def test_the_bare_counts_stay_available(world, base):
    for query in ("size=counts&width=30&height=10", "width=30&height=10"):
        with png_of(world.call("GET", f"{base}?format=png&{query}")) as png:
            assert png.size == (30, 10)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("format=png&png_width=50000&png_height=1000", "png_width"),
        ("format=png&png_width=4000&png_height=4000", "at most 12,000,000 pixels"),
        ("format=png&png_width=100&png_height=100", "png_width"),
        ("format=png&dpi=1200", "dpi"),
        ("format=png&png_width=1000", "give both png_width and png_height"),
        ("format=png&size=slide&width=30", "width and height size the bare counts"),
        ("format=png&size=counts&dpi=300", "no png_width or dpi"),
        ("size=slide", "size shapes a PNG: add format=png"),
        ("format=png&size=poster", "size"),
    ],
)
def test_sizes_past_the_limits_are_refused(world, base, query, says):
    assert says in refused(world.call("GET", f"{base}?{query}"))
