"""The four-step creation wizard: type, where it runs, size, then review with a cost estimate.

What was entered lives in a :class:`~app.clusters.wizard_state.WizardState`; the widgets are
made from its parameters (``from_param``) and live as long as the wizard, so Back and Next keep
what was entered. Each step checks its own input and says what is wrong before Next moves on.
Create hands a :class:`NewCluster` to the lifecycle service, which refuses anything the steps
missed. The review step also asks what happens after: nothing, a new project living on the
cluster, or the person's projects moved onto it (:mod:`app.clusters.placing`); that step runs
once the cluster is on record, and the message says what was made and what was not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import panel as pn
import param

from app.clusters.lifecycle import ClusterRequestError, NewCluster
from app.clusters.placing import MOVE, NEW, NOTHING, AfterCreate, Movable, Placed
from app.clusters.wizard_state import WizardState
from app.markup import code, text
from models.pricing import compute_units_per_node, unit_definition
from models.store import MetadataStore
from models.wording import counted
from providers.clusters import cluster_provider_class
from providers.server_guard import ENABLE_HINT

logger = logging.getLogger(__name__)

STEPS = WizardState.STEPS
# What the wizard says of each kind of deployment, after the provider's own label; the labels
# and regions come from the provider classes (providers/clusters.py).
OFFERED = {
    "embedded": "a ClickHouse node process",
    "server": "a database on your server or cluster",
    "cloud": "a service in your organisation",
}
CLOUD_UNSET = (
    "ClickHouse Cloud is available once CURVEHOUSE_CLOUD_ORGANIZATION_ID, CURVEHOUSE_CLOUD_KEY_ID "
    "and CURVEHOUSE_CLOUD_KEY_SECRET are set."
)
SERVER_UNSET = (
    "A database on your own ClickHouse server is available once "
    + ENABLE_HINT.replace("an operator lists", "an operator of this installation lists")
    + "."
)


def _input(kind: type[pn.widgets.Widget], parameter: param.Parameter, **params):
    """A ``kind`` widget editing ``parameter``. The parameter's doc is for code, not a tooltip:
    labels, placeholders and the steps' notes say what to enter."""
    return kind.from_param(parameter, description=None, **params)


class ClusterWizard(pn.viewable.Viewer):
    """Collects a :class:`NewCluster`; ``on_create`` gets it and returns an error or None."""

    step = param.Integer(default=0, bounds=(0, len(STEPS) - 1), doc="The step shown, from 0.")

    def __init__(
        self,
        *,
        project_id: int | None = None,
        projects: dict[str, int] | None = None,
        on_create: Callable[[NewCluster], int | str | None],
        cloud_regions: tuple[str, ...] = (),
        server_hosts: tuple[str, ...] = (),
        place: Callable[[int, AfterCreate], Placed] | None = None,
        movable: list[Movable] | None = None,
        may_own: bool = True,
        metadata: MetadataStore | None = None,
    ) -> None:
        """``projects``: name -> id of the projects the person may create clusters in (a
        choice is offered when there are several), or one ``project_id``. ``on_create`` makes
        the cluster and returns its id (None: made, id unknown) or a refusal in words.
        ``cloud_regions``: where ClickHouse Cloud can run; empty when it is not configured.
        ``server_hosts``: the hosts server clusters may use
        (``CURVEHOUSE_SERVER_CLUSTER_HOSTS``); empty: none, and server clusters are not
        offered. ``place``: carries out the review step's choice for the new cluster's id
        (None: no choice is offered); ``movable``: the projects the person may move onto it;
        ``may_own``: whether they may own a new project; ``metadata``: where new project
        names are checked."""
        super().__init__()
        regions = {
            "embedded": list(cluster_provider_class("embedded").regions),
            **({"server": list(cluster_provider_class("server").regions)} if server_hosts else {}),
            **({"cloud": list(cloud_regions)} if cloud_regions else {}),
        }
        projects = projects or {"": project_id}
        self.state = WizardState(
            project_id=next(iter(projects.values())),
            regions=regions,
            server_hosts=list(server_hosts),
            movable=list(movable or []),
            may_own=may_own,
            metadata=metadata,
        )
        self._on_create = on_create
        self._place = place
        self._build_widgets(projects)
        self.state.param.watch(self._type_described, "cluster_type")
        self.state.param.watch(self._provider_changed, "provider")
        self.state.param.watch(self._update_review, ["hours", "storage", "egress"])
        self.state.param.watch(self._update_units, ["nodes", "vcpu", "memory"])
        self.state.param.watch(self._update_suggestion, ["per_day", "samples", "retention"])
        self.state.param.watch(self._then_changed, "then")
        # A refusal of the review step's entries goes once they change: it no longer applies.
        self.state.param.watch(self._hide_problem, ["then", "new_project", "move_projects"])
        self.move_projects.param.watch(self._moves_chosen, "value")
        self._type_described()
        self._update_suggestion()
        self._update_units()

    def _build_widgets(self, projects: dict[str, int]) -> None:
        state, types = self.state.param, self.state.types
        self.project = _input(
            pn.widgets.Select,
            state.project_id,
            options=projects,
            label="Project",
            visible=len(projects) > 1,
        )
        self.cluster_name = _input(
            pn.widgets.TextInput,
            state.cluster_name,
            label="Cluster name",
            placeholder="e.g. press-shop-dev",
        )
        self.cluster_type = pn.widgets.RadioBoxGroup.from_param(
            state.cluster_type,
            options={
                t.name + (" (recommended)" if t.recommended else ""): k for k, t in types.items()
            },
            label="",
        )
        self.provider = pn.widgets.RadioBoxGroup.from_param(
            state.provider,
            options={
                f"{self.state.labels[key]}: {what}": key
                for key, what in OFFERED.items()
                if key in self.state.regions
            },
            label="",
        )
        self.region = _input(
            pn.widgets.Select, state.region, options=self.state.regions["embedded"], label="Region"
        )
        self.on_cluster = _input(
            pn.widgets.TextInput,
            state.on_cluster,
            label="ClickHouse cluster name, if the server is one node of several (optional)",
            placeholder="e.g. plant_cluster",
            visible=False,
        )
        self.ip_access = _input(
            pn.widgets.TextInput,
            state.ip_access,
            label="Who may connect (comma-separated IP ranges)",
            placeholder="e.g. 203.0.113.0/24, 198.51.100.7/32",
            visible=False,
        )
        self.server_url = _input(
            pn.widgets.PasswordInput,
            state.server_url,
            label="Server URL (an account that may create databases)",
            placeholder="http://admin:password@clickhouse.plant.local:8123",
            visible=False,
        )
        self.nodes = _input(pn.widgets.IntInput, state.nodes, label="Nodes")
        self.vcpu = _input(pn.widgets.IntInput, state.vcpu, label="vCPU per node")
        self.memory = _input(pn.widgets.IntInput, state.memory, label="Memory per node (GiB)")
        self.hours = _input(
            pn.widgets.IntInput, state.hours, label="Active hours per month", start=0, end=744
        )
        self.storage = _input(
            pn.widgets.FloatInput,
            state.storage,
            label="Compressed storage (TB)",
            start=0.0,
            step=0.1,
        )
        self.egress = _input(
            pn.widgets.FloatInput,
            state.egress,
            label="Data transfer out to the internet (GB per month)",
            start=0.0,
            step=10.0,
        )
        self.review = pn.pane.Markdown(name="cost-review")
        self.units = pn.pane.Markdown(name="size-units")
        # Sizing from the workload: curves a day x samples x retention -> a suggested type.
        self.per_day = _input(
            pn.widgets.IntInput, state.per_day, label="Curves per day", start=1, width=180
        )
        self.samples = _input(
            pn.widgets.IntInput, state.samples, label="Samples per curve", start=2, width=180
        )
        self.retention = _input(
            pn.widgets.IntInput, state.retention, label="Days kept", start=1, width=180
        )
        self.suggestion = pn.pane.Markdown()
        self.use_suggestion = pn.widgets.Button(label="Use the suggested type")
        self.use_suggestion.on_click(lambda _: self.state.use_suggestion())
        # After creating it: the choice, a new project's name, the projects to move.
        then = {"Nothing for now": NOTHING}
        if self.state.may_own:
            then["Create a new project on it"] = NEW
        then["Move projects I own onto it"] = MOVE
        self.then = pn.widgets.RadioBoxGroup.from_param(state.then, options=then, label="")
        self.new_project = _input(
            pn.widgets.TextInput,
            state.new_project,
            label="New project's name (its curves will live on this cluster)",
            placeholder="e.g. line-9",
            visible=False,
        )
        # Checkboxes rather than a multi-select list: a person owns a few projects, and each
        # is seen with its current home at once, without Ctrl-clicks.
        self.move_note = pn.pane.Markdown(visible=False, name="move-note")
        self.move_projects = pn.widgets.CheckBoxGroup(options={}, inline=False, visible=False)
        self.move_refused = pn.pane.Markdown(visible=False, name="move-refused")
        self.problem = pn.pane.Alert(alert_type="danger", visible=False, margin=(5, 0))
        self.done = pn.pane.Alert(alert_type="success", visible=False, margin=(5, 0))
        self.back = pn.widgets.Button(label="Back", disabled=True)
        self.next = pn.widgets.Button(label="Next", color="primary")
        self.create = pn.widgets.Button(label="Create cluster", color="success", visible=False)
        self.back.on_click(lambda _: self._go(-1))
        self.next.on_click(lambda _: self._go(+1))
        self.create.on_click(self._submit)

    # Steps ---------------------------------------------------------------------------------

    def _type_described(self, *_events) -> None:
        """Each size widget says the chosen type's limits."""
        kind = self.state.types[self.state.cluster_type]
        for widget, limit in (
            (self.nodes, kind.nodes),
            (self.vcpu, kind.vcpu_per_node),
            (self.memory, kind.memory_gib_per_node),
        ):
            widget.description = f"{kind.name}: {limit.describe()}"

    def _update_suggestion(self, *_events) -> None:
        sizing = self.state.sizing()
        kind = self.state.types[sizing.suggested_type]
        self.suggestion.object = f"Suggested: **{kind.name}**\n\n" + "\n".join(
            f"- {reason}" for reason in sizing.reasons
        )

    def _provider_changed(self, *_events) -> None:
        provider = self.state.provider
        self.region.options = self.state.regions[provider]
        self.region.value = self.region.options[0]
        self.server_url.visible = self.on_cluster.visible = provider == "server"
        self.ip_access.visible = provider == "cloud"

    def _then_changed(self, *_events) -> None:
        then = self.state.then
        self.new_project.visible = then == NEW
        for widget in (self.move_note, self.move_projects, self.move_refused):
            widget.visible = then == MOVE
        if then == MOVE:
            self._offer_moves()

    def _offer_moves(self) -> None:
        """The projects that may live on the cluster as named and placed so far; the others
        are listed with the reason residency gives."""
        state = self.state
        offered = state.placeable()
        self.move_projects.options = offered
        self.move_projects.value = [i for i in self.move_projects.value if i in offered.values()]
        names = {p.id: p.name for p in state.movable}
        refused = [
            f"- **{text(names[i])}** cannot move here: {text(why)}"
            for i, why in state.refused().items()
        ]
        self.move_note.object = (
            "Choose the projects to move. Each one is copied once the cluster is running, "
            "checked, then switched; until then its curves are read where they are now."
            if offered
            else "None of your projects can move onto it."
            if state.movable
            else "You own no project that could move onto it."
        )
        self.move_refused.object = "\n".join(refused)

    def _hide_problem(self, *_events) -> None:
        self.problem.visible = False

    def _moves_chosen(self, event) -> None:
        self.state.move_projects = list(event.new)

    def _go(self, delta: int) -> None:
        if delta > 0:
            found = self.state.problems(self.step)
            if found:
                self._show_problem(found)
                return
        self.problem.visible = False
        self.done.visible = False
        self.step = max(0, min(len(STEPS) - 1, self.step + delta))

    def _show_problem(self, found: list[str]) -> None:
        self.problem.object = "\n".join(f"- {text(p)}" for p in found)
        self.problem.visible = True

    def _submit(self, _event) -> None:
        found = self.state.all_problems()
        if found:
            self._show_problem(found)
            return
        after, name = self.state.after(), self.state.cluster_name
        self.create.disabled = True
        try:
            made = self._on_create(self.state.request())
        except ClusterRequestError as exc:
            made = str(exc)
        finally:
            self.create.disabled = False
        if isinstance(made, str):
            self._show_problem([made])
            return
        self.problem.visible = False
        placed = Placed("")
        if after.kind != NOTHING and self._place is not None and made is not None:
            self.create.disabled = True
            try:
                placed = self._place(made, after)
            except Exception as exc:  # the cluster stays: say so rather than leave a guess
                logger.exception("the project step after creating cluster %s failed", made)
                placed = Placed(
                    f"The cluster {text(name)} was created, but its projects were not placed: "
                    f"{text(exc)} Do it on the Projects page.",
                    failed=True,
                )
            finally:
                self.create.disabled = False
        said = f"Cluster {text(name)} is being created; follow it in the list beside."
        self.done.object = said + ("\n\n" + placed.said if placed.said else "")
        self.done.alert_type = "warning" if placed.failed else "success"
        self.done.visible = True
        self.state.param.update(cluster_name="", then=NOTHING, new_project="", move_projects=[])
        self.move_projects.value = []
        self.step = 0

    # Layout --------------------------------------------------------------------------------

    def _trail(self) -> str:
        marks = []
        for i, label in enumerate(STEPS):
            style = "font-weight:700;color:#17324d" if i == self.step else "color:#7a8a9c"
            marks.append(f"<span style='{style}'>{i + 1}. {label}</span>")
        return " &nbsp;›&nbsp; ".join(marks)

    def _body(self) -> pn.viewable.Viewable:
        if self.step == 0:
            purposes = "\n".join(
                f"- **{t.name}**: {t.purpose} {t.nodes.describe()} nodes, "
                f"{t.vcpu_per_node.describe()} vCPU and {t.memory_gib_per_node.describe()} GiB "
                "per node."
                for t in self.state.types.values()
            )
            helper = pn.Card(
                pn.Row(self.per_day, self.samples, self.retention),
                self.suggestion,
                self.use_suggestion,
                title="Not sure? Size it from your workload",
                collapsed=True,
            )
            return pn.Column(
                self.project,
                self.cluster_name,
                "**Type**",
                self.cluster_type,
                pn.pane.Markdown(purposes),
                helper,
            )
        if self.step == 1:
            note = (
                "Embedded clusters run as one node process here, so node counts above one "
                "have no effect on them; server and cloud clusters use every node."
            )
            if "server" not in self.state.regions:
                note += "\n\n" + SERVER_UNSET
            if "cloud" not in self.state.regions:
                note += "\n\n" + CLOUD_UNSET
            return pn.Column(
                self.provider,
                self.region,
                self.server_url,
                self.on_cluster,
                self.ip_access,
                pn.pane.Markdown(note),
            )
        if self.step == 2:
            return pn.Column(self.nodes, self.vcpu, self.memory, self.units)
        self._update_review()
        if self.state.then == MOVE:
            self._offer_moves()
        after: list = []
        if self._place is not None:
            after = [
                "**After creating it**",
                self.then,
                self.new_project,
                self.move_note,
                self.move_projects,
                self.move_refused,
            ]
        return pn.Column(self.review, self.hours, self.storage, self.egress, *after)

    def _update_units(self, *_events) -> None:
        """The size step says how many compute units the size bills, and what a unit is."""
        state = self.state
        per_node = compute_units_per_node(state.vcpu or 0, state.memory or 0)
        nodes = state.nodes or 0
        self.units.object = (
            f"This size bills {counted(per_node, 'compute unit')} per node, "
            f"{counted(per_node * nodes, 'unit')} in all. {unit_definition()}"
        )

    def _update_review(self, *_events) -> None:
        if self.step == len(STEPS) - 1:
            self.review.object = self._review()

    def _layout_note(self) -> str:
        state = self.state
        cluster = state.on_cluster.strip() if state.provider == "server" else ""
        if not cluster:
            return ""
        return (
            f"On ClickHouse cluster {code(cluster)}: the curve tables are created `ON CLUSTER`, "
            "replicated within each shard and sharded by curve behind `Distributed` tables. "
            "Curvehouse reads them; imports go through your own pipeline for now.\n\n"
        )

    def _review(self) -> str:
        state = self.state
        estimate = state.estimate()
        kind = state.types[state.cluster_type]
        rows = "\n".join(
            f"| {line.label} | {line.how} | ${line.amount:,.2f} |" for line in estimate.lines
        )
        runs_on = state.labels[state.provider]
        return (
            f"**{text(state.cluster_name)}**: {text(kind.name)}, {text(runs_on)}, "
            f"region {text(state.region)}, "
            f"{state.nodes} × {state.vcpu} vCPU / {state.memory} GiB\n\n"
            f"{self._layout_note()}"
            f"### Estimated monthly cost: ${estimate.total:,.2f}\n\n"
            "| Item | How | Amount |\n|---|---|---:|\n"
            f"{rows}\n\n"
            f"{unit_definition()}\n\n"
            f"Priced at ClickHouse Cloud list rates in {' '.join(state.priced_in())} (sources and "
            "dates in `models/rates.json`) for the active hours, storage and data transfer "
            "below. An embedded or self-managed cluster runs on hardware you already pay for: "
            "this is what the same size would cost as a cloud service."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        def view(step):
            self.back.disabled = step == 0
            self.next.visible = step < len(STEPS) - 1
            self.create.visible = step == len(STEPS) - 1
            return pn.Column(pn.pane.HTML(self._trail()), self._body())

        return pn.Column(
            "## New cluster",
            pn.bind(view, self.param.step),
            self.problem,
            self.done,
            pn.Row(self.back, self.next, self.create),
            width=680,
        )
