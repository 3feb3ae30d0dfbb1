"""The four-step creation wizard: type, where it runs, size, then review with a cost estimate.

Each step checks its own input and says what is wrong before Next moves on; Back and Next keep
what was entered (the widgets live as long as the wizard). Create hands a :class:`NewCluster`
to the lifecycle service, which refuses anything the steps missed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

import panel as pn
import param

from app.clusters.lifecycle import NAME, ClusterRequestError, NewCluster
from app.markup import code, text
from models.cluster_types import ClusterSpec, load_cluster_types, validate_cluster_spec
from models.pricing import Usage, estimate_monthly_cost, load_rates, size_workload
from providers.base import ProviderError
from providers.clusters import cluster_provider_class
from providers.server_guard import ENABLE_HINT, check_host

STEPS = ("Type", "Where it runs", "Size", "Review")
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
# Where the estimate is priced when the cluster itself has no cloud bill.
REFERENCE_REGION = ("aws", "us-east-1")


class ClusterWizard(pn.viewable.Viewer):
    """Collects a :class:`NewCluster`; ``on_create`` gets it and returns an error or None."""

    step = param.Integer(default=0, bounds=(0, len(STEPS) - 1), doc="The step shown, from 0.")

    def __init__(
        self,
        *,
        project_id: int | None = None,
        projects: dict[str, int] | None = None,
        on_create: Callable[[NewCluster], str | None],
        cloud_regions: tuple[str, ...] = (),
        server_hosts: tuple[str, ...] = (),
    ) -> None:
        """``projects``: name -> id of the projects the person may create clusters in (a
        choice is offered when there are several), or one ``project_id``. ``cloud_regions``:
        where ClickHouse Cloud can run; empty when it is not configured. ``server_hosts``: the
        hosts server clusters may use (``CURVEHOUSE_SERVER_CLUSTER_HOSTS``); empty: none, and
        server clusters are not offered."""
        super().__init__()
        self._server_hosts = tuple(server_hosts)
        self._labels = {key: cluster_provider_class(key).label for key in OFFERED}
        self._regions = {
            "embedded": list(cluster_provider_class("embedded").regions),
            **({"server": list(cluster_provider_class("server").regions)} if server_hosts else {}),
            **({"cloud": list(cloud_regions)} if cloud_regions else {}),
        }
        self._on_create = on_create
        projects = projects or {"": project_id}
        self.project = pn.widgets.Select(
            label="Project", options=projects, visible=len(projects) > 1
        )
        self._types = load_cluster_types()
        recommended = next(k for k, t in self._types.items() if t.recommended)
        self.cluster_name = pn.widgets.TextInput(
            label="Cluster name", placeholder="e.g. press-shop-dev"
        )
        self.cluster_type = pn.widgets.RadioBoxGroup(
            options={
                t.name + (" (recommended)" if t.recommended else ""): k
                for k, t in self._types.items()
            },
            value=recommended,
        )
        self.provider = pn.widgets.RadioBoxGroup(
            options={
                f"{self._labels[key]}: {what}": key
                for key, what in OFFERED.items()
                if key in self._regions
            },
            value="embedded",
        )
        self.region = pn.widgets.Select(label="Region", options=self._regions["embedded"])
        self.on_cluster = pn.widgets.TextInput(
            label="ClickHouse cluster name, if the server is one node of several (optional)",
            placeholder="e.g. plant_cluster",
            visible=False,
        )
        self.ip_access = pn.widgets.TextInput(
            label="Who may connect (comma-separated IP ranges)",
            placeholder="e.g. 203.0.113.0/24, 198.51.100.7/32",
            visible=False,
        )
        self.server_url = pn.widgets.PasswordInput(
            label="Server URL (an account that may create databases)",
            placeholder="http://admin:password@clickhouse.plant.local:8123",
            visible=False,
        )
        self.nodes = pn.widgets.IntInput(label="Nodes")
        self.vcpu = pn.widgets.IntInput(label="vCPU per node")
        self.memory = pn.widgets.IntInput(label="Memory per node (GiB)")
        self.hours = pn.widgets.IntInput(
            label="Active hours per month", value=176, start=0, end=744
        )
        self.storage = pn.widgets.FloatInput(
            label="Compressed storage (TB)", value=0.1, start=0.0, step=0.1
        )
        self.review = pn.pane.Markdown(name="cost-review")
        self.hours.param.watch(self._update_review, "value")
        self.storage.param.watch(self._update_review, "value")
        # Sizing from the workload: curves a day x samples x retention -> a suggested type.
        self.per_day = pn.widgets.IntInput(label="Curves per day", value=10_000, start=1, width=180)
        self.samples = pn.widgets.IntInput(
            label="Samples per curve", value=2_000, start=2, width=180
        )
        self.retention = pn.widgets.IntInput(label="Days kept", value=365, start=1, width=180)
        self.suggestion = pn.pane.Markdown()
        self.use_suggestion = pn.widgets.Button(label="Use the suggested type")
        self.use_suggestion.on_click(lambda _: self._use_suggestion())
        for widget in (self.per_day, self.samples, self.retention):
            widget.param.watch(self._update_suggestion, "value")
        self._update_suggestion()
        self.problem = pn.pane.Alert(alert_type="danger", visible=False, margin=(5, 0))
        self.back = pn.widgets.Button(label="Back", disabled=True)
        self.next = pn.widgets.Button(label="Next", color="primary")
        self.create = pn.widgets.Button(label="Create cluster", color="success", visible=False)
        self.back.on_click(lambda _: self._go(-1))
        self.next.on_click(lambda _: self._go(+1))
        self.create.on_click(self._submit)
        self.cluster_type.param.watch(self._type_defaults, "value")
        self.provider.param.watch(self._provider_changed, "value")
        self._type_defaults()

    # Steps ---------------------------------------------------------------------------------

    def _type_defaults(self, *_events) -> None:
        kind = self._types[self.cluster_type.value]
        spec = kind.default_spec()
        for widget, limit, value in (
            (self.nodes, kind.nodes, spec.nodes),
            (self.vcpu, kind.vcpu_per_node, spec.vcpu_per_node),
            (self.memory, kind.memory_gib_per_node, spec.memory_gib_per_node),
        ):
            widget.value = value
            widget.description = f"{kind.name}: {limit.describe()}"
        typical = load_rates().typical.get(kind.key)
        if typical is not None:
            self.hours.value = int(typical.usage.active_hours)
            self.storage.value = float(typical.usage.storage_tb)

    def sizing(self):
        return size_workload(
            curves_per_day=max(1, self.per_day.value or 1),
            samples_per_curve=max(2, self.samples.value or 2),
            retention_days=max(1, self.retention.value or 1),
        )

    def _update_suggestion(self, *_events) -> None:
        sizing = self.sizing()
        kind = self._types[sizing.suggested_type]
        self.suggestion.object = f"Suggested: **{kind.name}**\n\n" + "\n".join(
            f"- {reason}" for reason in sizing.reasons
        )

    def _use_suggestion(self) -> None:
        self.cluster_type.value = self.sizing().suggested_type
        self.storage.value = round(max(self.sizing().compressed_tb, 0.01), 3)

    def _provider_changed(self, *_events) -> None:
        self.region.options = self._regions[self.provider.value]
        self.region.value = self.region.options[0]
        self.server_url.visible = self.on_cluster.visible = self.provider.value == "server"
        self.ip_access.visible = self.provider.value == "cloud"

    def size(self) -> ClusterSpec:
        return ClusterSpec(
            type_key=self.cluster_type.value,
            nodes=self.nodes.value or 0,
            vcpu_per_node=self.vcpu.value or 0,
            memory_gib_per_node=self.memory.value or 0,
        )

    def problems(self, step: int) -> list[str]:
        """What stops ``step`` from being done, in words for the person filling it in."""
        if step == 0 and not NAME.match(self.cluster_name.value or ""):
            return [
                "Name the cluster with 3-40 lower-case letters, digits and hyphens, "
                "starting with a letter."
            ]
        if step == 1:
            if self.region.value not in self._regions[self.provider.value]:
                return [f"Choose a region for {self._labels[self.provider.value]}."]
            url = (self.server_url.value or "").strip()
            if self.provider.value == "server" and not url.startswith(("http://", "https://")):
                return ["Give the server's URL, starting with http:// or https://."]
            if self.provider.value == "server":
                try:  # the same check the lifecycle makes, before anything is sent there
                    check_host(urlsplit(url), self._server_hosts)
                except (ProviderError, ValueError) as exc:
                    return [str(exc)]
            if self.provider.value == "server" and not re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_]{0,62}|", self.on_cluster.value.strip()
            ):
                return ["A ClickHouse cluster name has letters, digits and underscores."]
            if self.provider.value == "cloud" and not self._ip_ranges():
                return ["Say who may connect: at least one IP range such as 203.0.113.0/24."]
        if step == 2:
            return validate_cluster_spec(self.size())
        return []

    def _go(self, delta: int) -> None:
        if delta > 0:
            found = self.problems(self.step)
            if found:
                self._show_problem(found)
                return
        self.problem.visible = False
        self.step = max(0, min(len(STEPS) - 1, self.step + delta))

    def _show_problem(self, found: list[str]) -> None:
        self.problem.object = "\n".join(f"- {text(p)}" for p in found)
        self.problem.visible = True

    def priced_in(self) -> tuple[str, str]:
        """Where the estimate is priced: the cloud region chosen, if the rate card has it."""
        if self.provider.value == "cloud" and "/" in (self.region.value or ""):
            cloud, region = self.region.value.split("/", 1)
            if (cloud, region) in load_rates().regions:
                return cloud, region
        return REFERENCE_REGION

    def estimate(self):
        provider, region = self.priced_in()
        usage = Usage.for_spec(
            self.size(),
            active_hours=float(self.hours.value or 0),
            storage_tb=float(self.storage.value or 0),
            provider=provider,
            region=region,
        )
        return estimate_monthly_cost(usage)

    def request(self) -> NewCluster:
        options = {}
        if self.provider.value == "server":
            options = {"url": self.server_url.value.strip()}
            if self.on_cluster.value.strip():
                options["cluster"] = self.on_cluster.value.strip()
        return NewCluster(
            ip_access=self._ip_ranges() or ("127.0.0.1/32",),
            project_id=self.project.value,
            name=self.cluster_name.value,
            provider=self.provider.value,
            region=self.region.value,
            size=self.size(),
            provider_options=options,
        )

    def _ip_ranges(self) -> tuple[str, ...]:
        """The ranges typed, each a valid network (an invalid one makes the list empty)."""
        ranges = tuple(r.strip() for r in (self.ip_access.value or "").split(",") if r.strip())
        try:
            return tuple(str(ipaddress.ip_network(r, strict=False)) for r in ranges)
        except ValueError:
            return ()

    def _submit(self, _event) -> None:
        found = [p for step in range(len(STEPS) - 1) for p in self.problems(step)]
        if found:
            self._show_problem(found)
            return
        self.create.disabled = True
        try:
            error = self._on_create(self.request())
        except ClusterRequestError as exc:
            error = str(exc)
        finally:
            self.create.disabled = False
        if error:
            self._show_problem([error])
            return
        self.problem.visible = False
        self.cluster_name.value = ""
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
                for t in self._types.values()
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
            if "server" not in self._regions:
                note += "\n\n" + SERVER_UNSET
            if "cloud" not in self._regions:
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
            return pn.Column(self.nodes, self.vcpu, self.memory)
        self._update_review()
        return pn.Column(self.review, self.hours, self.storage)

    def _update_review(self, *_events) -> None:
        if self.step == len(STEPS) - 1:
            self.review.object = self._review()

    def _layout_note(self) -> str:
        cluster = self.on_cluster.value.strip() if self.provider.value == "server" else ""
        if not cluster:
            return ""
        return (
            f"On ClickHouse cluster {code(cluster)}: the curve tables are created `ON CLUSTER`, "
            "replicated within each shard and sharded by curve behind `Distributed` tables. "
            "Curvehouse reads them; imports go through your own pipeline for now.\n\n"
        )

    def _review(self) -> str:
        estimate = self.estimate()
        kind = self._types[self.cluster_type.value]
        rows = "\n".join(
            f"| {line.label} | {line.how} | ${line.amount:,.2f} |" for line in estimate.lines
        )
        runs_on = self._labels[self.provider.value]
        return (
            f"**{text(self.cluster_name.value)}**: {text(kind.name)}, {text(runs_on)}, "
            f"region {text(self.region.value)}, "
            f"{self.nodes.value} × {self.vcpu.value} vCPU / {self.memory.value} GiB\n\n"
            f"{self._layout_note()}"
            f"### Estimated monthly cost: ${estimate.total:,.2f}\n\n"
            "| Item | How | Amount |\n|---|---|---:|\n"
            f"{rows}\n\n"
            f"Priced at ClickHouse Cloud list rates in {' '.join(self.priced_in())} (sources and "
            "dates in `models/rates.json`) for the active hours and storage below. An embedded "
            "or self-managed cluster runs on hardware you already pay for: this is what the "
            "same size would cost as a cloud service."
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
            pn.Row(self.back, self.next, self.create),
            width=680,
        )
