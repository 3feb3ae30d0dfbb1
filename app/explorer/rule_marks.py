"""The process's evaluation rules drawn over the raster (issue 19 §4): the strokes of
:func:`pipelines.rules.strokes.rule_strokes` as one segments glyph coloured by what each stroke
is, and each rule's name beside its first stroke. Two glyphs, however many rules: the plot's
build time does not grow with them."""

from __future__ import annotations

import holoviews as hv
import pandas as pd

from pipelines.rules.strokes import STROKE_COLUMNS

RulesData = hv.streams.Stream.define("RulesData", strokes=None)

# A window's free sides and envelopes in a dark neutral; where the curve must come in green,
# where it must go out orange, what it must not meet red, a threshold's span purple.
PART_COLORS = {
    "edge": "#37474f",
    "entry": "#2e7d32",
    "exit": "#ef6c00",
    "forbidden": "#c62828",
    "bound": "#6a1b9a",
    "threshold": "#6a1b9a",
}
PART_WIDTHS = {"edge": 1.5, "entry": 4.0, "exit": 4.0, "forbidden": 3.0, "bound": 2.0}
PART_WORDS = {
    "entry": "enter here",
    "exit": "leave here",
    "forbidden": "must not touch",
    "bound": "envelope",
    "threshold": "first crossing here",
}


def rule_marks(strokes: pd.DataFrame | None) -> hv.Overlay:
    """The strokes as segments, and the rules' names; empty (but in place) without rules."""
    if strokes is None or strokes.empty:
        strokes = pd.DataFrame(columns=list(STROKE_COLUMNS))
    data = strokes.assign(
        color=strokes["part"].map(PART_COLORS),
        width=strokes["part"].map(PART_WIDTHS).fillna(2.0),
        meaning=strokes["part"].map(PART_WORDS).fillna("side"),
    )
    segments = hv.Segments(
        data, kdims=["x0", "y0", "x1", "y1"], vdims=["color", "width", "rule", "meaning"]
    ).opts(color="color", line_width="width", apply_ranges=False, tools=[])
    first = data.drop_duplicates("rule")
    names = hv.Labels((first["x0"], first["y1"], first["rule"]), ["x", "y"], "rule").opts(
        text_color="#263238",
        text_font_size="11px",
        text_align="left",
        text_baseline="bottom",
        xoffset=0,
        apply_ranges=False,
    )
    return segments * names
