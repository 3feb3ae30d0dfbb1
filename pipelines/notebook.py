"""The engineers' entry point: open the store, filter curves, get arrays or a zoomable plot.

>>> from pipelines.notebook import open_curves
>>> curves = open_curves()                          # CURVEHOUSE_* settings, embedded by default
>>> nok = curves.filter(process="press-fit", result="NOK")
>>> nok.count(), nok.metadata().head()
>>> s = nok.samples(); s.x, s.y, s.offsets, s.meta   # engineering units, Arrow list layout
>>> nok.density(width=800, height=400).counts       # distinct curves per pixel (NumPy)
>>> nok.plot()                                      # HoloViews; re-aggregates on zoom
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.identifiers import identifier
from models.settings import Settings, get_settings
from pipelines.overlay import DensityImage, density_image, fetch, fit
from pipelines.samples import CurveSet
from pipelines.schema import ensure_schema
from pipelines.views import CurveFilter, View
from providers import provider_from_settings

if TYPE_CHECKING:
    import holoviews as hv
    from clickhouse_connect.driver.client import Client


def open_curves(settings: Settings | None = None, **filters: Any) -> Curves:
    """All stored curves (optionally pre-filtered), on a client of the configured engine."""
    settings = settings or get_settings()
    client = provider_from_settings(settings).client()
    ensure_schema(client, settings.database, cluster=settings.clickhouse_cluster)
    return Curves(client, settings.database, CurveFilter.of(**filters))


@dataclass(frozen=True)
class Curves:
    """A selection of stored curves. Filtering returns a new selection; nothing is loaded
    until you ask for metadata, arrays or pixels."""

    client: Client
    database: str
    where: CurveFilter

    def filter(self, **filters: Any) -> Curves:
        """Narrow the selection: ``station="LEJ-L1-ST010"``, ``result="NOK"``,
        ``serial="000123"``, ``start="2026-11-20"``; lists mean any of several values. A field
        filtered twice keeps the values in both (``station=[A, B]`` then ``station=B`` is B)."""
        equals = {k: list(v) for k, v in self.where.equals.items()}
        for key, value in filters.items():
            if key in ("serial", "start", "end"):
                continue
            wanted = [value] if isinstance(value, str) else list(value or [])
            equals[key] = [v for v in equals[key] if v in wanted] if key in equals else wanted
        narrowed = CurveFilter.of(
            serial=filters.get("serial", self.where.serial),
            start=filters.get("start", self.where.start),
            end=filters.get("end", self.where.end),
            **{k: v for k, v in equals.items() if v},
        )
        nothing = {k: () for k, v in equals.items() if not v}  # filters that exclude each other
        return replace(self, where=replace(narrowed, equals={**narrowed.equals, **nothing}))

    def count(self) -> int:
        sql, params = self.where.where()
        return int(
            self.client.query(
                f"SELECT count() FROM {identifier(self.database)}.curves WHERE {sql}",
                parameters=params,
            ).result_rows[0][0]
        )

    def metadata(self, limit: int | None = 10_000) -> pd.DataFrame:
        """One row per curve, newest first."""
        sql, params = self.where.where()
        cap = "" if limit is None else " LIMIT {limit:UInt64}"
        result = self.client.query(
            f"SELECT * EXCEPT (fingerprint) FROM {identifier(self.database)}.curves WHERE {sql} "
            f"ORDER BY started_at DESC, curve_id{cap}",
            parameters={**params, "limit": limit or 0},
        )
        if result.row_count:
            return pd.DataFrame(dict(zip(result.column_names, result.result_columns, strict=True)))
        # An empty answer carries no column names (chDB sends no block): ask the schema.
        names = self.client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'curves' "
            "AND name != 'fingerprint' ORDER BY position",
            parameters={"db": self.database},
        ).result_columns[0]
        return pd.DataFrame(columns=list(names))

    def samples(self, x_range: tuple[float, float] | None = None) -> CurveSet:
        """Every selected curve's samples in engineering units, or only what ``x_range`` needs
        (NaN where samples were cut): ``.x``, ``.y``, ``.offsets`` (Arrow's list layout, ready
        for ``pipelines.curve_density``) and ``.meta``, one row per curve in the same order."""
        view = fit(self.client, self.database, self.where, View(x_range=x_range))
        return fetch(self.client, self.database, self.where, view)

    def density(self, **view: Any) -> DensityImage:
        """Distinct curves per pixel; ``x_range``, ``y_range``, ``width``, ``height``,
        ``color_by`` as in :class:`pipelines.views.View`."""
        return density_image(self.client, self.database, self.where, View(**view))

    def plot(
        self, width: int = 800, height: int = 400, color_by: str | None = None
    ) -> hv.DynamicMap:
        """A zoomable HoloViews plot: every zoom re-aggregates exactly in a live notebook."""
        from pipelines.render import dynamic

        base = View(width=width, height=height, color_by=color_by)
        home = fit(self.client, self.database, self.where, base)

        def render(x_range, y_range):
            return density_image(
                self.client,
                self.database,
                self.where,
                home if x_range is None else home.zoomed(x_range, y_range),
            )

        opts = dict(width=width, height=height, tools=["hover"])
        if color_by is None:
            opts.update(cmap="Blues", cnorm="eq_hist", colorbar=True)
        return dynamic(render, **opts)
