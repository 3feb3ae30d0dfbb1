"""The Overview's previews: each common process's newest curves, the view that fits them, and
their first picture, made once per store version and shared by every session."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from pipelines.curves import Curves
from pipelines.drawing import DensityImage, draw, extent_view
from pipelines.hot import HotCache
from pipelines.samples import CurveSet
from pipelines.views import View

PREVIEW_CURVES = 1000
PREVIEW_PROCESSES = 3
PREVIEW_VIEW = View(width=420, height=260)

# A process's preview: its newest curves, the view that fits them, and their first picture.
Preview = tuple[CurveSet, View, DensityImage]


def previews(
    hot: HotCache,
    client: Client,
    database: str,
    *,
    projects: tuple[str, ...] | None = None,
    newest: int = PREVIEW_CURVES,
    scope: str = "",
) -> dict[str, Preview | None]:
    """The most common processes of ``projects`` (None: all), most curves first, each with
    its preview (None: no curves). Kept beside ``hot`` until an import (one store-version check
    for the lot): fetching and drawing them takes about a second, every page shows them. The
    warm-up makes them for all projects; so they serve whoever may see all of them."""

    if projects is not None:  # a person who may see every stored project sees them all
        stored = set(Curves(client, database).processes_by_project()["project"])
        projects = None if stored <= set(projects) else projects

    def make() -> dict[str, Preview | None]:
        stored = Curves(client, database, projects=projects)
        processes = sorted(stored.processes(PREVIEW_PROCESSES))
        return {process: _preview(stored, process, newest) for process in processes}

    key = ("overview-previews", projects, newest)
    return hot.remember(client, database, key, make, scope=scope)


def _preview(stored: Curves, process: str, newest: int) -> Preview | None:
    curves = stored.filter(process=process).newest_samples(newest)
    if not len(curves):
        return None
    home = extent_view(curves, PREVIEW_VIEW)
    return curves, home, draw(curves, home)
