"""What the cluster wizard has been told, as ``param`` state, and what it makes of it.

The state is the wizard's single source of truth, as :class:`~app.explorer.state.ExplorerState`
is the explorer's: the wizard's widgets are made from these parameters and edit them both ways.
From the state come each step's problems (in words for the person filling it in), the size,
the workload sizing, the cost estimate and the :class:`NewCluster` handed to the lifecycle.
"""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar
from urllib.parse import urlsplit

import param

from app.clusters.lifecycle import NAME, NewCluster
from app.clusters.placing import MOVE, NEW, NOTHING, AfterCreate, Movable, residency_refusal
from models import names
from models.accounts import AccountError, new_group_name
from models.cluster_types import (
    ClusterSpec,
    load_cluster_types,
    recommended_type,
    validate_cluster_spec,
)
from models.names import BadName
from models.pricing import (
    CostEstimate,
    Usage,
    estimate_monthly_cost,
    load_rates,
    size_workload,
)
from models.store import MetadataStore
from models.tables import Project
from providers.clusters import cluster_provider_class
from providers.errors import ProviderError
from providers.server_guard import check_host

# Where the estimate is priced when the cluster itself has no cloud bill.
REFERENCE_REGION = ("aws", "us-east-1")


class WizardState(param.Parameterized):
    """A new cluster as entered so far, for one browser session."""

    project_id = param.Integer(default=None, allow_None=True, doc="Project of the cluster.")
    cluster_name = param.String(
        default="", doc="Cluster name: 3-40 lower-case letters, digits and hyphens."
    )
    cluster_type = param.Selector(
        default=recommended_type().key,
        objects=list(load_cluster_types()),
        doc="Key of the cluster type (models/cluster_types.json); at first the recommended one.",
    )
    provider = param.Selector(
        default="embedded",
        objects=["embedded", "server", "cloud"],
        doc="Kind of deployment: an embedded node, a database on a server, a cloud service.",
    )
    region = param.String(default="", doc="Where it runs, among the provider's regions.")
    server_url = param.String(default="", doc="A server cluster's URL, with its account.")
    on_cluster = param.String(default="", doc="ClickHouse cluster name on that server, if any.")
    ip_access = param.String(default="", doc="A cloud service's allowed IP ranges, by commas.")
    nodes = param.Integer(default=None, allow_None=True, doc="Nodes.")
    vcpu = param.Integer(default=None, allow_None=True, doc="vCPU per node.")
    memory = param.Integer(default=None, allow_None=True, doc="Memory per node (GiB).")
    hours = param.Integer(default=176, allow_None=True, doc="Active hours per month, priced.")
    storage = param.Number(default=0.1, allow_None=True, doc="Compressed storage (TB), priced.")
    egress = param.Number(
        default=0.0,
        allow_None=True,
        doc="Data transfer: GB a month leaving to the internet (dashboards, notebook pulls), "
        "priced; the type's typical month sets it.",
    )
    per_day = param.Integer(default=10_000, allow_None=True, doc="Workload: curves per day.")
    samples = param.Integer(default=2_000, allow_None=True, doc="Workload: samples per curve.")
    retention = param.Integer(default=365, allow_None=True, doc="Workload: days kept.")
    regions = param.Dict(
        default={},
        doc="Regions of each kind of deployment offered (the others are not); by default "
        "embedded nodes only.",
    )
    server_hosts = param.List(
        default=[],
        item_type=str,
        doc="Hosts server clusters may use (CURVEHOUSE_SERVER_CLUSTER_HOSTS); empty: none.",
    )
    then = param.Selector(
        default=NOTHING,
        objects=[NOTHING, NEW, MOVE],
        doc="After creating it: nothing, a new project living on it, or projects moved onto it.",
    )
    new_project = param.String(default="", doc="Name of the new project living on the cluster.")
    move_projects = param.List(
        default=[], item_type=int, doc="Ids of the projects to move onto the cluster."
    )
    movable = param.List(
        default=[],
        item_type=Movable,
        doc="The projects this person may move (owns), offered for a move onto the cluster.",
    )
    may_own = param.Boolean(
        default=True, doc="Whether this person may own a new project (the operator may not)."
    )
    metadata = param.ClassSelector(
        class_=MetadataStore,
        default=None,
        allow_None=True,
        doc="Where project names are looked up (None: names are only checked for form).",
    )

    # The wizard's steps, in order; the review step checks what happens after creating it.
    STEPS: ClassVar[tuple[str, ...]] = ("Type", "Where it runs", "Size", "Review")

    def __init__(self, **params) -> None:
        """Opens on the recommended type with its defaults, embedded, in its first region."""
        embedded = list(cluster_provider_class("embedded").regions)
        params.setdefault("regions", {"embedded": embedded})
        params.setdefault("region", params["regions"]["embedded"][0])
        super().__init__(**params)
        self.types = load_cluster_types()
        kinds = self.param.provider.objects
        self.labels = {key: cluster_provider_class(key).label for key in kinds}
        self.type_defaults()

    @param.depends("cluster_type", watch=True)
    def type_defaults(self) -> None:
        """The chosen type's default size and, where the rate card has one, its typical
        month of active hours, storage and data transfer (as the README's table prices it)."""
        kind = self.types[self.cluster_type]
        spec = kind.default_spec()
        values = {
            "nodes": spec.nodes,
            "vcpu": spec.vcpu_per_node,
            "memory": spec.memory_gib_per_node,
        }
        typical = load_rates().typical.get(kind.key)
        if typical is not None:
            values.update(
                hours=int(typical.usage.active_hours),
                storage=float(typical.usage.storage_tb),
                egress=float(typical.usage.egress_gb),
            )
        self.param.update(**values)

    def sizing(self):
        """The workload's sizing: a suggested type and storage, with the reasons."""
        return size_workload(
            curves_per_day=max(1, self.per_day or 1),
            samples_per_curve=max(2, self.samples or 2),
            retention_days=max(1, self.retention or 1),
        )

    def use_suggestion(self) -> None:
        """Take the workload's suggested type and its compressed storage (at least 10 GB)."""
        sizing = self.sizing()
        self.cluster_type = sizing.suggested_type
        self.storage = round(max(sizing.compressed_tb, 0.01), 3)

    def size(self) -> ClusterSpec:
        return ClusterSpec(
            type_key=self.cluster_type,
            nodes=self.nodes or 0,
            vcpu_per_node=self.vcpu or 0,
            memory_gib_per_node=self.memory or 0,
        )

    def problems(self, step: int) -> list[str]:
        """What stops ``step`` from being done, in words for the person filling it in."""
        if step == 0 and not NAME.match(self.cluster_name or ""):
            return [
                "Name the cluster with 3-40 lower-case letters, digits and hyphens, "
                "starting with a letter."
            ]
        if step == 1:
            if self.region not in self.regions[self.provider]:
                return [f"Choose a region for {self.labels[self.provider]}."]
            url = (self.server_url or "").strip()
            if self.provider == "server" and not url.startswith(("http://", "https://")):
                return ["Give the server's URL, starting with http:// or https://."]
            if self.provider == "server":
                try:  # the same check the lifecycle makes, before anything is sent there
                    check_host(urlsplit(url), tuple(self.server_hosts))
                except (ProviderError, ValueError) as exc:
                    return [str(exc)]
            if self.provider == "server" and not re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_]{0,62}|", self.on_cluster.strip()
            ):
                return ["A ClickHouse cluster name has letters, digits and underscores."]
            if self.provider == "cloud" and not self.ip_ranges():
                return ["Say who may connect: at least one IP range such as 203.0.113.0/24."]
        if step == 2:
            return validate_cluster_spec(self.size())
        if step == 3:
            return self._after_problems()
        return []

    def _after_problems(self) -> list[str]:
        if self.then == NEW and not self.may_own:
            return ["Sign in to create a project: it needs an owner."]
        if self.then == NEW:
            try:
                if self.metadata is None:
                    names.group_name(self.new_project or "", "project")
                else:
                    with self.metadata.sessions() as session:
                        new_group_name(session, Project, self.new_project or "")
            except (BadName, AccountError) as exc:
                return [str(exc)]
        if self.then == MOVE:
            if not self.move_projects:
                return ["Choose the projects to move onto the cluster."]
            refused = self.refused()
            return [refused[i] for i in self.move_projects if i in refused]
        return []

    def refused(self) -> dict[int, str]:
        """The movable projects whose residency keeps them off this cluster, with the reason."""
        found = {
            p.id: residency_refusal(p, region=self.region, cluster_name=self.cluster_name)
            for p in self.movable
        }
        return {i: why for i, why in found.items() if why}

    def placeable(self) -> dict[str, int]:
        """The movable projects that may live on this cluster, by label."""
        refused = self.refused()
        return {f"{p.name} (now on {p.home})": p.id for p in self.movable if p.id not in refused}

    def after(self) -> AfterCreate:
        """What to do with projects once the cluster is created."""
        if self.then == NEW:
            return AfterCreate(NEW, project_name=self.new_project.strip())
        if self.then == MOVE:
            return AfterCreate(MOVE, project_ids=tuple(self.move_projects))
        return AfterCreate()

    def all_problems(self) -> list[str]:
        """Every step's problems, in step order."""
        return [p for step in range(len(self.STEPS)) for p in self.problems(step)]

    def ip_ranges(self) -> tuple[str, ...]:
        """The ranges typed, each a valid network (an invalid one makes the list empty)."""
        ranges = tuple(r.strip() for r in (self.ip_access or "").split(",") if r.strip())
        try:
            return tuple(str(ipaddress.ip_network(r, strict=False)) for r in ranges)
        except ValueError:
            return ()

    def priced_in(self) -> tuple[str, str]:
        """Where the estimate is priced: the cloud region chosen, if the rate card has it."""
        if self.provider == "cloud" and "/" in (self.region or ""):
            cloud, region = self.region.split("/", 1)
            if (cloud, region) in load_rates().regions:
                return cloud, region
        return REFERENCE_REGION

    def estimate(self) -> CostEstimate:
        """The monthly estimate of what was entered, line by line (the review step shows it)."""
        provider, region = self.priced_in()
        usage = Usage.for_spec(
            self.size(),
            active_hours=float(self.hours or 0),
            storage_tb=float(self.storage or 0),
            egress_gb=float(self.egress or 0),
            provider=provider,
            region=region,
        )
        return estimate_monthly_cost(usage)

    def request(self) -> NewCluster:
        options = {}
        if self.provider == "server":
            options = {"url": self.server_url.strip()}
            if self.on_cluster.strip():
                options["cluster"] = self.on_cluster.strip()
        return NewCluster(
            ip_access=self.ip_ranges() or ("127.0.0.1/32",),
            project_id=self.project_id,
            name=self.cluster_name,
            provider=self.provider,
            region=self.region,
            size=self.size(),
            provider_options=options,
        )
