"""Request and response models: the API's contract, and the source of ``/api/openapi.json``.

Every text field a client sends has a length and a character whitelist, checked before any
store sees it; values still travel to SQL as bound parameters only. Request bodies forbid
unknown fields, so a misspelt option is an error instead of being ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.cluster_types import NodeSize, load_cluster_types
from models.pricing import MAX_HOURS_IN_MONTH, CostLine, load_rates
from models.tables import ClusterStatus, MoveState, ProviderKey, Role
from models.times import TimeInputError, check_years, parse_time
from pipelines.report_png import (
    DEFAULT_PRESET,
    MAX_DPI,
    MAX_SIDE,
    MIN_DPI,
    MIN_HEIGHT,
    MIN_WIDTH,
    PRESETS,
    PngSize,
    ReportSizeError,
)
from pipelines.views import COLOR_COLUMNS

T = TypeVar("T")

# Names and filter values: any printable text ("Ana's laptop", station "S1/2"), no control
# characters. Values reach SQL only as bound parameters, so quotes are harmless there.
LABEL_PATTERN = r"^[^\x00-\x1f\x7f]+$"
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=LABEL_PATTERN),
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s'\";\\]+@[^@\s'\";\\]+$",
    ),
]
ClusterName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{2,39}$")]
# Choices that are data: the cluster types, and the rate card's tiers and cloud providers.
ClusterTypeKey = Literal[tuple(load_cluster_types())]  # type: ignore[valid-type]
Tier = Literal[tuple(load_rates().compute_per_unit_hour)]  # type: ignore[valid-type]
CloudProvider = Literal[load_rates().providers()]  # type: ignore[valid-type]
Result = Literal["OK", "NOK", "UNKNOWN"]
# Data coordinates a raster may ask for: finite, and small enough that ranges cannot overflow.
Coordinate = Annotated[float, Field(ge=-1e15, le=1e15, allow_inf_nan=False)]


def _engine_time(value: Any) -> Any:
    """A time read as the explorer reads it (:func:`models.times.parse_time`: ISO 8601 only, no
    offset means UTC, years the engine's DateTime64 holds), in UTC; ``11.12.2026`` is refused
    with the accepted form instead of being guessed."""
    try:
        if isinstance(value, str):
            return parse_time(value)
        if isinstance(value, datetime):
            return check_years(value)
    except TimeInputError as exc:
        raise PydanticCustomError("time", str(exc)) from None
    return value  # anything else: pydantic's own datetime check refuses it


Moment = Annotated[datetime, BeforeValidator(_engine_time)]
TIMES = "ISO 8601 (2026-12-11, 2026-12-11 06:00, 2026-12-11T06:00:00+01:00); no offset: UTC"


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Paging(BaseModel):
    limit: int = Field(50, ge=1, le=500, description="items per page")
    offset: int = Field(0, ge=0, le=1_000_000_000, description="items to skip")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# -- me and tokens --------------------------------------------------------------------------


class ProjectRole(BaseModel):
    id: int
    name: str
    role: Role


class MeOut(BaseModel):
    id: int
    email: str
    display_name: str
    projects: list[ProjectRole]


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the token's first characters, to tell tokens apart")
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreate(Request):
    name: Label
    days: int = Field(90, ge=1, le=365)


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(description="the bearer token; shown this once, stored only as a hash")


# -- projects and members -------------------------------------------------------------------


class HomeOut(BaseModel):
    kind: Literal["builtin", "cluster"] = Field(
        description="the built-in engine, or a cluster on the Clusters page"
    )
    cluster_id: int | None
    name: str = Field(description="the cluster's name, or 'built-in engine'")
    status: str = Field(description="the cluster's observed state; 'running' for the built-in")
    region: str


class MoveOut(BaseModel):
    id: int
    state: MoveState = Field(
        description="waiting (for its target to run), copying, checking, switched (the old copy "
        "awaits confirm), cleaning, done, failed (resume or cancel) or cancelled"
    )
    source: str = Field(description="'the built-in engine' or 'cluster <name>'")
    target: str
    requested_by: str
    requested_at: datetime
    switched_at: datetime | None
    finished_at: datetime | None
    detail: str = Field(description="why it failed or what it waits for, in words")
    datasets_done: int
    datasets_total: int
    curves_done: int
    curves_total: int
    samples_done: int
    samples_total: int
    percent: float = Field(description="copied share of the samples (of the curves until counted)")
    checks: dict[str, Any] = Field(
        description="the tallies both sides gave: {'source': {...}, 'target': {...}}"
    )


class MoveCreate(Request):
    cluster_id: int | None = Field(
        ge=1,
        le=2**63 - 1,
        description="the cluster to move the curves to (you need create_cluster in its "
        "project); null: the built-in engine",
    )


class ProjectOut(BaseModel):
    id: int
    name: str
    organisation: str
    role: Role = Field(description="your role in it")
    created_at: datetime
    home: HomeOut = Field(description="where the project's curves are stored and read")
    residency: str | None = Field(
        description="the residency group its home must lie in (models/residency.json); "
        "null: any region"
    )
    move: MoveOut | None = Field(None, description="its latest move, whatever its state")


class ProjectCreate(Request):
    name: Label
    cluster_id: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="the cluster its curves will live on (you need create_cluster in the "
        "cluster's project); omitted: the built-in engine",
    )
    residency: str | None = Field(None, description="pin it to a residency group, e.g. 'eu'")


class ProjectChange(Request):
    residency: str | None = Field(
        description="the residency group (null lifts the pin); refused while the project's "
        "home lies outside it"
    )


class MemberOut(BaseModel):
    user_id: int | None
    email: str | None
    display_name: str | None
    team_id: int | None = Field(description="set for a team's grant instead of a person's")
    team: str | None
    role: Role


class MemberAdd(Request):
    email: Email
    role: Role


class MemberChange(Request):
    role: Role


class InvitationOut(BaseModel):
    """An invitation nobody has accepted yet; its link is never shown again."""

    id: int
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime
    expired: bool = Field(description="past expires_at: the link is refused, revoke or re-invite")


# -- clusters -------------------------------------------------------------------------------


class ClusterOut(BaseModel):
    id: int
    project_id: int
    name: str
    type: str
    provider: ProviderKey
    region: str | None
    nodes: int
    vcpu_per_node: int
    memory_gib_per_node: int
    status: ClusterStatus
    created_at: datetime
    updated_at: datetime


class ClusterQuery(Paging):
    include_deleted: bool = False


class ServerOptions(Request):
    """Where a self-managed server is; its URL may carry a password (stored, never shown)."""

    url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://[^\s'\"\\]+$")]
    cluster: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")] | None = (
        None
    )


class Size(NodeSize):
    """New sizes per node; the cluster's type must allow them."""


class ClusterCreate(Size):
    name: ClusterName
    type: ClusterTypeKey
    provider: ProviderKey = ProviderKey.EMBEDDED
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")] = "local"
    provider_options: ServerOptions | None = Field(
        None, description="for provider 'server': its URL and optional ClickHouse cluster"
    )


class ConnectionQuery(BaseModel):
    reveal: bool = Field(False, description="include the password (needs reveal_secrets)")


class ConnectionOut(BaseModel):
    host: str
    port: int
    username: str
    password: str = Field(description="'********' unless revealed")
    database: str
    secure: bool
    cluster: str | None
    url: str
    revealed: bool


class CostRequest(NodeSize):
    """A month of one cluster to price; its sizes are checked against `type` when given."""

    type: ClusterTypeKey | None = Field(None, description="check the sizes against this type")
    active_hours: float = Field(
        load_rates().hours_per_month.value,
        ge=0,
        le=MAX_HOURS_IN_MONTH,
        description="hours the service is active this month; the default is always on",
    )
    storage_tb: float = Field(0.0, ge=0, le=1e6, description="compressed TB (10^12 bytes)")
    backups_retained: int = Field(1, ge=0, le=100)
    egress_gb: float = Field(
        0.0, ge=0, le=1e9, description="GB (10^9 bytes) leaving to the internet this month"
    )
    tier: Tier = "scale"
    provider: CloudProvider = "aws"
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,64}$")] = "us-east-1"


class CostOut(BaseModel):
    currency: str
    lines: list[CostLine]
    total: float
    assumptions: list[str]


# -- datasets and curves --------------------------------------------------------------------


class DatasetOut(BaseModel):
    id: str
    name: str
    kind: str
    curve_count: int
    point_count: int
    created_at: datetime


class ImportQuery(BaseModel):
    name: str | None = Field(
        None, max_length=300, description="a label for the dataset; not a path, sanitised"
    )
    encoding: Literal["utf-8", "cp1252"] = Field(
        "utf-8", description="a CSV's text encoding; cp1252 is what Excel writes in Western Europe"
    )
    delimiter: Literal[",", ";"] | None = Field(
        None, description="a CSV's separator; omitted: read from its header line"
    )
    decimal: Literal[".", ","] | None = Field(
        None,
        description="a ';' CSV's decimal mark; omitted: read from its first x or y value with one",
    )


class ImportOut(BaseModel):
    dataset_id: str | None = Field(description="the dataset stored (null: nothing new stored)")
    name: str
    curves_added: int
    points_added: int
    curves_skipped: int = Field(
        description="curves of the file stored already with the same samples, so not stored "
        "again (all of them when already_imported)"
    )
    already_imported: str | None = Field(
        description="the dataset holding this content already (answered with status 200)"
    )
    summary: str


class CurveFilters(BaseModel):
    plant: list[Label] | None = None
    line: list[Label] | None = None
    station: list[Label] | None = None
    process: list[Label] | None = None
    program: list[Label] | None = None
    shift: list[Label] | None = None
    result: list[Result] | None = None
    serial: Label | None = Field(None, description="part serial contains this (any case)")
    started_after: Moment | None = Field(None, description=f"curves started at or after; {TIMES}")
    started_before: Moment | None = Field(None, description=f"curves started before; {TIMES}")


class VerdictFilters(BaseModel):
    verdict: Literal["pass", "fail"] | None = Field(
        None,
        description="fail: a rule failed the curve; pass: judged and failed by none (the rules "
        "given in rule, else every current rule of the project; each rule's newest version that "
        "judged the curve decides)",
    )
    rule: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, description="rule ids: only curves these rules judged (with verdict: their verdict)"
    )


class FeatureFilters(BaseModel):
    feature_filter: (
        Annotated[str, StringConstraints(pattern=r"^([a-z_]+|feature_\d+)$", max_length=40)] | None
    ) = Field(
        None,
        description="only curves whose feature lies within feature_min..feature_max: a fixed "
        "feature (peak_y, area, …) or feature_<id> (a configured feature)",
    )
    feature_min: float | None = Field(None, description="the feature's lowest value (inclusive)")
    feature_max: float | None = Field(None, description="its highest value (inclusive)")


class CurveQuery(CurveFilters, VerdictFilters, FeatureFilters, Paging):
    pass


class CurveOut(BaseModel):
    curve_id: int
    curve_key: str
    dataset_id: str
    plant: str
    line: str
    station: str
    process: str
    program: str
    shift: str
    part_serial: str
    result: Result
    defect: str
    started_at: datetime
    ended_at: datetime
    point_count: int
    x_min: float
    x_max: float
    y_min: float
    y_max: float


COUNTS_ONLY = "counts"  # a PNG of the bare counts, one pixel each


class RasterQuery(CurveFilters):
    format: Literal["json", "png"] = "json"
    width: int = Field(
        800, ge=1, le=2048, description=f"counts per row (json, and png with size={COUNTS_ONLY})"
    )
    height: int = Field(
        400, ge=1, le=2048, description=f"rows of counts (json, and png with size={COUNTS_ONLY})"
    )
    x_min: Coordinate | None = None
    x_max: Coordinate | None = None
    y_min: Coordinate | None = None
    y_max: Coordinate | None = None
    color_by: Literal[COLOR_COLUMNS] | None = None  # type: ignore[valid-type]
    size: Literal[(*PRESETS, COUNTS_ONLY)] | None = Field(  # type: ignore[valid-type]
        None,
        description="png: a report figure (axes with units, colour bar or legend, caption) of "
        + ", ".join(f"{k} ({p.label})" for k, p in PRESETS.items())
        + f", or {COUNTS_ONLY}: the bare counts at width x height. Default: {DEFAULT_PRESET}, "
        f"or {COUNTS_ONLY} when width or height is given",
    )
    png_width: int | None = Field(
        None, ge=MIN_WIDTH, le=MAX_SIDE, description="png: the report figure's width in pixels"
    )
    png_height: int | None = Field(
        None, ge=MIN_HEIGHT, le=MAX_SIDE, description="png: the report figure's height in pixels"
    )
    dpi: int | None = Field(
        None, ge=MIN_DPI, le=MAX_DPI, description="png: the report figure's dots per inch"
    )

    @model_validator(mode="after")
    def _png_options(self) -> RasterQuery:
        self.png_size()  # refused here, as a 422 naming the option
        return self

    def png_size(self) -> PngSize | None:
        """The report figure's size asked for, or None for the bare counts (or JSON)."""
        shaping = [n for n in ("size", "png_width", "png_height", "dpi") if getattr(self, n)]
        if self.format != "png":
            if shaping:
                raise PydanticCustomError("png", f"{shaping[0]} shapes a PNG: add format=png")
            return None
        if (self.png_width is None) != (self.png_height is None):
            raise PydanticCustomError("png", "give both png_width and png_height, or neither")
        size = self.size
        if size is None and self.png_width is None:
            counts_asked = {"width", "height"} & self.model_fields_set
            size = COUNTS_ONLY if counts_asked and self.dpi is None else DEFAULT_PRESET
        if size == COUNTS_ONLY:
            if self.png_width is not None or self.dpi is not None:
                raise PydanticCustomError(
                    "png", f"size={COUNTS_ONLY} is width x height counts: no png_width or dpi"
                )
            return None
        if {"width", "height"} & self.model_fields_set:
            raise PydanticCustomError(
                "png",
                "width and height size the bare counts (size=counts); a report figure is "
                "sized by size=, or png_width and png_height, and dpi",
            )
        preset = PRESETS[size or DEFAULT_PRESET].size
        try:
            return PngSize(
                self.png_width or preset.width,
                self.png_height or preset.height,
                self.dpi or preset.dpi,
            )
        except ReportSizeError as exc:
            raise PydanticCustomError("png", str(exc)) from None


class RasterOut(BaseModel):
    width: int
    height: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x_label: str
    y_label: str
    curves: int = Field(description="curves drawn: matching the filters, with a pixel in view")
    categories: list[str] = Field(description="with color_by: the last axis of counts")
    counts: list[list[int]] | list[list[list[int]]] = Field(
        description="distinct curves per pixel, [row][column] (row 0 is y_min), or "
        "[row][column][category] with color_by"
    )


class SamplesOut(BaseModel):
    curve_id: int
    curve_key: str
    x_label: str
    y_label: str
    x: list[float]
    y: list[float]


class PartCurveOut(CurveOut):
    """One of a part's curves (one per station it passed) and its key values, in engineering
    units at the precision the store holds them; null where a curve has no samples."""

    x_name: str
    x_unit: str
    y_name: str
    y_unit: str
    peak_y: float | None = Field(description="the highest y")
    peak_x: float | None = Field(description="x where y first reached its peak")
    final_x: float | None = Field(description="x of the last sample, as recorded")
    final_y: float | None = Field(description="y of the last sample, as recorded")
    work: float | None = Field(
        description="area under the curve (trapezoids over the samples in recorded order)"
    )
    work_unit: str = Field(description="y_unit·x_unit, e.g. 'kN·mm'; empty if either is unknown")


class PartOut(BaseModel):
    project_id: int
    project: str
    serial: str
    result: Result = Field(
        description="NOK when any station said NOK, OK when every one said OK, else UNKNOWN"
    )
    curves: list[PartCurveOut] = Field(description="one per station it passed, oldest first")


# -- audit ----------------------------------------------------------------------------------


class AuditQuery(Paging):
    format: Literal["json", "csv"] = "json"
    action: Annotated[str, StringConstraints(pattern=r"^[a-z_.]{1,64}$")] | None = Field(
        None, description="only events whose action starts with this, e.g. 'member.'"
    )


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]
    ip: str | None


# -- errors ---------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    status: int
    code: str = Field(description="not_found, forbidden, unauthorized, invalid, conflict, ...")
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


# -- teams ----------------------------------------------------------------------------------


class TeamOut(BaseModel):
    id: int
    name: str
    role: Role = Field(description="your role in it")
    created_at: datetime


class TeamCreate(Request):
    name: Label


class TeamMemberOut(BaseModel):
    user_id: int
    email: str
    display_name: str
    role: Role


class TeamMemberAdd(Request):
    email: Email
    role: Role


class TeamProjectOut(BaseModel):
    id: int
    name: str
    role: Role = Field(description="the team's role in it")


class TeamDetailOut(TeamOut):
    members: list[TeamMemberOut] = Field(description="by e-mail")
    projects: list[TeamProjectOut] = Field(description="highest role first, then by name")


class TeamGrant(Request):
    role: Role
