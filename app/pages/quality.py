"""Quality: control charts of a curve feature per station and program, run rules, capability,
and the stations whose parts drift. ``/quality?project=demo``."""

from __future__ import annotations

import holoviews as hv
import panel as pn

from app.pages import panel_serve_services, served
from app.pages.chosen import Chosen, chosen_project
from app.quality.define import FeatureForm
from app.quality.page import QualityPage
from app.services import Services
from app.shell import shell
from models.access import Action, allows
from pipelines.configured import StoredFeatures
from pipelines.curves import Curves

hv.extension("bokeh", logo=False)


def page(services: Services) -> pn.template.BaseTemplate:
    """The Quality page of ``?project=`` (or the viewer's project with most curves), with a
    picker."""
    chosen = chosen_project(services, "quality")
    if not isinstance(chosen, Chosen):
        return chosen
    curves = Curves(chosen.store.client, chosen.store.database, projects=(chosen.project,))
    configured = StoredFeatures(services.metadata).of(chosen.project)
    quality = QualityPage(chosen.project, curves, configured)
    if chosen.actor.is_operator or allows(chosen.role, Action.EDIT_RULES):
        quality.define = FeatureForm(services, chosen.actor, chosen.project, quality)
    return shell("quality", [chosen.picker, quality], wide=True)


if served(__name__):
    pn.extension()
    page(panel_serve_services()).servable()
