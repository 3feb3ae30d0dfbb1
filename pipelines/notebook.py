"""The engineers' entry point: open the store, filter curves, get arrays or a zoomable plot.

>>> from pipelines.notebook import open_curves
>>> curves = open_curves()                          # CURVEHOUSE_* settings, embedded by default
>>> line7 = open_curves(project="line-7")           # one project, wherever its home is
>>> nok = curves.filter(process="press-fit", result="NOK")
>>> nok.count(), nok.metadata().head()
>>> s = nok.samples(); s.x, s.y, s.offsets, s.meta   # engineering units, Arrow list layout
>>> nok.density(width=800, height=400).counts       # distinct curves per pixel (NumPy)
>>> nok.plot()                                      # HoloViews; re-aggregates on zoom

``open_curves`` hands out the same :class:`~pipelines.curves.Curves` the app reads through, on
a client of the configured engine, or with ``project=`` of that project's home (the built-in
engine or a cluster, :mod:`pipelines.homes`).
"""

from __future__ import annotations

from typing import Any

from models.settings import Settings
from models.store import open_metadata
from pipelines.curves import Curves
from pipelines.homes import Homes
from pipelines.store import CurveStore, migrate
from pipelines.views import CurveFilter
from providers.engines import engine_from_settings

__all__ = ["Curves", "open_curves"]


def open_curves(
    settings: Settings | None = None, *, project: str | None = None, **filters: Any
) -> Curves:
    """Stored curves (optionally pre-filtered) under ``settings``, or the ``CURVEHOUSE_*``
    environment read now: all of the configured engine's, or the curves of ``project`` on its
    home (:class:`~pipelines.homes.HomeUnavailable` says so when that cluster is stopped)."""
    settings = settings or Settings.from_env()
    where = CurveFilter.of(**filters)
    if project is None:
        return Curves(_builtin(settings).client, settings.database, where)
    metadata = open_metadata(settings)
    homes = Homes(settings, metadata, lambda: _builtin(settings))
    try:
        store = homes.store(homes.of(project), project=project)
    finally:
        homes.close()
        metadata.close()
    return Curves(store.client, store.database, where, projects=(project,))


def _builtin(settings: Settings) -> CurveStore:
    client = engine_from_settings(settings).client()
    migrate(client, settings.database, cluster=settings.clickhouse_cluster)
    return CurveStore(client, settings.database)
