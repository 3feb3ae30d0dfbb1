"""The wizard's state without widgets: what it opens on, what each step refuses, the request."""

from __future__ import annotations

import pytest

from app.clusters.wizard_state import REFERENCE_REGION, WizardState
from models.cluster_types import load_cluster_types

REGIONS = {"embedded": ["local"], "cloud": ["aws/us-east-1", "gcp/europe-west4"]}


@pytest.fixture
def state():
    return WizardState(project_id=3, regions=REGIONS)


def test_opens_on_the_recommended_type_with_its_size(state):
    recommended = next(k for k, t in load_cluster_types().items() if t.recommended)
    spec = load_cluster_types()[recommended].default_spec()
    assert (state.cluster_type, state.provider, state.region) == (recommended, "embedded", "local")
    assert (state.nodes, state.vcpu, state.memory) == (
        spec.nodes,
        spec.vcpu_per_node,
        spec.memory_gib_per_node,
    )


def test_another_type_brings_its_own_defaults(state):
    state.cluster_type = "development"
    spec = load_cluster_types()["development"].default_spec()
    assert state.size() == spec


def test_an_unknown_type_is_refused(state):
    with pytest.raises(ValueError):
        state.cluster_type = "no-such-type"


def test_steps_refuse_in_words_and_the_request_carries_the_entries(state):
    assert "lower-case" in state.problems(0)[0]
    state.param.update(cluster_name="press-line", provider="cloud", region="gcp/europe-west4")
    assert state.problems(0) == []
    assert state.problems(1) == [
        "Say who may connect: at least one IP range such as 203.0.113.0/24."
    ]
    state.ip_access = "203.0.113.0/24, nonsense"
    assert state.ip_ranges() == () and state.problems(1)  # one bad range spoils the list
    state.ip_access = "203.0.113.0/24"
    assert state.all_problems() == []
    request = state.request()
    assert (request.project_id, request.name, request.provider, request.region) == (
        3,
        "press-line",
        "cloud",
        "gcp/europe-west4",
    )
    assert request.ip_access == ("203.0.113.0/24",)


def test_a_region_not_offered_is_a_problem(state):
    state.cluster_name, state.region = "press-line", "mars-1"
    assert state.problems(1) == ["Choose a region for " + state.labels["embedded"] + "."]


def test_the_estimate_is_priced_in_the_reference_region_unless_cloud(state):
    assert state.priced_in() == REFERENCE_REGION
    state.param.update(provider="cloud", region="aws/us-east-1")
    assert state.priced_in() == ("aws", "us-east-1")
    assert state.estimate().total > 0
