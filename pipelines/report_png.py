"""A report-ready PNG of a density view: named axes with units, the colour bar of curves per
pixel (or the categories' legend), what is drawn over the density, and a caption saying what
was drawn, from where, over which time and when, at a chosen size and resolution.

matplotlib draws it on its Agg canvas (a ``Figure`` of its own, never pyplot, so requests on
several threads share no state). The counts are never resampled: the plot area is laid out
first, the caller's ``redraw(width, height)`` draws the same view on exactly that grid, and
each count becomes a square of :attr:`PngSize.cell` PNG pixels placed with ``figimage`` at
whole-pixel offsets, so every pixel keeps the colour of its exact count. The frame sits just
outside the counts, and overlays are drawn on a transparent axes above them.

Limits: a PNG is at most :data:`MAX_SIDE` pixels a side and :data:`MAX_PIXELS` in all, and at
least :data:`MIN_WIDTH` x :data:`MIN_HEIGHT` (room for axes, colour bar and caption).
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import colorcet
import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colors as mcolors
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator

from models.times import local_text
from pipelines.drawing import DensityImage
from pipelines.render import category_colors, shaded_categories
from pipelines.views import FILTER_COLUMNS, CurveFilter

MIN_WIDTH, MIN_HEIGHT = 480, 320
MAX_SIDE = 4000  # px; an A4 page at 300 dpi is 3508 x 2480
MAX_PIXELS = 12_000_000
MIN_DPI, MAX_DPI = 72, 600
# What the PNG is made with, in its metadata and caption.
SOFTWARE = "Curvehouse"
# Overlays: as the explorer draws them (app/explorer/elements.py), a dark line over a white
# halo so it reads over any colour map.
ENVELOPE_COLOR, HALO = "#b0006e", "white"
ENVELOPE_MIN_SHARE = 0.05  # bins reached by fewer curves than this share are not drawn
LEGEND_CHARS = 34  # a legend entry wraps past this many characters
SCALES = {"linear": "linear scale", "log": "log scale", "eq_hist": "histogram-equalised"}


class ReportSizeError(ValueError):
    """A PNG size or resolution out of bounds; the message says the allowed ones."""


@dataclass(frozen=True)
class PngSize:
    """The PNG's width and height in pixels and its resolution in dots per inch. Text is set in
    points, so a higher ``dpi`` on the same pixels gives larger text; a count is a square of
    :attr:`cell` pixels (about a quarter of a millimetre printed)."""

    width: int
    height: int
    dpi: int = 150

    def __post_init__(self) -> None:
        for name in ("width", "height", "dpi"):
            if not isinstance(getattr(self, name), int | np.integer):
                raise ReportSizeError(f"{name} must be a whole number, not {getattr(self, name)!r}")
        if not (MIN_WIDTH <= self.width <= MAX_SIDE and MIN_HEIGHT <= self.height <= MAX_SIDE):
            raise ReportSizeError(
                f"a report PNG is {MIN_WIDTH}..{MAX_SIDE} px wide and {MIN_HEIGHT}..{MAX_SIDE} "
                f"px high, not {self.width} x {self.height}"
            )
        if self.width * self.height > MAX_PIXELS:
            raise ReportSizeError(
                f"a report PNG has at most {MAX_PIXELS:,} pixels, not "
                f"{self.width:,} x {self.height:,} = {self.width * self.height:,}"
            )
        if not MIN_DPI <= self.dpi <= MAX_DPI:
            raise ReportSizeError(f"dpi must be {MIN_DPI}..{MAX_DPI}, not {self.dpi}")

    @property
    def cell(self) -> int:
        """PNG pixels a side of one count: about 100 counts per inch, at least one pixel."""
        return max(1, self.dpi // 100)

    @property
    def font(self) -> float:
        """The base text size in points: larger on a larger page, 7.5 to 11."""
        return float(np.clip(self.width / self.dpi * 0.8, 7.5, 11.0))


@dataclass(frozen=True)
class Preset:
    label: str
    size: PngSize


PRESETS: dict[str, Preset] = {
    "slide": Preset("Slide, 1920 × 1080", PngSize(1920, 1080, 150)),
    "a4": Preset("A4 landscape, 300 dpi", PngSize(3508, 2480, 300)),
    "a4-width": Preset("A4 report figure, 300 dpi", PngSize(2008, 1240, 300)),
    "screen": Preset("Screen, 1280 × 720", PngSize(1280, 720, 100)),
}
DEFAULT_PRESET = "slide"


@dataclass(frozen=True)
class LineSet:
    """Curves drawn over the density (a reference part, the selected parts), one legend
    entry: their colour, width in points and label."""

    label: str
    color: str
    lines: Sequence[tuple[np.ndarray, np.ndarray]] = field(default_factory=tuple)
    width: float = 1.2


@dataclass(frozen=True)
class Envelope:
    """The percentile envelope drawn over the density: columns x, curves, p05 ... p95."""

    band: pd.DataFrame
    label: str  # the median's legend entry, e.g. "Median of 1,234 curves (P1)"


# --- what a view is, in words ----------------------------------------------------------------


def caption_lines(
    where: CurveFilter,
    *,
    project: str,
    zone: str,
    made: datetime,
    curves: int,
    color_by: str = "",
    norm: str = "eq_hist",
    notes: Sequence[str] = (),
) -> list[str]:
    """The caption: the filter, the time window on ``zone``'s clocks, what a pixel counts, and
    the project and when the PNG was made (also on ``zone``'s clocks)."""
    chosen = [f"Project {project or 'all projects'}"]
    for column in ("process", *(c for c in FILTER_COLUMNS if c not in ("project", "process"))):
        if where.equals.get(column):
            chosen.append(f"{column} {', '.join(where.equals[column])}")
    if where.serial:
        chosen.append(f"serial contains “{where.serial}”")
    if where.start is None and where.end is None:
        window = "Curves started at any time"
    else:
        start = local_text(where.start, zone) if where.start is not None else "the first curve"
        end = local_text(where.end, zone) if where.end is not None else "the last curve"
        window = f"Curves started from {start} until {end} ({zone})"
    noun = "curve" if curves == 1 else "curves"
    counted = (
        f"{curves:,} {noun} drawn; a pixel's value is the number of distinct curves through it"
    )
    if color_by:
        counted += (
            f". Colours mix each {color_by}'s curves through a pixel; opacity grows with all of "
            f"them ({SCALES.get(norm, norm)})"
        )
    return [
        " · ".join(chosen),
        window,
        counted + ".",
        *notes,
        f"Made {local_text(made.replace(microsecond=0), zone)} ({zone}) with {SOFTWARE}.",
    ]


def title_of(where: CurveFilter, image: DensityImage) -> str:
    """The figure's title: the process (when one is chosen) and the quantities drawn."""
    process = ", ".join(where.equals.get("process", ()))
    drawn = f"{image.y_label} over {image.x_label}"
    return f"{process}: {drawn}" if process else drawn


# --- colours --------------------------------------------------------------------------------


def colormap(name: str) -> mcolors.Colormap:
    """The explorer's colour maps by name: colorcet's (fire, kbc) or matplotlib's (Blues,
    viridis, gray), 256 colours as HoloViews gives them on screen."""
    if name in colorcet.palette:
        return mcolors.ListedColormap(colorcet.palette[name], name=name)
    try:
        return matplotlib.colormaps[name].resampled(256)
    except KeyError:
        raise ValueError(f"no colour map {name!r}") from None


def count_norm(counts: np.ndarray, how: str) -> mcolors.Normalize:
    """Counts 1..max onto 0..1 as ``how`` says: ``linear``, ``log`` or ``eq_hist`` (each count's
    share of the drawn pixels at or below it, so every colour covers about as many pixels).
    The image and the colour bar use the same norm, so they agree by construction."""
    drawn = counts[counts > 0]
    top = float(drawn.max()) if drawn.size else 1.0
    if top <= 1:
        return mcolors.Normalize(0.0, 1.0)
    if how == "linear":
        return mcolors.Normalize(1.0, top)
    if how == "log":
        return mcolors.LogNorm(1.0, top)
    if how != "eq_hist":
        raise ValueError(f"norm must be linear, log or eq_hist, not {how!r}")
    values, n = np.unique(drawn, return_counts=True)
    if values.size == 1:  # one count everywhere: the top colour
        return mcolors.Normalize(0.0, top)
    cdf = np.cumsum(n) / n.sum()
    levels = (cdf - cdf[0]) / (1 - cdf[0])
    values = values.astype(np.float64)

    def forward(v):
        return np.interp(v, values, levels)

    def inverse(p):
        return np.interp(p, levels, values)

    return mcolors.FuncNorm((forward, inverse), vmin=1.0, vmax=top)


def shade(counts: np.ndarray, cmap: mcolors.Colormap, norm: mcolors.Normalize) -> np.ndarray:
    """RGBA uint8 of 2-D counts (row 0 at the bottom): a count's colour from ``cmap`` at
    ``norm(count)``, empty pixels transparent."""
    rgba = cmap(np.clip(norm(counts.astype(np.float64)), 0.0, 1.0), bytes=True)
    rgba[counts == 0] = 0
    return rgba


def count_ticks(norm: mcolors.Normalize, how: str, counts: np.ndarray) -> list[float]:
    """Whole counts for the colour bar, the top one always labelled: evenly spaced (linear),
    1, 2, 5, 10 ... (log), or the counts' quantiles, which eq_hist spaces evenly."""
    top = round(norm.vmax)
    if top <= 2:
        return list(range(1, top + 1))
    if how == "eq_hist":
        drawn = counts[counts > 0]
        ticks = np.unique(np.quantile(drawn, np.linspace(0, 1, 7), method="lower"))
    elif how == "log":
        ticks = LogLocator(subs=(1.0, 2.0, 5.0)).tick_values(1, top)
    else:
        ticks = MaxNLocator(6, integer=True, steps=[1, 2, 5, 10]).tick_values(1, top)
    ticks = [int(t) for t in ticks if 1 <= t < top]
    # Leave room for the top's label: drop a tick closer to it than a twelfth of the bar.
    near = [t for t in ticks if norm(top) - norm(t) >= 1 / 12]
    return [*near, top]


# --- the figure -----------------------------------------------------------------------------


@dataclass
class _Box:
    """A rectangle in PNG pixels from the bottom left."""

    x0: float
    y0: float
    x1: float
    y1: float

    def fraction(self, width: int, height: int) -> list[float]:
        return [self.x0 / width, self.y0 / height, (self.x1 - self.x0) / width,
                (self.y1 - self.y0) / height]  # fmt: skip


def _extent(artist, renderer) -> tuple[float, float]:
    box = artist.get_window_extent(renderer)
    return box.width, box.height


def _legend_handles(
    image: DensityImage, envelope: Envelope | None, line_sets: Sequence[LineSet]
) -> tuple[list, list[str]]:
    handles, labels = [], []
    if image.categories:
        colors = category_colors(image.categories)
        for k in image.categories:
            handles.append(Patch(facecolor=colors[k], edgecolor="none"))
            labels.append(f"{k} ({image.category_curves.get(k, 0):,})")
    halo = [patheffects.withStroke(linewidth=4, foreground=HALO)]
    if envelope is not None:
        for label, dash, width in (
            (envelope.label, "-", 2.0),
            ("25–75 % band", "--", 1.4),
            ("5–95 % band", ":", 1.2),
        ):
            handles.append(
                Line2D([], [], color=ENVELOPE_COLOR, ls=dash, lw=width, path_effects=halo)
            )
            labels.append(label)
    for drawn in line_sets:
        handles.append(Line2D([], [], color=drawn.color, lw=max(drawn.width, 1.5)))
        labels.append(drawn.label)
    return handles, [textwrap.fill(label, LEGEND_CHARS) for label in labels]


def _draw_envelope(ax, envelope: Envelope) -> None:
    band = envelope.band
    data = band[band["curves"] >= ENVELOPE_MIN_SHARE * band["curves"].max()]
    x = data["x"].to_numpy()
    for lo, hi, alpha in (("p05", "p95", 0.10), ("p25", "p75", 0.14)):
        ax.fill_between(x, data[lo], data[hi], color=ENVELOPE_COLOR, alpha=alpha, lw=0)
    for level, width, dash in (
        ("p05", 1.0, ":"),
        ("p95", 1.0, ":"),
        ("p25", 1.2, "--"),
        ("p75", 1.2, "--"),
        ("p50", 2.0, "-"),
    ):
        ax.plot(
            x,
            data[level],
            color=ENVELOPE_COLOR,
            lw=width,
            ls=dash,
            path_effects=[patheffects.withStroke(linewidth=width + 2.5, foreground=HALO)],
        )


def figure(
    image: DensityImage,
    *,
    size: PngSize,
    redraw: Callable[[int, int], DensityImage] | None = None,
    cmap: str = "Blues",
    norm: str = "eq_hist",
    color_by: str = "",
    title: str = "",
    caption: Sequence[str] = (),
    envelope: Envelope | None = None,
    lines: Sequence[LineSet] = (),
) -> Figure:
    """The report figure of ``image`` (the view as drawn: its ranges, labels, categories).

    ``redraw(width, height)`` draws the same view on the plot area's grid of counts, so the
    counts fill it at :attr:`PngSize.cell` pixels each; without it, ``image`` itself is drawn
    at the largest whole number of pixels per count that fits, centred in the plot area.
    """
    fig = Figure(figsize=(size.width / size.dpi, size.height / size.dpi), dpi=size.dpi)
    fig.patch.set_facecolor("white")
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    W, H, font = size.width, size.height, size.font
    pt = size.dpi / 72  # pixels per point
    margin = 1.2 * font * pt
    gap = 0.8 * font * pt

    # Title at the top, caption at the bottom: their heights bound the plot.
    top = H - margin
    if title:
        shown = fig.text(margin / W, top / H, title, ha="left", va="top",
                         fontsize=font * 1.25, weight="bold")  # fmt: skip
        top -= _extent(shown, renderer)[1] + gap
    bottom = margin
    if caption:
        chars = max(40, int((W - 2 * margin) / (0.55 * 0.85 * font * pt)))
        wrapped = "\n".join(textwrap.fill(line, chars) for line in caption)
        shown = fig.text(margin / W, bottom / H, wrapped, ha="left", va="bottom",
                         fontsize=font * 0.85, color="#333333", linespacing=1.35)  # fmt: skip
        bottom += _extent(shown, renderer)[1] + gap

    # The legend on the right, top-aligned with the plot (in columns if it is taller than
    # the plot); under the plot when it would take more than a quarter of the width.
    right = W - margin
    handles, labels = _legend_handles(image, envelope, lines)
    if handles:
        options = dict(frameon=False, fontsize=font * 0.9, title=color_by or None,
                       title_fontsize=font * 0.9, alignment="left", borderaxespad=0,
                       handlelength=2.2)  # fmt: skip
        anchor = (right / W, top / H)
        legend = fig.legend(handles, labels, loc="upper right", bbox_to_anchor=anchor, **options)
        width, height = _extent(legend, renderer)
        if width > 0.25 * W:
            legend.remove()
            ncols = max(1, min(len(handles), int((W - 2 * margin) // width)))
            anchor = (margin / W, bottom / H)
            legend = fig.legend(
                handles, labels, loc="lower left", bbox_to_anchor=anchor, ncols=ncols, **options
            )
            bottom += _extent(legend, renderer)[1] + gap
        else:
            if height > top - bottom:
                legend.remove()
                ncols = math.ceil(height / (top - bottom))
                legend = fig.legend(
                    handles, labels, loc="upper right", bbox_to_anchor=anchor, ncols=ncols,
                    **options,
                )  # fmt: skip
            right -= _extent(legend, renderer)[0] + 1.5 * gap

    # The colour bar of a plain density: its bar and its labels (sized for the most curves
    # a pixel can count) to the right of the plot.
    counted = not image.categories
    if counted:
        probe = fig.text(0, 0, f"{max(image.curves, 10):,}", fontsize=font * 0.85)
        label_w = _extent(probe, renderer)[0]
        probe.remove()
        bar_w = 0.9 * font * pt
        bar_x0 = right - (bar_w + 0.5 * font * pt + label_w + 2.6 * font * pt)
        bar = _Box(bar_x0, bottom, bar_x0 + bar_w, top)
        right = bar_x0 - 1.5 * gap

    # The axes: labels and ticks measured once on a first placement, then the plot area.
    ax = fig.add_axes(_Box(margin, bottom, right, top).fraction(W, H), zorder=0)
    (x0, x1), (y0, y1) = image.view.x_range, image.view.y_range
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(image.x_label, fontsize=font)
    ax.set_ylabel(image.y_label, fontsize=font)
    ax.tick_params(labelsize=font * 0.85, direction="out")
    ax.grid(True, color="#e3e3e3", lw=0.6)
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_visible(False)
    outer = ax.get_tightbbox(renderer)
    inner = ax.get_window_extent(renderer)
    area = _Box(
        margin + (inner.x0 - outer.x0),
        bottom + (inner.y0 - outer.y0),
        right - max(0.0, outer.x1 - inner.x1),
        top - max(0.0, outer.y1 - inner.y1) - 0.5 * font * pt,
    )

    # Snap the counts to whole pixels, the frame just outside them.
    cell, pad = size.cell, math.ceil(0.8 * pt) + 1
    cols = int((area.x1 - area.x0 - 2 * pad) // cell)
    rows = int((area.y1 - area.y0 - 2 * pad) // cell)
    if cols < 1 or rows < 1:
        raise ReportSizeError(f"{W} x {H} px leaves no room for the plot; choose a larger size")
    if redraw is not None:
        image = redraw(cols, rows)
    counts = image.counts
    rows_, cols_ = counts.shape[:2]
    if redraw is None:
        cell = max(1, min(cols * cell // cols_, rows * cell // rows_))
    img_x = round(area.x0 + pad + (cols * size.cell - cols_ * cell) / 2)
    img_y = round(area.y0 + pad + (rows * size.cell - rows_ * cell) / 2)
    frame = _Box(img_x - pad, img_y - pad, img_x + cols_ * cell + pad, img_y + rows_ * cell + pad)
    ax.set_position(frame.fraction(W, H))
    (x0, x1), (y0, y1) = image.view.x_range, image.view.y_range
    dx, dy = (x1 - x0) / (cols_ * cell), (y1 - y0) / (rows_ * cell)
    limits = (x0 - pad * dx, x1 + pad * dx), (y0 - pad * dy, y1 + pad * dy)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])

    if counted:
        colors = colormap(cmap)
        scale = count_norm(counts, norm)
        rgba = shade(counts, colors, scale)
    else:
        rgba = shaded_categories(image, norm)
    block = np.repeat(np.repeat(rgba, cell, axis=0), cell, axis=1)
    fig.figimage(block, xo=img_x, yo=img_y, origin="lower", resize=False, zorder=1)

    # Overlays and the frame on a transparent axes over the counts.
    over = fig.add_axes(frame.fraction(W, H), zorder=2, sharex=ax, sharey=ax)
    over.patch.set_alpha(0)
    over.tick_params(left=False, bottom=False, labelleft=False, labelbottom=False)
    for spine in over.spines.values():
        spine.set_linewidth(0.8)
        spine.set_color("#444444")
    if envelope is not None and not envelope.band.empty:
        _draw_envelope(over, envelope)
    for drawn in reversed(lines):  # the first on top, as the legend lists them
        for x, y in drawn.lines:
            over.plot(x, y, color=drawn.color, lw=drawn.width)
    ax.set_xlim(*limits[0])  # overlays never widen the axes
    ax.set_ylim(*limits[1])

    if counted:
        cax = fig.add_axes(_Box(bar.x0, frame.y0 + pad, bar.x1, frame.y1 - pad).fraction(W, H))
        bar_mappable = ScalarMappable(norm=scale, cmap=colors)
        colorbar = fig.colorbar(bar_mappable, cax=cax)
        colorbar.set_label(f"curves per pixel ({SCALES[norm]})", fontsize=font * 0.9)
        colorbar.ax.yaxis.set_major_locator(FixedLocator(count_ticks(scale, norm, counts)))
        colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        colorbar.ax.yaxis.set_minor_locator(FixedLocator([]))
        colorbar.ax.tick_params(labelsize=font * 0.85)
        colorbar.outline.set_linewidth(0.6)
    return fig


def png_bytes(fig: Figure, *, title: str = "", caption: Sequence[str] = ()) -> bytes:
    """The figure as PNG bytes at its own size and dpi, titled and captioned in its
    metadata too."""
    buffer = io.BytesIO()
    metadata = {"Software": SOFTWARE, "Title": title, "Description": "\n".join(caption)}
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata=metadata)
    return buffer.getvalue()


def report_png(image: DensityImage, *, size: PngSize, **options) -> bytes:
    """:func:`figure` as PNG bytes (same arguments)."""
    fig = figure(image, size=size, **options)
    return png_bytes(fig, title=options.get("title", ""), caption=options.get("caption", ()))


def filter_png(
    image: DensityImage,
    where: CurveFilter,
    *,
    size: PngSize,
    project: str,
    zone: str,
    made: datetime | None = None,
    notes: Sequence[str] = (),
    **options,
) -> bytes:
    """The report figure of ``where``'s curves as PNG bytes: titled with its process and
    quantities, captioned with the filter, the time window on ``zone``'s clocks and the
    project (the explorer's export, the API's, a shift report's and a brush's are one)."""
    caption = caption_lines(
        where,
        project=project,
        zone=zone,
        made=made or datetime.now(UTC),
        curves=image.curves,
        color_by=options.get("color_by", ""),
        norm=options.get("norm", "eq_hist"),
        notes=notes,
    )
    return report_png(image, size=size, title=title_of(where, image), caption=caption, **options)
