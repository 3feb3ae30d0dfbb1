"""A part's own page: ``/part?project=demo&serial=A-000123&back=/curves?...``.

Reached from the explorer's parts (a listed part, a part under the pointer), from its serial
search, from the API's ``/api/projects/{id}/parts/{serial}`` and by typing a serial here.
Serve it alone with ``panel serve app/pages/part.py`` or through ``curvehouse serve``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import holoviews as hv
import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.pages import panel_serve_services, served, session_query
from app.part.find import find_part
from app.part.links import part_link
from app.part.view import PartView
from app.services import Services
from app.shell import shell
from models.access import readable_projects

hv.extension("bokeh", logo=False)


def referrer() -> str | None:
    """The page the browser came from, as a path and query on this server (None from another
    site): "back" for a part opened by the explorer's search form, which carries no ``back``."""
    headers = pn.state.headers or {}
    came = urlsplit(headers.get("Referer", ""))
    if not came.path or came.netloc != headers.get("Host"):
        return None
    return came.path + (f"?{came.query}" if came.query else "")


def page(services: Services) -> pn.template.BaseTemplate:
    """A fresh part page for one session, over the viewer's projects."""
    actor = current_principal(services)
    if actor is None:
        return shell("part", [sign_in_required()])
    query = session_query()
    project, serial = query.get("project", "").strip(), query.get("serial", "").strip()
    back = query.get("back") or referrer()
    with services.metadata.sessions() as session:
        readable = readable_projects(session, actor)
    lookup, clients = find_part(services, readable, project, serial)
    if clients and pn.state.curdoc is not None:
        pn.state.on_session_destroyed(lambda _ctx: [client.close() for client in clients])
    view = PartView(
        lookup,
        projects=list(readable or ()),
        back=back,
        open_link=lambda name: part_link(name, serial, back),
    )
    return shell("part", [view])


if served(__name__):
    pn.extension()
    page(panel_serve_services()).servable()
