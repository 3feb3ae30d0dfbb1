"""Cluster types (Development, Manufacturing Analytics, Production) as data, with their limits.

The types live in ``cluster_types.json`` next to this module, so a product decision about sizes
is a data change, not a code change; :class:`ClusterTypeFile` is that file's schema, checked when
it is loaded. The wizard, the lifecycle service, the cost engine and the REST API all read them
from here, and every size a user types is checked by :func:`validate_cluster_spec`, whose
messages say which limit was broken and which type would allow the value.

Memory is GiB per node: ClickHouse Cloud sizes memory in GiB (a compute unit is 8 GiB + 2 vCPU),
and the seed's "GB" meant the same sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator
from pydantic.dataclasses import dataclass as checked_dataclass

from models.data_files import DATA, load_data_file

DATA_FILE = "cluster_types.json"


class ClusterTypeDataError(ValueError):
    """``cluster_types.json`` is malformed: a developer's mistake, caught when it is loaded."""


class UnknownClusterTypeError(ValueError):
    """A cluster type key that is not in ``cluster_types.json``."""


class ClusterSpecError(ValueError):
    """A requested cluster size breaks its type's limits; ``errors`` lists every broken limit."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(" ".join(errors))
        self.errors = tuple(errors)


@checked_dataclass(frozen=True, config=DATA)
class Limit:
    """An inclusive whole-number range with the value the wizard proposes first."""

    minimum: Annotated[int, Field(alias="min")]
    maximum: Annotated[int, Field(alias="max")]
    default: int

    @model_validator(mode="before")
    @classmethod
    def _whole(cls, raw: Any) -> Any:
        given = raw.items() if isinstance(raw, dict) else ()
        if not all(_is_whole(v) for k, v in given if k in ("min", "max", "default")):
            raise ValueError(f"limits must be whole numbers; got {raw}")
        return raw

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if not 1 <= self.minimum <= self.default <= self.maximum:
            raise ValueError(
                f"needs 1 ≤ min ≤ default ≤ max; got min {self.minimum}, "
                f"default {self.default}, max {self.maximum}"
            )
        return self

    def __contains__(self, value: object) -> bool:
        return _is_whole(value) and self.minimum <= value <= self.maximum  # type: ignore[operator]

    def describe(self) -> str:
        """``"1–2"``: how the range reads in messages and in the UI."""
        return f"{self.minimum}–{self.maximum}"


@checked_dataclass(frozen=True, config=DATA)
class ClusterType:
    """One offered cluster type: what it is for, and its defaults and limits per node."""

    key: str
    name: str
    purpose: str
    recommended: StrictBool
    nodes: Limit
    vcpu_per_node: Limit
    memory_gib_per_node: Limit

    @field_validator("purpose")
    @classmethod
    def _says_what_for(cls, purpose: str) -> str:
        if not purpose.strip():
            raise ValueError("does not say what it is for")
        return purpose

    def default_spec(self) -> ClusterSpec:
        """The size the wizard starts from (the type's smallest and cheapest by default)."""
        return ClusterSpec(
            type_key=self.key,
            nodes=self.nodes.default,
            vcpu_per_node=self.vcpu_per_node.default,
            memory_gib_per_node=self.memory_gib_per_node.default,
        )


class ClusterTypeFile(BaseModel):
    """``cluster_types.json``: the offered types in the order the wizard shows them."""

    model_config = ConfigDict(**DATA, frozen=True)

    schema_version: int
    note: str = ""
    cluster_types: tuple[ClusterType, ...] = ()

    @model_validator(mode="after")
    def _one_of_each(self) -> ClusterTypeFile:
        keys = [t.key for t in self.cluster_types]
        if not keys:
            raise ValueError("lists no cluster types")
        if len(set(keys)) != len(keys):
            raise ValueError(f"repeats a cluster type key: {keys}")
        if sum(t.recommended for t in self.cluster_types) != 1:
            raise ValueError("must mark exactly one type as recommended")
        return self


@dataclass(frozen=True)
class ClusterSpec:
    """A requested size: a type plus nodes, vCPU and memory (GiB) per node.

    Deliberately unchecked on construction: it carries what a person or a client asked for,
    and :func:`validate_cluster_spec` answers with every broken limit in the type's words.
    """

    type_key: str
    nodes: int
    vcpu_per_node: int
    memory_gib_per_node: int


class NodeSize(BaseModel):
    """A size as a request states it, per node: whole numbers any cluster could have.

    The bounds only keep absurd numbers out; which sizes a type allows is
    :func:`validate_cluster_spec`'s answer, from the type's own limits.
    """

    model_config = ConfigDict(extra="forbid")

    nodes: int = Field(ge=1, le=100, description="nodes in the cluster")
    vcpu_per_node: int = Field(ge=1, le=512, description="vCPU per node")
    memory_gib_per_node: int = Field(
        ge=1, le=8192, description="memory per node in GiB (2^30 bytes)"
    )

    def spec(self, type_key: str) -> ClusterSpec:
        """This size as a spec of the type ``type_key``, to check against that type."""
        return ClusterSpec(type_key, self.nodes, self.vcpu_per_node, self.memory_gib_per_node)


# (attribute, what it counts in messages, unit after the number, noun for "X clusters have")
_DIMENSIONS = (
    ("nodes", "nodes", "", "clusters have"),
    ("vcpu_per_node", "vCPU", " vCPU", "nodes have"),
    ("memory_gib_per_node", "GiB of memory", " GiB", "nodes have"),
)


@lru_cache(maxsize=4)
def load_cluster_types(path: Path | None = None) -> dict[str, ClusterType]:
    """Read and check the cluster types, keyed by ``key`` in file order.

    ``path`` is for tests; the default is the packaged ``cluster_types.json``.
    """
    document = load_data_file(ClusterTypeFile, DATA_FILE, path, ClusterTypeDataError)
    return {t.key: t for t in document.cluster_types}


def cluster_type(key: str) -> ClusterType:
    """The packaged cluster type ``key``, or an error that lists the valid keys."""
    types = load_cluster_types()
    try:
        return types[key]
    except (KeyError, TypeError):
        raise UnknownClusterTypeError(
            f"Unknown cluster type {key!r}; choose one of: {', '.join(types)}."
        ) from None


def recommended_type() -> ClusterType:
    """The type the wizard preselects."""
    return next(t for t in load_cluster_types().values() if t.recommended)


def validate_cluster_spec(spec: ClusterSpec) -> list[str]:
    """Every limit ``spec`` breaks, as sentences a plant engineer can act on; empty if none.

    A message names the type's range and the value given, and, when another type allows that
    value, says so: "Development clusters have 1–2 nodes; got 3. Manufacturing Analytics allows
    3–5 nodes."
    """
    kind = cluster_type(spec.type_key)
    errors = []
    for attr, noun, unit, verb in _DIMENSIONS:
        value = getattr(spec, attr)
        limit: Limit = getattr(kind, attr)
        if not _is_whole(value):
            errors.append(f"{_label(attr)} must be a whole number; got {value!r}.")
        elif value not in limit:
            message = f"{kind.name} {verb} {limit.describe()} {noun}; got {value}{unit}."
            others = [
                f"{other.name} allows {getattr(other, attr).describe()} {noun}"
                for other in load_cluster_types().values()
                if other.key != kind.key and value in getattr(other, attr)
            ]
            if others:
                message += f" {'; '.join(others)}."
            errors.append(message)
    return errors


def check_cluster_spec(spec: ClusterSpec) -> ClusterSpec:
    """Return ``spec`` unchanged, or raise :class:`ClusterSpecError` listing every broken limit."""
    errors = validate_cluster_spec(spec)
    if errors:
        raise ClusterSpecError(errors)
    return spec


def _label(attr: str) -> str:
    return {
        "nodes": "Nodes",
        "vcpu_per_node": "vCPU per node",
        "memory_gib_per_node": "Memory per node (GiB)",
    }[attr]


def _is_whole(value: object) -> bool:
    # bool is an int subclass; "True nodes" is a bug upstream, not one node.
    return isinstance(value, int) and not isinstance(value, bool)
