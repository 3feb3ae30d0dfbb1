import dataclasses
import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.cluster_types import (
    ClusterSpec,
    ClusterSpecError,
    ClusterTypeDataError,
    UnknownClusterTypeError,
    check_cluster_spec,
    cluster_type,
    load_cluster_types,
    recommended_type,
    validate_cluster_spec,
)

# The sizes issue 5 asks for: (nodes, vCPU per node, GiB per node) as (min, max).
ISSUE_LIMITS = {
    "development": ((1, 2), (4, 8), (16, 32)),
    "manufacturing_analytics": ((3, 5), (8, 16), (64, 128)),
    "production": ((5, 10), (16, 32), (128, 256)),
}
DIMENSIONS = ("nodes", "vcpu_per_node", "memory_gib_per_node")


def spec_with(key, dimension, value):
    return dataclasses.replace(cluster_type(key).default_spec(), **{dimension: value})


def test_the_three_types_in_order_with_one_recommended():
    types = load_cluster_types()
    assert list(types) == ["development", "manufacturing_analytics", "production"]
    assert [t.key for t in types.values() if t.recommended] == ["manufacturing_analytics"]
    assert recommended_type().name == "Manufacturing Analytics"


@pytest.mark.parametrize("key", ISSUE_LIMITS)
def test_limits_are_the_issues(key):
    kind = cluster_type(key)
    got = tuple((getattr(kind, d).minimum, getattr(kind, d).maximum) for d in DIMENSIONS)
    assert got == ISSUE_LIMITS[key]


@pytest.mark.parametrize("key", ISSUE_LIMITS)
def test_each_type_says_in_one_sentence_what_it_is_for(key):
    purpose = cluster_type(key).purpose
    assert purpose.endswith(".") and purpose.count(". ") == 0 and len(purpose) > 30


@pytest.mark.parametrize("key", ISSUE_LIMITS)
def test_defaults_are_valid_and_the_smallest_size(key):
    kind = cluster_type(key)
    spec = kind.default_spec()
    assert validate_cluster_spec(spec) == []
    assert check_cluster_spec(spec) is spec
    assert (spec.nodes, spec.vcpu_per_node, spec.memory_gib_per_node) == tuple(
        low for low, _ in ISSUE_LIMITS[key]
    )


@pytest.mark.parametrize("key", ISSUE_LIMITS)
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_edges_inside_are_accepted(key, dimension):
    low, high = ISSUE_LIMITS[key][DIMENSIONS.index(dimension)]
    assert validate_cluster_spec(spec_with(key, dimension, low)) == []
    assert validate_cluster_spec(spec_with(key, dimension, high)) == []


@pytest.mark.parametrize("key", ISSUE_LIMITS)
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_edges_outside_are_refused_with_the_range_and_the_value(key, dimension):
    low, high = ISSUE_LIMITS[key][DIMENSIONS.index(dimension)]
    name = cluster_type(key).name
    for value in (low - 1, high + 1):
        errors = validate_cluster_spec(spec_with(key, dimension, value))
        assert len(errors) == 1
        assert errors[0].startswith(f"{name} ")
        assert f"{low}–{high}" in errors[0] and f"got {value}" in errors[0]


def test_message_names_the_type_that_would_fit():
    errors = validate_cluster_spec(ClusterSpec("development", 3, 4, 16))
    assert errors == [
        "Development clusters have 1–2 nodes; got 3. Manufacturing Analytics allows 3–5 nodes."
    ]


def test_message_lists_every_type_that_would_fit():
    (error,) = validate_cluster_spec(ClusterSpec("development", 1, 16, 16))
    assert error == (
        "Development nodes have 4–8 vCPU; got 16 vCPU. Manufacturing Analytics allows 8–16 vCPU; "
        "Production allows 16–32 vCPU."
    )


def test_no_suggestion_when_no_type_fits():
    (error,) = validate_cluster_spec(ClusterSpec("production", 11, 16, 128))
    assert error == "Production clusters have 5–10 nodes; got 11."
    (error,) = validate_cluster_spec(ClusterSpec("development", 1, 4, 512))
    assert error == "Development nodes have 16–32 GiB of memory; got 512 GiB."


def test_every_broken_limit_is_reported_at_once():
    spec = ClusterSpec("development", 3, 12, 64)
    with pytest.raises(ClusterSpecError) as caught:
        check_cluster_spec(spec)
    assert len(caught.value.errors) == 3
    assert "got 3" in str(caught.value) and "got 64 GiB" in str(caught.value)


@pytest.mark.parametrize("value", [2.5, True, "3", None, 3.0])
def test_sizes_must_be_whole_numbers(value):
    (error,) = validate_cluster_spec(spec_with("manufacturing_analytics", "nodes", value))
    assert error == f"Nodes must be a whole number; got {value!r}."


@pytest.mark.parametrize("key", ["", "dev", "Production", None])
def test_unknown_type_lists_the_valid_keys(key):
    with pytest.raises(UnknownClusterTypeError, match="development, manufacturing_analytics"):
        validate_cluster_spec(ClusterSpec(key, 1, 4, 16))


def test_types_are_frozen():
    kind = cluster_type("development")
    with pytest.raises(dataclasses.FrozenInstanceError):
        kind.nodes = kind.vcpu_per_node  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kind.nodes.maximum = 99  # type: ignore[misc]


@given(data=st.data(), key=st.sampled_from(list(ISSUE_LIMITS)))
def test_any_size_inside_the_limits_is_valid(data, key):
    sizes = [data.draw(st.integers(low, high)) for low, high in ISSUE_LIMITS[key]]
    assert validate_cluster_spec(ClusterSpec(key, *sizes)) == []


@given(
    key=st.sampled_from(list(ISSUE_LIMITS)),
    dimension=st.sampled_from(DIMENSIONS),
    value=st.integers(-1000, 1000),
)
def test_any_size_outside_the_limits_is_refused(key, dimension, value):
    low, high = ISSUE_LIMITS[key][DIMENSIONS.index(dimension)]
    errors = validate_cluster_spec(spec_with(key, dimension, value))
    assert (errors == []) == (low <= value <= high)


def _write_types(tmp_path, mutate):
    raw = json.loads((resources.files("models") / "cluster_types.json").read_text())
    mutate(raw["cluster_types"])
    path = tmp_path / "types.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ts: ts[0].update(recommended=True), "exactly one type as recommended"),
        (lambda ts: ts[0]["nodes"].update(min=3), "min ≤ default ≤ max"),
        (lambda ts: ts[1]["vcpu_per_node"].update(default=99), "min ≤ default ≤ max"),
        (lambda ts: ts[2].update(purpose="  "), "does not say what it is for"),
        (lambda ts: ts[2].pop("memory_gib_per_node"), "no 'memory_gib_per_node' field"),
        (lambda ts: ts[1].update(key="development"), "repeats a cluster type key"),
        (lambda ts: ts[0]["nodes"].update(max=2.5), "whole numbers"),
        (lambda ts: ts.clear(), "lists no cluster types"),
    ],
)
def test_a_broken_data_file_is_refused_on_load(tmp_path, mutate, message):
    with pytest.raises(ClusterTypeDataError, match=message):
        load_cluster_types(_write_types(tmp_path, mutate))


def test_an_intact_copy_of_the_data_file_loads(tmp_path):
    assert load_cluster_types(_write_types(tmp_path, lambda ts: None)) == load_cluster_types()
