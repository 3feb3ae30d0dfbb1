"""Clusters: the creation wizard beside the management dashboard of every real cluster."""

from __future__ import annotations

import holoviews as hv
import panel as pn

from app.auth.session import current_principal, sign_in_required
from app.clusters.dashboard import ClusterDashboard
from app.clusters.lifecycle import NewCluster, create_cluster
from app.clusters.placing import AfterCreate, Placed, movable_projects, place_projects
from app.clusters.wizard import ClusterWizard
from app.pages import panel_serve_services, served
from app.services import Services
from app.shell import shell
from app.ticks import every
from models import accounts
from models.access import allows, visible_projects
from models.cluster_states import TRANSITIONS, ClusterAction
from providers.clusters import cluster_provider_class

hv.extension("bokeh", logo=False)  # the cluster detail's latency and query-rate charts

REFRESH_MS = 1000


def page(services: Services) -> pn.template.BaseTemplate:
    settings, store = services.settings, services.metadata
    actor = current_principal(services)
    if actor is None:
        return shell("clusters", [sign_in_required()])
    dashboard = ClusterDashboard(store=store, settings=settings, actor=actor, homes=services.homes)

    def create(request: NewCluster) -> int:
        cluster = create_cluster(store=store, settings=settings, request=request, actor=actor)
        dashboard.selected = cluster.id
        dashboard.refresh()
        return cluster.id

    def place(cluster_id: int, after: AfterCreate) -> Placed:
        placed = place_projects(
            store=store, homes=services.homes, actor=actor, cluster_id=cluster_id, after=after
        )
        dashboard.refresh()
        return placed

    if actor.is_operator:  # new clusters go into the first project, made on first use
        with store.sessions() as session:
            accounts.default_project(session)
            session.commit()
    may_create = TRANSITIONS[ClusterAction.CREATE].needs
    with store.sessions() as session:
        projects = {
            p.name: p.id
            for p, role in visible_projects(session, actor)
            if actor.is_operator or allows(role, may_create)
        }
        movable = movable_projects(session, actor)
    cloud_regions = cluster_provider_class("cloud").regions if settings.cloud.configured else ()
    if projects:
        wizard = ClusterWizard(
            projects=projects,
            on_create=create,
            cloud_regions=cloud_regions,
            server_hosts=settings.server_cluster_hosts,
            place=place,
            movable=movable,
            may_own=not actor.is_operator,  # a new project needs an owner
            metadata=store,
        )
    else:
        wizard = pn.pane.Alert(
            "Creating clusters needs the admin or owner role in a project. Ask a project "
            "admin, or create your own project on the Projects page.",
            alert_type="secondary",
            width=420,
            name="no-create",
        )
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        # What the poller observed reaches the page within a second (per session, stopped
        # with it).
        every(dashboard.refresh, REFRESH_MS)
    return shell(
        "clusters",
        [pn.Row(pn.Column(dashboard, sizing_mode="stretch_width", min_width=640), wizard)],
    )


if served(__name__):
    pn.extension("tabulator")
    page(panel_serve_services()).servable()
