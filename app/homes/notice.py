"""What a project's page shows when its home cannot answer: the reason in words, and a Start
button for someone allowed to start that cluster. No stack trace; other projects' pages keep
working."""

from __future__ import annotations

import panel as pn
import param

from app.clusters.lifecycle import ClusterRequestError, standing, start_cluster
from app.markup import text
from app.services import Services
from models.access import Principal, role_in
from models.cluster_states import ClusterAction, available_actions
from models.tables import Cluster
from pipelines.homes import HomeUnavailable


class HomeNotice(pn.viewable.Viewer):
    """The refusal of one unavailable home, as an alert (and a Start button where allowed)."""

    message = param.String(default="")

    def __init__(self, services: Services, actor: Principal, refusal: HomeUnavailable) -> None:
        super().__init__(message=str(refusal))
        self._services, self._actor, self._home = services, actor, refusal.home
        self.start = pn.widgets.Button(
            label=f"Start {self._home.label.removeprefix('cluster ')}",
            color="primary",
            visible=self.may_start(),
        )
        self.start.on_click(self._start)
        self._alert = pn.pane.Alert(
            self.param.message.rx.pipe(text), alert_type="warning", name="home-notice"
        )

    def may_start(self) -> bool:
        """Whether this person may start the home's cluster from where it stands."""
        if self._home.cluster_id is None:
            return False
        with self._services.metadata.sessions() as session:
            cluster = session.get(Cluster, self._home.cluster_id)
            if cluster is None:
                return False
            role = None
            if self._actor.user_id is not None:
                role = role_in(session, self._actor.user_id, cluster.project_id)
            offered = available_actions(standing(session, cluster), self._actor, role)
        return ClusterAction.START in offered

    def _start(self, _event=None) -> None:
        try:
            start_cluster(
                store=self._services.metadata,
                settings=self._services.settings,
                cluster_id=self._home.cluster_id,
                actor=self._actor,
            )
        except ClusterRequestError as exc:
            self.message = str(exc)
            return
        self.start.visible = False
        self.message = (
            f"{self._home.label.capitalize()} is starting. Reload this page once it is running "
            "(the Clusters page shows its state)."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._alert, self.start, name="home-notice-box")
