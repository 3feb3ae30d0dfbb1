"""Curves: the Curve Explorer, the page Curvehouse opens on.

Serve it alone with ``panel serve app/pages/curves.py`` or through ``curvehouse serve``. The
URL's query string (``?station=S1&x=0,12``) reopens a shared view.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.explorer.explorer import CurveExplorer
from app.pages import panel_serve_services
from app.services import Services
from app.shell import shell
from models.access import readable_projects, record_export
from pipelines.sources import MemorySamples

hv.extension("bokeh", logo=False)
pn.extension("tabulator")


def session_query() -> dict[str, str]:
    """The request's query parameters (last value of each), or nothing outside a session."""
    args = pn.state.session_args or {}
    return {key: values[-1].decode("utf-8", "replace") for key, values in args.items() if values}


def page(services: Services) -> pn.template.BaseTemplate:
    """A fresh explorer for one session, showing the curves of the viewer's projects; zooms
    draw from the process's hot cache."""
    store = services.metadata
    actor = current_principal(services)
    if actor is None:
        return shell("curves", [sign_in_required()])

    def record(kind: str, projects: tuple[str, ...] | None) -> None:
        with store.sessions() as session:
            record_export(session=session, actor=actor, kind=kind, projects=projects)
            session.commit()

    with store.sessions() as session:
        readable = readable_projects(session, actor)
    explorer = CurveExplorer(
        client_factory=services.client,
        database=services.settings.database,
        samples=MemorySamples(services.hot),
        query=session_query(),
        projects=readable,
        on_export=record,
    )
    return shell("curves", [explorer], sidebar=explorer.controls.sidebar())


if pn.state.served:
    page(panel_serve_services()).servable()
