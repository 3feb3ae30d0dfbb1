"""Monthly cost estimates for ClickHouse Cloud clusters, and workload sizing in reverse.

Pure functions over one data file, ``rates.json``, where every rate carries its source and an
``as_of`` date; :class:`RateCard` is that file's schema, checked when it is loaded, and nothing
here knows a price. ClickHouse Cloud bills four things, and so does :func:`estimate_monthly_cost`:

- **compute** in unit-hours while the service is *active* (1 unit = 8 GiB RAM + 2 vCPU). An idle
  service is not billed, so the active hours are an input, never assumed to be 24/7;
- **storage** of compressed data, in TB-months (1 TB = 10¹² bytes);
- **backups**, each retained backup counted as a full copy billed at the storage rate (an upper
  bound when backups are incremental);
- **data transfer**: public internet egress per GB (ingress and same-region traffic are free).

Region prices come as multipliers on the us-east-1 list prices for compute and storage, and as a
per-region egress rate. :func:`size_workload` goes the other way: from curves a day, samples per
curve and retention to stored rows, compressed bytes and a suggested cluster type with reasons.
Self-managed and embedded clusters run on hardware the product does not price.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as checked_dataclass

from models.cluster_types import ClusterSpec, load_cluster_types, validate_cluster_spec
from models.data_files import DATA, load_data_file
from models.wording import counted

DATA_FILE = "rates.json"
GIB_PER_UNIT = 8  # ClickHouse Cloud compute unit: 8 GiB RAM ...
VCPU_PER_UNIT = 2  # ... and 2 vCPU
MAX_HOURS_IN_MONTH = 31 * 24
BYTES_PER_TB = 10**12
BYTES_PER_GB = 10**9


class RateDataError(ValueError):
    """``rates.json`` is malformed: a developer's mistake, caught when it is loaded."""


class CostInputError(ValueError):
    """An estimate was asked for with inputs no bill can have (negative storage, 800 h...)."""


@checked_dataclass(frozen=True, config=DATA)
class Rate:
    """One number from a price list or a measurement, with where it came from."""

    value: Annotated[float, Field(allow_inf_nan=False)]
    unit: str
    source: str
    as_of: date
    approximate: bool
    note: str = ""

    @field_validator("unit", "source")
    @classmethod
    def _stated(cls, text: str, info: ValidationInfo) -> str:
        if not text.strip():
            raise ValueError(f"names no {info.field_name}")
        return text


@checked_dataclass(frozen=True, config=DATA)
class RegionRates:
    """How one cloud region differs from the us-east-1 list prices."""

    provider: str
    region: str
    label: str
    compute_multiplier: Rate
    storage_multiplier: Rate
    egress_per_gb: Rate


@checked_dataclass(frozen=True, config=DATA)
class SizingFacts:
    """The measured and decided numbers behind :func:`size_workload`."""

    bytes_per_sample: Rate
    scan_samples_per_vcpu_second: Rate
    full_scan_target_seconds: Rate


@dataclass(frozen=True)
class Usage:
    """What a month of one cluster consumes: the inputs of an estimate.

    Unchecked on construction, like :class:`ClusterSpec`: :func:`estimate_monthly_cost`
    refuses what no bill can have with a reason (:class:`CostInputError`).
    """

    nodes: int
    vcpu_per_node: int
    memory_gib_per_node: int
    active_hours: float
    storage_tb: float
    backups_retained: int = 1
    egress_gb: float = 0.0  # GB (10^9 bytes), as egress is billed
    tier: str = "scale"
    provider: str = "aws"
    region: str = "us-east-1"

    @classmethod
    def for_spec(cls, spec: ClusterSpec, **usage: Any) -> Usage:
        """Usage of a wizard's :class:`ClusterSpec`; ``usage`` gives hours, storage and the rest."""
        return cls(
            nodes=spec.nodes,
            vcpu_per_node=spec.vcpu_per_node,
            memory_gib_per_node=spec.memory_gib_per_node,
            **usage,
        )


@dataclass(frozen=True)
class TypicalConfiguration:
    """A stated, typical month of one cluster type, and the range the seed product quoted."""

    key: str
    cluster_type: str
    usage: Usage
    active_hours_per_day: float | None  # None: always on
    active_days_per_month: float | None
    seed_low_usd: float
    seed_high_usd: float
    seed_open_ended: bool  # "$500–2,000+": anything above the high end also matches
    assumptions: tuple[str, ...]


class ActiveTime(BaseModel):
    """When a typical configuration is billed: always on, or some hours on some days."""

    model_config = ConfigDict(**DATA, frozen=True)

    always_on: bool = False
    hours_per_day: Annotated[float, Field(ge=0, le=24)] | None = None
    days_per_month: Annotated[float, Field(ge=0, le=31)] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ActiveTime:
        shift = [v is not None for v in (self.hours_per_day, self.days_per_month)]
        if not (not any(shift) if self.always_on else all(shift)):
            raise ValueError("give either always_on: true or hours_per_day and days_per_month")
        return self

    def hours(self, hours_per_month: float) -> float:
        if self.always_on:
            return hours_per_month
        return self.hours_per_day * self.days_per_month  # type: ignore[operator]


class SeedRange(BaseModel):
    """What the seed product quoted for a type, in USD a month."""

    model_config = ConfigDict(**DATA, frozen=True)

    low: float
    high: float
    open_ended: bool  # "$500–2,000+": anything above the high end also matches


class TypicalEntry(BaseModel):
    """One ``typical_configurations`` entry as the file states it; checked against its type."""

    model_config = ConfigDict(**DATA, frozen=True)

    key: str
    cluster_type: str
    nodes: int
    vcpu_per_node: int
    memory_gib_per_node: int
    tier: str
    active: ActiveTime
    storage_tb: Annotated[float, Field(ge=0)]
    backups_retained: Annotated[int, Field(ge=0)]
    egress_gb: Annotated[float, Field(ge=0)]
    provider: str
    region: str
    seed_range_usd: SeedRange
    assumptions: tuple[str, ...]

    @model_validator(mode="after")
    def _fits_its_type(self) -> TypicalEntry:
        spec = ClusterSpec(
            self.cluster_type, self.nodes, self.vcpu_per_node, self.memory_gib_per_node
        )
        errors = validate_cluster_spec(spec)
        if errors:
            raise ValueError(" ".join(errors))
        return self

    def configuration(self, hours_per_month: float) -> TypicalConfiguration:
        """This entry priced as a month: its usage with the active hours worked out."""
        active = self.active
        return TypicalConfiguration(
            key=self.key,
            cluster_type=self.cluster_type,
            usage=Usage(
                nodes=self.nodes,
                vcpu_per_node=self.vcpu_per_node,
                memory_gib_per_node=self.memory_gib_per_node,
                active_hours=active.hours(hours_per_month),
                storage_tb=self.storage_tb,
                backups_retained=self.backups_retained,
                egress_gb=self.egress_gb,
                tier=self.tier,
                provider=self.provider,
                region=self.region,
            ),
            active_hours_per_day=active.hours_per_day,
            active_days_per_month=active.days_per_month,
            seed_low_usd=self.seed_range_usd.low,
            seed_high_usd=self.seed_range_usd.high,
            seed_open_ended=self.seed_range_usd.open_ended,
            assumptions=self.assumptions,
        )


class RateCard(BaseModel):
    """Everything in ``rates.json``: the file's schema, checked when loaded, read-only after."""

    model_config = ConfigDict(**DATA, frozen=True)

    schema_version: int
    note: str = ""
    currency: str
    hours_per_month: Rate
    compute_per_unit_hour: Annotated[Mapping[str, Rate], AfterValidator(MappingProxyType)]  # tier
    storage_per_tb_month: Rate
    backup_per_tb_month: Rate
    region_list: tuple[RegionRates, ...] = Field(alias="regions")
    sizing: SizingFacts
    typical_configurations: tuple[TypicalEntry, ...] = ()
    _regions: Mapping[tuple[str, str], RegionRates] = PrivateAttr()
    _typical: Mapping[str, TypicalConfiguration] = PrivateAttr()

    @model_validator(mode="after")
    def _index(self) -> RateCard:
        regions: dict[tuple[str, str], RegionRates] = {}
        for rates in self.region_list:
            if (rates.provider, rates.region) in regions:
                raise ValueError(f"regions: {rates.provider} {rates.region} is listed twice")
            regions[(rates.provider, rates.region)] = rates
        self._regions = MappingProxyType(regions)
        for entry in self.typical_configurations:
            if entry.tier not in self.compute_per_unit_hour:
                raise ValueError(f"typical configuration {entry.key!r}: no tier {entry.tier!r}")
            if (entry.provider, entry.region) not in regions:
                raise ValueError(
                    f"typical configuration {entry.key!r}: no rates for {entry.provider} "
                    f"{entry.region}"
                )
        hours = self.hours_per_month.value
        self._typical = MappingProxyType(
            {entry.key: entry.configuration(hours) for entry in self.typical_configurations}
        )
        return self

    @property
    def regions(self) -> Mapping[tuple[str, str], RegionRates]:
        """Each region's rates by ``(provider, region)``."""
        return self._regions

    @property
    def typical(self) -> Mapping[str, TypicalConfiguration]:
        """The typical configurations by key, each with its month's usage."""
        return self._typical

    def providers(self) -> tuple[str, ...]:
        """The cloud providers that have rates, in file order."""
        return tuple(dict.fromkeys(provider for provider, _ in self._regions))

    def region_rates(self, provider: str, region: str) -> RegionRates:
        """The rates of one region, or an error naming the regions that have rates."""
        try:
            return self.regions[(provider, region)]
        except KeyError:
            known = [r for p, r in self.regions if p == provider]
            where = (
                f"known {provider} regions: {', '.join(known)}"
                if known
                else f"known providers: {', '.join(sorted({p for p, _ in self.regions}))}"
            )
            raise CostInputError(f"No rates for {provider} region {region!r}; {where}.") from None

    def all_rates(self) -> Iterator[tuple[str, Rate]]:
        """Every rate with a dotted name, so a test can check each has a source and date."""
        yield "hours_per_month", self.hours_per_month
        for tier, rate in self.compute_per_unit_hour.items():
            yield f"compute_per_unit_hour.{tier}", rate
        yield "storage_per_tb_month", self.storage_per_tb_month
        yield "backup_per_tb_month", self.backup_per_tb_month
        for (provider, region), rates in self.regions.items():
            for name in ("compute_multiplier", "storage_multiplier", "egress_per_gb"):
                yield f"regions.{provider}.{region}.{name}", getattr(rates, name)
        for name in (
            "bytes_per_sample",
            "scan_samples_per_vcpu_second",
            "full_scan_target_seconds",
        ):
            yield f"sizing.{name}", getattr(self.sizing, name)


@dataclass(frozen=True)
class CostLine:
    """One line of an estimate: quantity × effective rate = amount, and how it was reached."""

    label: str
    quantity: float
    unit: str
    rate: float  # effective, region included
    amount: float
    how: str


@dataclass(frozen=True)
class CostEstimate:
    """A monthly estimate as line items, for the wizard's review step and the dashboard."""

    usage: Usage
    currency: str
    compute: CostLine
    storage: CostLine
    backup: CostLine
    transfer: CostLine
    total: float
    assumptions: tuple[str, ...] = ()

    @property
    def lines(self) -> tuple[CostLine, ...]:
        """The four line items in bill order."""
        return (self.compute, self.storage, self.backup, self.transfer)


@dataclass(frozen=True)
class WorkloadSizing:
    """What a curve workload needs: rows, compressed size, and a cluster type with reasons."""

    curves_per_day: float
    samples_per_curve: float
    retention_days: float
    bytes_per_sample: float
    curves_stored: int  # rows in `curves`, and in the array layout's sample table
    samples_stored: int  # raw rows a one-row-per-sample layout would hold
    compressed_bytes: float
    compressed_tb: float
    full_scan_seconds: Mapping[str, float]  # by cluster type, at its default size
    suggested_type: str
    reasons: tuple[str, ...]


@lru_cache(maxsize=4)
def load_rates(path: Path | None = None) -> RateCard:
    """Read and check ``rates.json``; ``path`` is for tests, the default is the packaged file."""
    return load_data_file(RateCard, DATA_FILE, path, RateDataError)


def compute_units_per_node(vcpu: int, memory_gib: float) -> int:
    """Compute units one node bills: whichever of memory and vCPU needs more, rounded up.

    ClickHouse Cloud sells a fixed ratio (8 GiB + 2 vCPU per unit) in 8 GiB steps, so a node
    that wants more vCPU per GiB than that ratio is billed by its vCPU.
    """
    return max(math.ceil(memory_gib / GIB_PER_UNIT), math.ceil(vcpu / VCPU_PER_UNIT))


def unit_definition() -> str:
    """What a compute unit is, in one sentence for the screens that show a cost in units."""
    return (
        f"A compute unit is how ClickHouse Cloud bills compute: {GIB_PER_UNIT} GiB of memory with "
        f"{VCPU_PER_UNIT} vCPU, priced per hour the service is active; a node bills whichever of "
        "its memory and vCPU needs more units, rounded up."
    )


def estimate_monthly_cost(usage: Usage, rates: RateCard | None = None) -> CostEstimate:
    """The monthly list-price estimate of ``usage``, line by line."""
    rates = rates or load_rates()
    _check_usage(usage, rates)
    region = rates.region_rates(usage.provider, usage.region)
    tier = rates.compute_per_unit_hour[usage.tier]
    units = usage.nodes * compute_units_per_node(usage.vcpu_per_node, usage.memory_gib_per_node)
    unit_hours = units * usage.active_hours
    compute_rate = tier.value * region.compute_multiplier.value
    storage_rate = rates.storage_per_tb_month.value * region.storage_multiplier.value
    backup_rate = rates.backup_per_tb_month.value * region.storage_multiplier.value
    backup_tb = usage.storage_tb * usage.backups_retained
    egress_rate = region.egress_per_gb.value
    where = f"({region.provider} {region.region})"
    mult = f" × {region.compute_multiplier.value:g} {where}"
    smult = f" × {region.storage_multiplier.value:g} {where}"
    compute = CostLine(
        "Compute",
        unit_hours,
        "unit-hours",
        compute_rate,
        unit_hours * compute_rate,
        f"{counted(units, 'unit')} × {usage.active_hours:g} h × {_usd(tier.value)}{mult}",
    )
    storage = CostLine(
        "Storage",
        usage.storage_tb,
        "TB-months",
        storage_rate,
        usage.storage_tb * storage_rate,
        f"{usage.storage_tb:g} TB × {_usd(rates.storage_per_tb_month.value)}{smult}",
    )
    backup = CostLine(
        "Backups",
        backup_tb,
        "TB-months",
        backup_rate,
        backup_tb * backup_rate,
        f"{usage.backups_retained} × {usage.storage_tb:g} TB × "
        f"{_usd(rates.backup_per_tb_month.value)}{smult}",
    )
    transfer = CostLine(
        "Data transfer",
        usage.egress_gb,
        "GB egress",
        egress_rate,
        usage.egress_gb * egress_rate,
        f"{usage.egress_gb:g} GB × {_usd(egress_rate)} {where}",
    )
    total = compute.amount + storage.amount + backup.amount + transfer.amount
    return CostEstimate(
        usage=usage,
        currency=rates.currency,
        compute=compute,
        storage=storage,
        backup=backup,
        transfer=transfer,
        total=total,
        assumptions=_assumptions(usage, units, tier, region, rates),
    )


def active_hours_for_budget(usage: Usage, budget: float, rates: RateCard | None = None) -> float:
    """How many active hours a month ``budget`` pays for, everything else in ``usage`` fixed.

    The answer is 0 when storage, backups and transfer alone exceed the budget, and may exceed
    the hours in a month, which means the budget also covers running always on.
    """
    rates = rates or load_rates()
    fixed = estimate_monthly_cost(_with_hours(usage, 0.0), rates).total
    hourly = estimate_monthly_cost(_with_hours(usage, 1.0), rates).total - fixed
    return max(0.0, (budget - fixed) / hourly)


def typical_estimates(rates: RateCard | None = None) -> dict[str, CostEstimate]:
    """The estimate of every typical configuration in ``rates.json``, by key."""
    rates = rates or load_rates()
    return {key: estimate_monthly_cost(t.usage, rates) for key, t in rates.typical.items()}


def size_workload(
    *,
    curves_per_day: float,
    samples_per_curve: float,
    retention_days: float,
    bytes_per_sample: float | None = None,
    critical: bool = False,
    rates: RateCard | None = None,
) -> WorkloadSizing:
    """Turn a curve workload into stored rows, compressed size and a suggested cluster type.

    ``bytes_per_sample`` defaults to the 1.26 compressed bytes per (x, y) sample Curvehouse
    measured on its own store (demo plant, sensor-resolution codes); noisy float data needs up
    to 4 B. The suggestion is the smallest type whose default size reads every retained sample
    within the target time (``rates.json`` ``sizing``), assuming the query spreads over all
    nodes. ``critical`` (lines or quality gates depend on the answers) always means Production,
    the only type sized to run replicated around the clock.
    """
    rates = rates or load_rates()
    facts = rates.sizing
    bps = facts.bytes_per_sample.value if bytes_per_sample is None else bytes_per_sample
    for name, value in (
        ("Curves per day", curves_per_day),
        ("Samples per curve", samples_per_curve),
        ("Retention days", retention_days),
        ("Bytes per sample", bps),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise CostInputError(f"{name} must be a number above 0; got {value!r}.")
    curves = round(curves_per_day * retention_days)
    samples = round(curves_per_day * samples_per_curve * retention_days)
    nbytes = samples * bps
    target = facts.full_scan_target_seconds.value
    per_vcpu = facts.scan_samples_per_vcpu_second.value
    types = list(load_cluster_types().values())
    scan = {t.key: samples / (per_vcpu * t.nodes.default * t.vcpu_per_node.default) for t in types}
    storage_usd = nbytes / BYTES_PER_TB * rates.storage_per_tb_month.value
    reasons = [
        f"{_some(curves_per_day, 'curve')}/day × {_some(samples_per_curve, 'sample')} × "
        f"{_some(retention_days, 'day')} = {counted(samples, 'sample')} in "
        f"{counted(curves, 'curve')}.",
        f"At {bps:g} B per sample"
        + (" (measured on Curvehouse's own store)" if bytes_per_sample is None else "")
        + f" that is {nbytes / BYTES_PER_GB:,.1f} GB compressed "
        f"(${storage_usd:,.2f}/month of storage at list price).",
        "Reading every retained sample once takes about "
        + ", ".join(
            f"{scan[t.key]:,.1f} s on {t.name} ({t.nodes.default * t.vcpu_per_node.default} vCPU)"
            for t in types
        )
        + f", if the query spreads over every node; the target is {target:g} s.",
    ]
    fitting = [t for t in types if scan[t.key] <= target]
    if fitting:
        chosen = fitting[0]
        reasons.append(f"{chosen.name} is the smallest type that meets the target.")
    else:
        chosen = types[-1]
        reasons.append(
            f"No type meets the target at its default size; {chosen.name} comes closest. Add "
            "nodes, or answer history-wide questions from pre-aggregated levels."
        )
    if critical and chosen.key != types[-1].key:
        chosen = types[-1]
        reasons.append(
            f"Lines depend on the answers, so {chosen.name}: replicated and always on, "
            "whatever the data volume."
        )
    return WorkloadSizing(
        curves_per_day=curves_per_day,
        samples_per_curve=samples_per_curve,
        retention_days=retention_days,
        bytes_per_sample=bps,
        curves_stored=curves,
        samples_stored=samples,
        compressed_bytes=nbytes,
        compressed_tb=nbytes / BYTES_PER_TB,
        full_scan_seconds=MappingProxyType(scan),
        suggested_type=chosen.key,
        reasons=tuple(reasons),
    )


def _assumptions(
    usage: Usage, units: int, tier: Rate, region: RegionRates, rates: RateCard
) -> tuple[str, ...]:
    per_node = compute_units_per_node(usage.vcpu_per_node, usage.memory_gib_per_node)
    out = [
        f"A node of {usage.vcpu_per_node} vCPU and {usage.memory_gib_per_node} GiB bills "
        f"{counted(per_node, 'compute unit')} (1 unit = {GIB_PER_UNIT} GiB + {VCPU_PER_UNIT} "
        f"vCPU, whichever needs more, rounded up); "
        f"{counted(usage.nodes, 'node')} bill{'s' if usage.nodes == 1 else ''} {units}.",
        f"Compute is billed only while the service is active: {usage.active_hours:g} h this "
        f"month (always on is {rates.hours_per_month.value:g} h).",
        f"{usage.tier.capitalize()} tier at {_usd(tier.value)} per unit-hour in AWS us-east-1"
        + (" (approximate list price)" if tier.approximate else "")
        + f"; {region.label} compute × {region.compute_multiplier.value:g}, storage × "
        f"{region.storage_multiplier.value:g}"
        + (" (approximate)" if region.compute_multiplier.approximate else "")
        + ".",
        "Each retained backup counts as a full copy of the compressed data at the storage "
        "rate; incremental backups would cost less.",
        "Data transfer is public internet egress only; ingress and same-region traffic are free.",
        "List prices: no committed-spend discount, tax or ClickPipes.",
    ]
    return tuple(out)


def _check_usage(usage: Usage, rates: RateCard) -> None:
    whole = (("Nodes", usage.nodes, 1), ("vCPU per node", usage.vcpu_per_node, 1))
    for name, value, low in (*whole, ("Backups retained", usage.backups_retained, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise CostInputError(f"{name} must be a whole number of at least {low}; got {value!r}.")
    for name, value, unit in (
        ("Memory per node", usage.memory_gib_per_node, "GiB"),
        ("Active hours", usage.active_hours, "h"),
        ("Compressed storage", usage.storage_tb, "TB"),
        ("Egress", usage.egress_gb, "GB"),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise CostInputError(f"{name} must be 0 {unit} or more; got {value!r}.")
    if usage.memory_gib_per_node <= 0:
        raise CostInputError(
            f"Memory per node must be above 0 GiB; got {usage.memory_gib_per_node}."
        )
    if usage.active_hours > MAX_HOURS_IN_MONTH:
        raise CostInputError(
            f"Active hours cannot exceed {MAX_HOURS_IN_MONTH} in a month (31 days × 24 h); "
            f"got {usage.active_hours:g}. Always on is {rates.hours_per_month.value:g} h."
        )
    if usage.tier not in rates.compute_per_unit_hour:
        raise CostInputError(
            f"Unknown tier {usage.tier!r}; choose one of: {', '.join(rates.compute_per_unit_hour)}."
        )


def _usd(amount: float) -> str:
    """``$0.30``, ``$25.30``, ``$0.1152``: cents always, sub-cent digits only when they exist."""
    text = f"{amount:,.4f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"${whole}.{frac.ljust(2, '0')}"


def _some(amount: float, noun: str) -> str:
    """``amount`` as typed (``1``, ``2.5``, ``10,000``) with ``noun`` in its number."""
    return f"{amount:,g} {noun}{'' if amount == 1 else 's'}"


def _with_hours(usage: Usage, hours: float) -> Usage:
    return replace(usage, active_hours=hours)
