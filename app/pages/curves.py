"""Curves: the Curve Explorer, the page Curvehouse opens on.

Serve it alone with ``panel serve app/pages/curves.py`` or through ``curvehouse serve``. The
URL's query string (``?station=S1&x=0,12``) reopens a shared view.
"""

from __future__ import annotations

import holoviews as hv
import panel as pn

from app.explorer.explorer import CurveExplorer
from app.shell import shell

hv.extension("bokeh", logo=False)
pn.extension("tabulator")


def session_query() -> dict[str, str]:
    """The request's query parameters (last value of each), or nothing outside a session."""
    args = pn.state.session_args or {}
    return {key: values[-1].decode("utf-8", "replace") for key, values in args.items() if values}


def page() -> pn.template.BaseTemplate:
    """A fresh explorer for one session."""
    explorer = CurveExplorer(query=session_query())
    return shell("curves", [explorer], sidebar=explorer.controls.sidebar())


if pn.state.served:
    page().servable()
