"""Where a view's samples come from: the engine, or a filter's samples held in memory.

A reader of curves (:class:`pipelines.curves.Curves`) is built with one sample source, chosen
once by whoever builds it: the API and notebooks ask the engine for every view
(:class:`EngineSamples`); the explorer, which shows many views of one filter, holds a filter's
samples in memory when they fit the process's budget (:class:`MemorySamples`, sized by
``CURVEHOUSE_HOT_CACHE_MB``). Both draw the same pixels and pick the same curves: the tests
compare them on random views.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from pipelines.drawing import CHUNK_SAMPLES, DensityImage, draw_fetched, draw_held, fitted_to
from pipelines.fetch import (
    Commits,
    answer_sizes,
    drawable_sets,
    fetch_drawable,
    fit,
    runs_in_process,
    select,
)
from pipelines.following import Following
from pipelines.hot import additions, store_version
from pipelines.interact import data_box
from pipelines.views import CurveFilter, View

if TYPE_CHECKING:
    import pandas as pd
    from clickhouse_connect.driver.client import Client

    from pipelines.hot import HotCache, HotCurves

log = logging.getLogger(__name__)
Box = tuple[int, int, int, int]  # (col0, col1, row0, row1), rows from the bottom
# Shown a first picture (``DensityImage.loading`` set) while a filter loads, before the answer.
Preview = Callable[[DensityImage], None]


class SampleSource(Protocol):
    """Draws a filter's curves on a view, and finds the curves drawing a pixel in a box."""

    def density(
        self,
        client: Client,
        database: str,
        where: CurveFilter,
        view: View,
        *,
        preview: Preview | None = None,
    ) -> DensityImage: ...

    def through(
        self, client: Client, database: str, where: CurveFilter, view: View, box: Box
    ) -> list[int]: ...


def _pixels(view: View, box: Box) -> dict:
    return dict(
        box=box, x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height
    )


@dataclass(frozen=True)
class EngineSamples:
    """Every view selected and reduced by the engine (:mod:`pipelines.fetch`), then drawn in
    chunks of about ``chunk_samples`` samples."""

    chunk_samples: int = CHUNK_SAMPLES

    def density(
        self,
        client: Client,
        database: str,
        where: CurveFilter,
        view: View,
        *,
        preview: Preview | None = None,
    ) -> DensityImage:
        """Drawn in one go: the engine reduces the view, there is no load to show first."""
        return self.draw(client, database, where, view, started=time.perf_counter())

    def draw(
        self,
        client: Client,
        database: str,
        where: CurveFilter,
        view: View,
        *,
        started: float,
        commits: Commits | None = None,
    ) -> DensityImage:
        """:meth:`density`, timed from ``started``; only the curves of ``commits`` if given."""
        view = fit(client, database, where, view)
        meta = select(client, database, where, view, commits=commits)
        local = runs_in_process(client)
        return draw_fetched(
            meta,
            view,
            lambda part: drawable_sets(client, database, part, view, in_process=local),
            sizes=answer_sizes(meta, view, in_process=local),
            chunk_samples=self.chunk_samples,
            started=started,
        )

    def through(
        self, client: Client, database: str, where: CurveFilter, view: View, box: Box
    ) -> list[int]:
        """Candidates from stored extents near the box; the kernel decides on samples the
        engine trimmed or reduced to the box's neighbourhood."""
        from pipelines.density import curves_through

        x_near, y_near = data_box(view, box)
        meta = select(client, database, where, view.zoomed(x_near, y_near))
        if meta.empty:
            return []
        curves = fetch_drawable(client, database, meta, view, x_keep=x_near)
        hit = curves_through(curves.x, curves.y, curves.offsets, **_pixels(view, box))
        return curves.meta.loc[hit, "curve_id"].tolist()


@dataclass(frozen=True)
class MemorySamples:
    """Views of a filter drawn from its samples held in ``cache`` (loaded by the first view);
    a filter that does not fit the cache's budget goes to ``engine``."""

    cache: HotCache
    engine: EngineSamples = field(default_factory=EngineSamples)
    scope: str = ""  # the home the clients reach (HotCache.get)
    live: Following = field(default_factory=Following)  # live pages' pictures, shared

    def density(
        self,
        client: Client,
        database: str,
        where: CurveFilter,
        view: View,
        *,
        preview: Preview | None = None,
    ) -> DensityImage:
        """``preview``: when the filter is loaded now, shown a first picture of the curves read
        so far (about a quarter, a sample of them) on the axes the whole filter will have."""
        started = time.perf_counter()
        if where.judged or view.judged:  # verdicts live in the engine and change without a commit
            return self.engine.draw(client, database, where, view, started=started)

        def first_share(so_far: HotCurves, whole: pd.DataFrame) -> None:
            try:
                image = draw_held(so_far, fitted_to(view, whole), started=started)
                preview(replace(image, loading=len(whole)))
            except Exception:  # a first picture is a courtesy: the whole one still comes
                log.warning("a first picture could not be shown", exc_info=True)

        held = self.cache.get(
            client, database, where, scope=self.scope, partial=first_share if preview else None
        )
        if held is None:  # timed from the question to the cache, as a held view is
            return self.engine.draw(client, database, where, view, started=started)
        return draw_held(held, view, started=started)

    def following(
        self, client: Client, database: str, where: CurveFilter, view: View
    ) -> DensityImage:
        """:meth:`density` of a window that slides forward (``where`` starts at a time and has
        no end): the picture kept for every session is brought up to date by the curves that
        came and went (:mod:`pipelines.following`), read from the engine as they do, so a line
        that commits hundreds of curves a second holds no samples here. Missing ranges fit the
        whole line (``where`` without its start) when the picture is first drawn, and stay put
        while curves arrive. A coloured view is drawn whole."""
        if where.start is None or where.end is not None:
            return self.density(client, database, where, view)
        base = replace(where, start=None)
        if view.color_by:
            view = fit(client, database, base, view)
            return self.engine.draw(client, database, where, view, started=time.perf_counter())
        sql, params = base.where()
        key = (self.scope, database, sql, repr(sorted(params.items())))
        store = Committed(client, database, self.engine, base)
        return self.live.image(key, where, view, store)

    def through(
        self, client: Client, database: str, where: CurveFilter, view: View, box: Box
    ) -> list[int]:
        from pipelines.density import curves_through

        held = self.cache.get(client, database, where, scope=self.scope)
        if held is None:
            return self.engine.through(client, database, where, view, box)
        near = held.overlapping(*data_box(view, box))
        hit = curves_through(
            held.x,
            held.y,
            held.offsets,
            steps=held.steps,
            x_first=held.x_first,
            y_base=held.y_base,
            picks=near,
            **_pixels(view, box),
        )
        return held.meta.loc[hit, "curve_id"].tolist()


@dataclass(frozen=True)
class Committed:
    """The engine's side of a followed picture (:class:`pipelines.following.Store`)."""

    client: Client
    database: str
    engine: EngineSamples
    line: CurveFilter  # the followed filter without its start: what missing ranges fit

    def version(self) -> tuple:
        return store_version(self.client, self.database)

    def fitted(self, view: View) -> View:
        return fit(self.client, self.database, self.line, view)

    def additions(self, since: tuple) -> tuple[list | None, tuple]:
        return additions(self.client, self.database, since)

    def draw(self, where: CurveFilter, view: View, commits: Commits) -> DensityImage:
        return self.engine.draw(
            self.client, self.database, where, view, started=time.perf_counter(), commits=commits
        )
