"""The engineers' entry point: open the store, filter curves, get arrays or a zoomable plot.

>>> from pipelines.notebook import open_curves
>>> curves = open_curves()                          # CURVEHOUSE_* settings, embedded by default
>>> nok = curves.filter(process="press-fit", result="NOK")
>>> nok.count(), nok.metadata().head()
>>> s = nok.samples(); s.x, s.y, s.offsets, s.meta   # engineering units, Arrow list layout
>>> nok.density(width=800, height=400).counts       # distinct curves per pixel (NumPy)
>>> nok.plot()                                      # HoloViews; re-aggregates on zoom

``open_curves`` hands out the same :class:`~pipelines.curves.Curves` the app reads through, on
a client of the configured engine.
"""

from __future__ import annotations

from typing import Any

from models.settings import Settings
from pipelines.curves import Curves
from pipelines.schema import ensure_schema
from pipelines.views import CurveFilter
from providers.engines import engine_from_settings

__all__ = ["Curves", "open_curves"]


def open_curves(settings: Settings | None = None, **filters: Any) -> Curves:
    """All stored curves (optionally pre-filtered), on a client of the configured engine:
    ``settings``, or the ``CURVEHOUSE_*`` environment read now."""
    settings = settings or Settings.from_env()
    client = engine_from_settings(settings).client()
    ensure_schema(client, settings.database, cluster=settings.clickhouse_cluster)
    return Curves(client, settings.database, CurveFilter.of(**filters))
