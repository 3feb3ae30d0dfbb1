"""Cluster types (Development, Manufacturing Analytics, Production) as data, with their limits.

The types live in ``cluster_types.json`` next to this module, so a product decision about sizes
is a data change, not a code change. The wizard, the lifecycle service and the cost engine all
read them from here, and every size a user types is checked by :func:`validate_cluster_spec`,
whose messages say which limit was broken and which type would allow the value.

Memory is GiB per node: ClickHouse Cloud sizes memory in GiB (a compute unit is 8 GiB + 2 vCPU),
and the seed's "GB" meant the same sizes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Limit:
    """An inclusive whole-number range with the value the wizard proposes first."""

    minimum: int
    maximum: int
    default: int

    def __contains__(self, value: object) -> bool:
        return _is_whole(value) and self.minimum <= value <= self.maximum  # type: ignore[operator]

    def describe(self) -> str:
        """``"1–2"``: how the range reads in messages and in the UI."""
        return f"{self.minimum}–{self.maximum}"


@dataclass(frozen=True)
class ClusterType:
    """One offered cluster type: what it is for, and its defaults and limits per node."""

    key: str
    name: str
    purpose: str
    recommended: bool
    nodes: Limit
    vcpu_per_node: Limit
    memory_gib_per_node: Limit

    def default_spec(self) -> ClusterSpec:
        """The size the wizard starts from (the type's smallest and cheapest by default)."""
        return ClusterSpec(
            type_key=self.key,
            nodes=self.nodes.default,
            vcpu_per_node=self.vcpu_per_node.default,
            memory_gib_per_node=self.memory_gib_per_node.default,
        )


@dataclass(frozen=True)
class ClusterSpec:
    """A requested size: a type plus nodes, vCPU and memory per node."""

    type_key: str
    nodes: int
    vcpu_per_node: int
    memory_gib_per_node: int


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
    if path is None:
        text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    raw = json.loads(text)
    types = [_parse_type(entry) for entry in raw.get("cluster_types", [])]
    if not types:
        raise ClusterTypeDataError(f"{DATA_FILE} lists no cluster types.")
    keys = [t.key for t in types]
    if len(set(keys)) != len(keys):
        raise ClusterTypeDataError(f"{DATA_FILE} repeats a cluster type key: {keys}.")
    if sum(t.recommended for t in types) != 1:
        raise ClusterTypeDataError(f"{DATA_FILE} must mark exactly one type as recommended.")
    return {t.key: t for t in types}


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


def _parse_type(entry: dict[str, Any]) -> ClusterType:
    key = entry.get("key", "?")
    try:
        kind = ClusterType(
            key=str(entry["key"]),
            name=str(entry["name"]),
            purpose=str(entry["purpose"]),
            recommended=bool(entry["recommended"]),
            nodes=_parse_limit(entry["nodes"]),
            vcpu_per_node=_parse_limit(entry["vcpu_per_node"]),
            memory_gib_per_node=_parse_limit(entry["memory_gib_per_node"]),
        )
    except KeyError as missing:
        raise ClusterTypeDataError(f"Cluster type {key!r} has no {missing} field.") from None
    for attr, *_ in _DIMENSIONS:
        limit: Limit = getattr(kind, attr)
        if not (1 <= limit.minimum <= limit.default <= limit.maximum):
            raise ClusterTypeDataError(
                f"Cluster type {key!r}: {attr} needs 1 ≤ min ≤ default ≤ max; got {limit}."
            )
    if not kind.purpose.strip():
        raise ClusterTypeDataError(f"Cluster type {key!r} does not say what it is for.")
    return kind


def _parse_limit(raw: dict[str, Any]) -> Limit:
    values = [raw["min"], raw["max"], raw["default"]]
    if not all(_is_whole(v) for v in values):
        raise ClusterTypeDataError(f"Limits must be whole numbers; got {raw}.")
    return Limit(minimum=raw["min"], maximum=raw["max"], default=raw["default"])
