"""Quality: control charts of a curve feature per station and program, run rules, capability,
and the stations whose parts drift. ``/quality?project=demo``."""

from __future__ import annotations

import holoviews as hv
import panel as pn

from app.pages import panel_serve_services
from app.pages.chosen import Chosen, chosen_project
from app.quality.page import QualityPage
from app.services import Services
from app.shell import shell
from pipelines.curves import Curves

hv.extension("bokeh", logo=False)
pn.extension()


def page(services: Services) -> pn.template.BaseTemplate:
    """The Quality page of ``?project=`` (or the viewer's first project), with a picker."""
    chosen = chosen_project(services, "quality")
    if not isinstance(chosen, Chosen):
        return chosen
    curves = Curves(chosen.store.client, chosen.store.database, projects=(chosen.project,))
    return shell("quality", [chosen.picker, QualityPage(chosen.project, curves)], wide=True)


if pn.state.served:
    page(panel_serve_services()).servable()
