"""The management dashboard: every real cluster, its state, how to connect, and its actions.

Only clusters in the metadata store appear, with the state their provider last observed.
Secrets are masked until Reveal is pressed. Stop, resize and delete ask for confirmation.
A person sees the clusters of the projects they are a member of, and only the buttons their
role allows; the lifecycle checks the role again on every action (``models/access.py``).
"""

from __future__ import annotations

import time

import pandas as pd
import panel as pn
import param
import sqlalchemy as sa

from app.clusters import probes
from app.clusters.charts import probe_charts
from app.clusters.lifecycle import USE_CASES, ClusterRequestError, standing
from app.markup import code, text
from models.access import AccessError, Action, Principal, allows, require, visible_projects
from models.audit import audit
from models.cluster_states import ClusterAction, available_actions
from models.cluster_types import ClusterSpec, load_cluster_types
from models.pricing import compute_units_per_node, unit_definition
from models.settings import Settings
from models.store import MetadataStore
from models.tables import Cluster, ClusterEvent, ClusterStatus, Role
from models.wording import counted
from pipelines.homes import Homes, home_of_cluster
from providers.clusters.configured import provider_for
from providers.errors import ProviderError

BADGE = {
    "running": "#1a7f37",
    "provisioning": "#9a6700",
    "starting": "#9a6700",
    "stopping": "#9a6700",
    "deleting": "#9a6700",
    "stopped": "#57606a",
    "degraded": "#bc4c00",
    "failed": "#cf222e",
}
STORAGE_EVERY_SECONDS = 15.0
CHARTS_EVERY_SECONDS = 15.0  # the charts show one point a minute: no need to redraw each second
COLUMNS = ["id", "name", "project", "type", "provider", "region", "status", "size"]
# How each action's button looks; which ones show is models/cluster_states.py's to say.
BUTTONS = {
    ClusterAction.RETRY: ("Retry", "primary"),
    ClusterAction.START: ("Start", "primary"),
    ClusterAction.STOP: ("Stop", "warning"),
    ClusterAction.RESIZE: ("Resize", "default"),
    ClusterAction.DELETE: ("Delete", "danger"),
}
# The actions that ask for confirmation first, with their question.
QUESTIONS = {
    ClusterAction.STOP: "Stop it? Queries fail until it is started again; data is kept.",
    ClusterAction.DELETE: "Delete it and all its data? This cannot be undone.",
    ClusterAction.RESIZE: "Resize it? A running cluster restarts with the new size.",
}


def badge(status: str) -> str:
    return (
        f"<span class='ch-badge' style='background:{BADGE.get(status, '#57606a')}'>"
        f"{text(status)}</span>"
    )


CSS = """
.ch-badge {color: white; border-radius: 10px; padding: 2px 10px; font-size: 12px;
           font-weight: 600;}
"""


class ClusterDashboard(pn.viewable.Viewer):
    selected = param.Integer(default=None, allow_None=True, doc="The cluster shown in detail.")
    revealed = param.Boolean(default=False, doc="Whether the connection secret is shown.")

    def __init__(
        self,
        *,
        store: MetadataStore,
        settings: Settings,
        actor: Principal,
        homes: Homes | None = None,
    ) -> None:
        """``homes``: to list the projects living on a cluster (None: not listed)."""
        super().__init__()
        self.store, self.settings, self.actor, self.homes = store, settings, actor, homes
        self._types = load_cluster_types()
        self.status_filter = pn.widgets.Select(
            label="Status",
            options=["all", *[s.value for s in ClusterStatus if s.value != "deleted"]],
        )
        self.type_filter = pn.widgets.Select(
            label="Type", options={"all": "all", **{t.name: k for k, t in self._types.items()}}
        )
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=COLUMNS),
            show_index=False,
            disabled=True,
            selectable=1,
            formatters={"status": {"type": "html"}},
            hidden_columns=["id"],
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            height=220,
        )
        self.empty = pn.pane.Markdown(
            "No clusters yet. Create one with the wizard: a Development cluster on this "
            "machine is ready in seconds.",
            visible=False,
        )
        self.detail = pn.Column(sizing_mode="stretch_width")
        self.message = pn.pane.Alert(visible=False, margin=(5, 0))
        self.confirming: str | None = None
        self.metrics = pn.pane.Markdown(name="metrics")
        self.charts = pn.Column(sizing_mode="stretch_width", name="charts-holder")
        self._charted: tuple[int | None, float] = (None, float("-inf"))  # cluster, drawn at
        self._shown: tuple | None = None
        self._storage: dict[int, tuple[float, str]] = {}  # cluster id -> (read at, line)
        self.table.param.watch(self._on_select, "selection")
        self.status_filter.param.watch(self.refresh, "value")
        self.type_filter.param.watch(self.refresh, "value")
        self.refresh()

    # Reading -------------------------------------------------------------------------------

    def _projects(self, session) -> dict[int, tuple[str, Role | None]]:
        """Project id -> (name, role) for every project this person may see."""
        return {p.id: (p.name, role) for p, role in visible_projects(session, self.actor)}

    def _role(self, session, cluster: Cluster) -> Role | None:
        """This person's role in the cluster's project (None: none, or the operator)."""
        return self._projects(session).get(cluster.project_id, ("", None))[1]

    def clusters(self) -> pd.DataFrame:
        with self.store.sessions() as session:
            projects = self._projects(session)
            query = sa.select(Cluster).where(
                Cluster.status != ClusterStatus.DELETED, Cluster.project_id.in_(projects)
            )
            if self.status_filter.value != "all":
                query = query.where(Cluster.status == self.status_filter.value)
            if self.type_filter.value != "all":
                query = query.where(Cluster.type_key == self.type_filter.value)
            rows = session.scalars(query.order_by(Cluster.id)).all()
        return pd.DataFrame(
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "project": projects[c.project_id][0],
                    "type": self._types[c.type_key].name
                    if c.type_key in self._types
                    else c.type_key,
                    "provider": str(c.provider),
                    "region": c.region,
                    "status": badge(str(c.status)),
                    "size": f"{c.nodes}×{c.vcpu_per_node} vCPU/{c.memory_gib_per_node} GiB",
                }
                for c in rows
            ],
            columns=COLUMNS,
        )

    def refresh(self, *_events) -> None:
        """Redraw what changed: the list, the detail when its state or events moved on, and
        the measured figures every time (a periodic callback calls this)."""
        frame = self.clusters()
        if not frame.equals(self.table.value):
            self.table.value = frame
            if self.selected is not None and self.selected in set(frame["id"]):
                self.table.selection = [int(frame.index[frame["id"] == self.selected][0])]
        self.empty.visible = frame.empty
        cluster, events = self._cluster()
        if self._signature(cluster, events) != self._shown:
            self._show_detail()
        elif cluster is not None and cluster.status is ClusterStatus.RUNNING:
            self.metrics.object = self._metrics_text(cluster)
            self._draw_charts(cluster)

    def _on_select(self, event) -> None:
        if not event.new:
            return
        frame = self.table.value
        chosen = int(frame.iloc[event.new[0]]["id"])
        if chosen != self.selected:
            self.selected, self.revealed, self.confirming = chosen, False, None
            self._show_detail()

    def _cluster(self) -> tuple[Cluster | None, list[ClusterEvent]]:
        if self.selected is None:
            return None, []
        with self.store.sessions() as session:
            cluster = session.get(Cluster, self.selected)
            if cluster is None or cluster.project_id not in self._projects(session):
                return None, []
            events = session.scalars(
                sa.select(ClusterEvent)
                .where(ClusterEvent.cluster_id == self.selected)
                .order_by(ClusterEvent.id.desc())
                .limit(50)
            ).all()
        return cluster, list(events)

    # Detail --------------------------------------------------------------------------------

    def _signature(self, cluster: Cluster | None, events: list[ClusterEvent]) -> tuple:
        """What the detail view shows apart from the measured figures: redrawn when it moves."""
        return (
            self.selected,
            cluster.status if cluster else None,
            events[0].id if events else None,
            self.revealed,
            self.confirming,
        )

    def _show_detail(self) -> None:
        cluster, events = self._cluster()
        self._shown = self._signature(cluster, events)
        if cluster is None or cluster.status is ClusterStatus.DELETED:
            self.detail[:] = [pn.pane.Markdown("Select a cluster to see how to connect to it.")]
            return
        parts = [
            pn.pane.HTML(
                f"<h3 style='margin:4px 0'>{text(cluster.name)} {badge(str(cluster.status))}</h3>",
                stylesheets=[CSS],
                name="cluster-title",
            ),
            self._size_note(cluster),
            self._actions(cluster),
            self.message,
        ]
        if cluster.status is ClusterStatus.RUNNING:
            self.metrics.object = self._metrics_text(cluster)
            self._charted = (None, float("-inf"))
            self._draw_charts(cluster)
            parts += [*self._connection(cluster), self.metrics, self.charts]
        parts.append(self._timeline(events))
        self.detail[:] = parts

    def _size_note(self, cluster: Cluster) -> pn.viewable.Viewable:
        """The cluster's size in compute units, the unit a cloud bill counts, said once here."""
        per_node = compute_units_per_node(cluster.vcpu_per_node, cluster.memory_gib_per_node)
        return pn.pane.Markdown(
            f"Size: {counted(cluster.nodes, 'node')} × {cluster.vcpu_per_node} vCPU / "
            f"{cluster.memory_gib_per_node} GiB, "
            f"{counted(per_node * cluster.nodes, 'compute unit')}. {unit_definition()}",
            name="size-units",
        )

    def _draw_charts(self, cluster: Cluster) -> None:
        """Latency and query rate of the last hours, redrawn at most every
        :data:`CHARTS_EVERY_SECONDS` (the page refreshes every second)."""
        shown, drawn_at = self._charted
        if shown == cluster.id and time.monotonic() - drawn_at < CHARTS_EVERY_SECONDS:
            return
        self._charted = (cluster.id, time.monotonic())
        self.charts[:] = [probe_charts(probes.history(self.store, cluster.id), probes.CHART_HOURS)]

    def _connection(self, cluster: Cluster) -> list:
        handle = cluster.provider_config.get("handle")
        if handle is None:
            return []
        try:
            connection = provider_for(self.settings, cluster).connection(handle)
        except ProviderError as exc:  # e.g. a server cluster whose host is no longer allowed
            return [pn.pane.Markdown(f"#### Connect\n\n{text(exc)}", name="conn-url")]
        with self.store.sessions() as session:
            role = self._role(session, cluster)
        may_reveal = self.actor.is_operator or allows(role, Action.REVEAL_SECRETS)
        shown = self.revealed and may_reveal
        if may_reveal:
            reveal = pn.widgets.Button(label="Hide secret" if shown else "Reveal secret")
            reveal.on_click(lambda _: self._toggle_reveal())
        else:
            reveal = pn.pane.Markdown("*Your role cannot reveal secrets (engineer or higher).*")
        return [
            pn.pane.Markdown("#### Connect"),
            reveal,
            pn.pane.Markdown(
                f"HTTP URL: {code(connection.url(reveal=shown))} (for curl, append "
                "`?query=SELECT+1`)",
                name="conn-url",
            ),
            pn.pane.Markdown(
                "Python (clickhouse-connect):\n\n"
                + code(connection.python(reveal=shown).rstrip("\n"), block="python"),
                name="conn-python",
            ),
            pn.pane.Markdown(
                "Notebook (Curvehouse):\n\n"
                + code(connection.notebook(reveal=shown).rstrip("\n"), block="python"),
                name="conn-notebook",
            ),
        ]

    def _toggle_reveal(self) -> None:
        """Show or hide the password; every reveal is in the cluster's audit trail, as the
        API's ``?reveal=true`` is."""
        if not self.revealed and self.selected is not None:
            with self.store.sessions() as session:
                cluster = session.get(Cluster, self.selected)
                require(session, self.actor, cluster.project_id, Action.REVEAL_SECRETS)
                audit(
                    session,
                    self.actor.label,
                    "cluster.reveal",
                    "cluster",
                    cluster.id,
                    name=cluster.name,
                    where="clusters page",
                )
                session.commit()
        self.revealed = not self.revealed
        self._show_detail()

    def _metrics_text(self, cluster: Cluster) -> str:
        health = probes.health(self.store, cluster.id)
        lines = []
        if health.probes:
            rate = (
                "–" if health.queries_per_second is None else f"{health.queries_per_second:.2f}/s"
            )
            lines.append(
                f"- Latency (`SELECT 1`, {counted(health.probes, 'probe')} in the last "
                f"{probes.WINDOW_SECONDS // 60} min): p50 {health.p50_ms:.1f} ms, "
                f"p95 {health.p95_ms:.1f} ms"
            )
            # system.events counts one node's queries; the probes reach the entry node.
            spread = cluster.provider_config.get("options", {}).get("cluster")
            entry = ", entry node" if spread else ""
            lines.append(
                f"- Query rate (clients' queries, Curvehouse's own probes excluded{entry}): {rate}"
            )
        else:
            lines.append("- Latency: no probe yet (the poller measures every few seconds)")
        lines.append(self._storage_line(cluster))
        return "#### Measured\n\n" + "\n".join(lines)

    def _storage_line(self, cluster: Cluster) -> str:
        """Storage from ``system.parts``, read at most every :data:`STORAGE_EVERY_SECONDS`: the
        page refreshes every second, and each reading opens a client on the cluster."""
        read_at, line = self._storage.get(cluster.id, (float("-inf"), ""))
        if time.monotonic() - read_at < STORAGE_EVERY_SECONDS:
            return line
        provider = None
        try:
            provider = provider_for(self.settings, cluster)
            connection = provider.connection(cluster.provider_config["handle"])
            held = connection.storage()
            line = (
                f"- Storage: {held.bytes_on_disk / 1e6:,.2f} MB in {counted(held.rows, 'row')} "
                f"({counted(held.tables, 'table')})"
            )
            if connection.cluster:
                line += (
                    f", summed over {counted(held.nodes, 'node')} (each replica counts its copy)"
                )
        except Exception as exc:
            said = str(exc) if provider is None else provider.failure(exc)  # never the far side's
            line = f"- Storage: could not be read ({text(said)})"
        line += self._homed_line(cluster)
        self._storage[cluster.id] = (time.monotonic(), line)
        return line

    def _homed_line(self, cluster: Cluster) -> str:
        """The projects whose curves live on ``cluster``, with what each holds; projects this
        person is not a member of are counted, not named."""
        if self.homes is None:
            return ""
        home = home_of_cluster(cluster)
        living = self.homes.on_clusters().get(home, [])
        if not living:
            return "\n- Projects stored here: none (choose this cluster when creating a project)"
        with self.store.sessions() as session:
            visible = {name for name, _ in self._projects(session).values()}
        shown = [p for p in living if self.actor.is_operator or p in visible]
        try:
            held = self.homes.holdings(home, shown) if home.reachable else {}
        except ProviderError:  # it stopped answering: the names still say who lives here
            held = {}
        parts = [
            f"{text(p)} ({counted(held[p].curves, 'curve')}, {counted(held[p].points, 'point')}, "
            f"≈ {held[p].bytes / 1e6:,.1f} MB)"
            if p in held
            else text(p)
            for p in shown
        ]
        hidden = len(living) - len(shown)
        if hidden:
            parts.append(f"{counted(hidden, 'other project')}")
        return "\n- Projects stored here: " + ", ".join(parts)

    def _timeline(self, events: list[ClusterEvent]) -> pn.viewable.Viewable:
        rows = "\n".join(
            f"| {e.at:%Y-%m-%d %H:%M:%S} | {text(e.action)} | {text(e.from_state or '–')} → "
            f"{text(e.to_state)} | {text(e.actor)} | {text(e.detail[:160])} |"
            for e in events
        )
        return pn.pane.Markdown(
            "#### Events\n\n| When (UTC) | Action | State | By | Detail |\n|---|---|---|---|---|\n"
            + rows,
            name="events",
        )

    # Actions -------------------------------------------------------------------------------

    def _actions(self, cluster: Cluster) -> pn.viewable.Viewable:
        if self.confirming:
            confirm = pn.widgets.Button(
                label=f"Yes, {self.confirming} {cluster.name}", color="danger"
            )
            cancel = pn.widgets.Button(label="Cancel")
            confirm.on_click(lambda _: self._run(self.confirming))
            cancel.on_click(lambda _: self._ask(None))
            question = QUESTIONS[self.confirming]
            return pn.Column(pn.pane.Markdown(f"**{question}**"), pn.Row(confirm, cancel))
        with self.store.sessions() as session:
            offered = available_actions(
                standing(session, cluster), self.actor, self._role(session, cluster)
            )
        row = []
        for action in offered:
            label, color = BUTTONS[action]
            button = pn.widgets.Button(label=label, color=color)
            button.on_click(lambda _, a=action: self._ask(a) if a in QUESTIONS else self._run(a))
            row.append(button)
        if ClusterAction.RESIZE in offered:
            kind = self._types[cluster.type_key]
            self._resize_inputs = (
                pn.widgets.IntInput(
                    label=f"Nodes ({kind.nodes.describe()})", value=cluster.nodes, width=150
                ),
                pn.widgets.IntInput(
                    label=f"vCPU ({kind.vcpu_per_node.describe()})",
                    value=cluster.vcpu_per_node,
                    width=150,
                ),
                pn.widgets.IntInput(
                    label=f"GiB ({kind.memory_gib_per_node.describe()})",
                    value=cluster.memory_gib_per_node,
                    width=150,
                ),
            )
            return pn.Column(
                pn.Row(*row), pn.pane.Markdown("New size for Resize:"), pn.Row(*self._resize_inputs)
            )
        return pn.Row(*row)

    def _ask(self, action: ClusterAction | None) -> None:
        self.confirming = action
        self._show_detail()

    def _run(self, action: ClusterAction) -> None:
        self.confirming = None
        common = dict(
            store=self.store, settings=self.settings, cluster_id=self.selected, actor=self.actor
        )
        if action == ClusterAction.RESIZE:
            cluster, _ = self._cluster()
            nodes, vcpu, memory = (w.value for w in self._resize_inputs)
            common["size"] = ClusterSpec(cluster.type_key, nodes, vcpu, memory)
        try:
            USE_CASES[action](**common)
            self.message.visible = False
        except (ClusterRequestError, AccessError) as exc:
            self.message.object, self.message.alert_type = text(exc), "danger"
            self.message.visible = True
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "## Clusters",
            pn.Row(self.status_filter, self.type_filter),
            self.table,
            self.empty,
            self.detail,
            sizing_mode="stretch_width",
        )
