"""Clusters: the creation wizard beside the management dashboard of every real cluster."""

from __future__ import annotations

import panel as pn

from app.clusters.dashboard import ClusterDashboard
from app.clusters.lifecycle import NewCluster, create_cluster
from app.clusters.wizard import ClusterWizard
from app.runtime import default_project, metadata_for
from app.shell import shell
from models.settings import get_settings
from providers.cloud import CloudClusterProvider

pn.extension("tabulator")

# Until login exists (see the Teams issue) every action is by the local user.
LOCAL_ACTOR = "local"
REFRESH_MS = 1000


def page() -> pn.template.BaseTemplate:
    settings = get_settings()
    store = metadata_for(settings)
    dashboard = ClusterDashboard(store=store, settings=settings, actor=LOCAL_ACTOR)

    def create(request: NewCluster) -> str | None:
        cluster = create_cluster(store=store, settings=settings, request=request, actor=LOCAL_ACTOR)
        dashboard.selected = cluster.id
        dashboard.refresh()
        return None

    cloud_regions = CloudClusterProvider.regions if settings.cloud_api else ()
    wizard = ClusterWizard(
        project_id=default_project(store), on_create=create, cloud_regions=cloud_regions
    )
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        # What the poller observed reaches the page within a second (per session, stopped
        # with it).
        pn.state.add_periodic_callback(dashboard.refresh, period=REFRESH_MS)
    return shell(
        "clusters",
        [pn.Row(pn.Column(dashboard, sizing_mode="stretch_width", min_width=640), wizard)],
    )


if pn.state.served:
    page().servable()
