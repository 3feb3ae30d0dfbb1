"""What the explorer does around the raster: pick curves under the cursor, draw a few of them as
lines, a percentile envelope, and two selections side by side.

Every function takes a client, a database, a :class:`~pipelines.views.CurveFilter` and a
:class:`~pipelines.views.View` with its ranges set (as returned in ``DensityImage.view``), so a
pick or a highlight speaks of exactly the pixels on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.identifiers import identifier
from pipelines.density import curves_through, view_transform
from pipelines.frames import query_frame
from pipelines.kernels.m4 import m4_keep
from pipelines.overlay import (
    DensityImage,
    density_image,
    fetch_drawable,
    fetch_samples,
    fit,
    select,
)
from pipelines.views import CurveFilter, View

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from pipelines.hot import HotCache

PICK_COLUMNS = (
    "curve_id",
    "curve_key",
    "part_serial",
    "plant",
    "line",
    "station",
    "program",
    "result",
    "defect",
    "started_at",
)
# Envelope quantiles: fixed levels, written into the SQL as constants (never user input).
ENVELOPE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class Pick:
    total: int  # curves with a pixel in the box
    curves: pd.DataFrame  # the newest ``limit`` of them, with their metadata


def _data_box(view: View, box: tuple[int, int, int, int]) -> tuple[tuple, tuple]:
    """The data region of a pixel box, widened by one pixel on each side."""
    (x0, x1), (y0, y1) = view.x_range, view.y_range
    c0, c1, r0, r1 = box
    dx, dy = (x1 - x0) / view.width, (y1 - y0) / view.height
    return (x0 + (c0 - 1) * dx, x0 + (c1 + 2) * dx), (y0 + (r0 - 1) * dy, y0 + (r1 + 2) * dy)


def pixel_box(view: View, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    """The pixels (col0, col1, row0, row1) of ``view`` covering a data rectangle, clipped to
    the canvas: what a click or a box selection on the raster means."""
    (vx0, vx1), (vy0, vy1) = view.x_range, view.y_range

    def index(v: float, lo: float, hi: float, n: int) -> int:
        return int(min(max(np.floor((v - lo) / (hi - lo) * n), 0), n - 1))

    cols = sorted((index(x0, vx0, vx1, view.width), index(x1, vx0, vx1, view.width)))
    rows = sorted((index(y0, vy0, vy1, view.height), index(y1, vy0, vy1, view.height)))
    return (cols[0], cols[1], rows[0], rows[1])


def pick(
    client: Client,
    database: str,
    where: CurveFilter,
    view: View,
    box: tuple[int, int, int, int],
    *,
    limit: int = 20,
    hot: HotCache | None = None,
) -> Pick:
    """Curves drawing a pixel in ``box`` = (col0, col1, row0, row1), rows from the bottom.

    Candidates come from stored extents, and the kernel decides with the view's own pixel
    mapping: on the filter's samples in memory when ``hot`` holds them, otherwise on samples
    the engine trimmed to the box's neighbourhood.
    """
    x_near, y_near = _data_box(view, box)
    pixels = dict(
        box=box, x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height
    )
    held = hot.get(client, database, where) if hot is not None else None
    if held is not None:
        near = held.overlapping(x_near, y_near)
        hit = curves_through(held.x, held.y, held.offsets, steps=held.steps, picks=near, **pixels)
        chosen = held.meta.loc[hit, "curve_id"].tolist()
    else:
        meta = select(client, database, where, view.zoomed(x_near, y_near))
        if meta.empty:
            chosen = []
        else:
            curves = fetch_drawable(client, database, meta, view, x_keep=x_near)
            hit = curves_through(curves.x, curves.y, curves.offsets, **pixels)
            chosen = curves.meta.loc[hit, "curve_id"].tolist()
    if not chosen:
        return Pick(0, pd.DataFrame(columns=list(PICK_COLUMNS)))
    details = query_frame(
        client,
        f"SELECT {', '.join(PICK_COLUMNS)} FROM {identifier(database)}.curves "
        "WHERE curve_id IN {ids:Array(UInt64)} ORDER BY started_at DESC, curve_id "
        "LIMIT {limit:UInt32}",
        PICK_COLUMNS,
        {"ids": chosen, "limit": int(limit)},
    )
    return Pick(len(chosen), details)


@dataclass
class Line:
    meta: pd.Series
    x: np.ndarray
    y: np.ndarray


def highlight(client: Client, database: str, curve_ids: list[int], view: View) -> list[Line]:
    """A few curves as vector lines, M4-reduced to the canvas: the same pixels, fewer points."""
    if not curve_ids:
        return []
    meta = select(client, database, CurveFilter(), view, ids=list(curve_ids))
    curves = fetch_samples(client, database, meta, view)
    keep = m4_keep(
        curves.x,
        curves.y,
        curves.offsets,
        view_transform(view.x_range, view.y_range, view.width, view.height),
    )
    lines = []
    for i, row in curves.meta.iterrows():
        s, e = curves.offsets[i], curves.offsets[i + 1]
        mask = keep[s:e]
        lines.append(Line(row, curves.x[s:e][mask], curves.y[s:e][mask]))
    return lines


def envelope(
    client: Client, database: str, where: CurveFilter, view: View, *, bins: int = 200
) -> pd.DataFrame:
    """Per-x percentile bands across curves, computed in the engine.

    Each curve contributes one value per x bin (the mean of its samples there), so a curve
    sampled ten times as densely does not weigh ten times as much. Columns: ``x`` (bin centre),
    ``curves``, and one column per level in :data:`ENVELOPE_LEVELS` (``p05`` ... ``p95``).
    """
    view = fit(client, database, where, view)
    db = identifier(database)
    sql, params = where.where()
    (x0, x1) = view.x_range
    params.update(x0=x0, scale=bins / (x1 - x0), bins=int(bins))
    levels = ", ".join(repr(level) for level in ENVELOPE_LEVELS)
    result = client.query(
        f"""
        SELECT b, count() AS curves, quantilesExactInclusive({levels})(v) AS q
        FROM (
            SELECT curve_id, b, avg(yv) AS v
            FROM (
                SELECT curve_id,
                       toInt64(floor((toFloat64(xc) * x_step - {{x0:Float64}}) * {{scale:Float64}}))
                           AS b,
                       toFloat64(yc) * y_step AS yv
                FROM {db}.curve_samples ARRAY JOIN x AS xc, y AS yc
                WHERE curve_id IN (SELECT curve_id FROM {db}.curves WHERE {sql})
            )
            WHERE b >= 0 AND b < {{bins:Int64}}
            GROUP BY curve_id, b
        )
        GROUP BY b ORDER BY b
        """,
        parameters=params,
    )
    names = [f"p{round(level * 100):02d}" for level in ENVELOPE_LEVELS]
    frame = pd.DataFrame(
        [[r[0], r[1], *r[2]] for r in result.result_rows], columns=["bin", "curves", *names]
    )
    frame.insert(0, "x", x0 + (frame.pop("bin").astype(float) + 0.5) * (x1 - x0) / bins)
    return frame


@dataclass
class Comparison:
    a: DensityImage
    b: DensityImage

    @property
    def difference(self) -> np.ndarray:
        """Share of A's curves minus share of B's through each pixel, in -1..1."""
        share_a = self.a.counts / max(self.a.curves, 1)
        share_b = self.b.counts / max(self.b.curves, 1)
        return share_a - share_b


def compare(
    client: Client, database: str, a: CurveFilter, b: CurveFilter, view: View
) -> Comparison:
    """Densities of two selections on one canvas (fitted to both when ranges are missing)."""
    if view.x_range is None or view.y_range is None:
        fa, fb = fit(client, database, a, view), fit(client, database, b, view)
        view = view.zoomed(
            (min(fa.x_range[0], fb.x_range[0]), max(fa.x_range[1], fb.x_range[1])),
            (min(fa.y_range[0], fb.y_range[0]), max(fa.y_range[1], fb.y_range[1])),
        )
    return Comparison(
        density_image(client, database, a, view), density_image(client, database, b, view)
    )
