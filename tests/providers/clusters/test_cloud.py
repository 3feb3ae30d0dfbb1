"""The ClickHouse Cloud provider against its labelled stand-in (no network, nothing skipped).

The stand-in (tests/providers/cloud_standin.py) is not ClickHouse Cloud: it follows the
published request and response shapes, and its services change state only when a test calls
``advance``.
"""

import base64
import socket
from dataclasses import replace

import pytest

from models.cluster_types import ClusterSpec
from providers import ProviderError
from providers.clusters import ClusterActionError, Deployment, get_cluster_provider
from providers.clusters.cloud import REGIONS, CloudClusterProvider, service_name
from providers.clusters.cloud_api import (
    CloudApi,
    CloudCredentialsError,
    CloudRequestError,
    CloudUnreachableError,
)
from tests.providers.clusters.cloud_standin import BANNER, CloudStandIn
from tests.providers.clusters.deployments import resized

SPEC = Deployment(
    name="press-fit",
    region="aws/eu-central-1",
    size=ClusterSpec("development", nodes=2, vcpu_per_node=4, memory_gib_per_node=16),
    idle_scaling=True,
    ip_access=("203.0.113.0/24",),
)


@pytest.fixture
def standin():
    with CloudStandIn() as running:
        yield running


@pytest.fixture
def provider(standin):
    return CloudClusterProvider(
        organization_id=standin.organization_id,
        key_id=standin.key_id,
        key_secret=standin.key_secret,
        base_url=standin.base_url,
        timeout=5,
    )


def test_the_standin_says_what_it_is(standin):
    assert BANNER.startswith("Stand-in for the ClickHouse Cloud API: not ClickHouse Cloud")
    assert standin.banner == BANNER


def test_registry_builds_the_cloud_provider(standin):
    provider = get_cluster_provider(
        "cloud",
        organization_id=standin.organization_id,
        key_id=standin.key_id,
        key_secret=standin.key_secret,
        base_url=standin.base_url,
    )
    assert isinstance(provider, CloudClusterProvider)
    assert provider.provider_type == "cloud"
    assert provider.label == "ClickHouse Cloud"
    assert {"aws/us-east-1", "aws/eu-central-1", "gcp/europe-west4", "azure/eastus2"} <= set(
        REGIONS
    )
    assert all(r.split("/")[0] in ("aws", "gcp", "azure") for r in REGIONS)


def test_full_lifecycle(standin, provider):
    handle = provider.create("c1", SPEC)
    service_id = handle["service_id"]
    (post,) = standin.requests_to("POST", "/services")
    assert post.body == {
        "name": "curvehouse c1",
        "provider": "aws",
        "region": "eu-central-1",
        "minReplicaMemoryGb": 16,
        "maxReplicaMemoryGb": 16,
        "numReplicas": 2,
        "idleScaling": True,
        "idleTimeoutMinutes": 15,
        "ipAccessList": [{"source": "203.0.113.0/24", "description": "Curvehouse"}],
    }
    assert handle["password"] == standin.passwords[service_id]

    seen = provider.observe(handle)
    assert seen.state == "provisioning"
    assert seen.facts["cloud_state"] == "provisioning"
    with pytest.raises(ProviderError, match="has not published an HTTPS endpoint"):
        provider.connection(handle)

    assert standin.advance(service_id) == "running"
    seen = provider.observe(handle)
    assert seen.state == "running"
    https = {"protocol": "https", "host": seen.facts["endpoints"][0]["host"], "port": 8443}
    assert https in seen.facts["endpoints"]
    assert seen.facts["replicas"] == 2 and seen.facts["memory_gib_per_replica"] == [16, 16]

    connection = provider.connection(handle)
    assert connection.secure and connection.port == 8443
    assert connection.host == https["host"]
    assert connection.username == "default" and connection.database == "default"
    assert connection.password == standin.passwords[service_id]
    assert connection.password not in connection.url()
    assert connection.url(reveal=True).startswith(f"https://default:{connection.password}@")

    provider.stop(handle)
    assert standin.requests_to("PATCH", "/state")[-1].body == {"command": "stop"}
    assert provider.observe(handle).state == "stopping"
    standin.advance(service_id)
    assert provider.observe(handle).state == "stopped"

    provider.start(handle)
    assert standin.requests_to("PATCH", "/state")[-1].body == {"command": "start"}
    assert provider.observe(handle).state == "starting"
    standin.advance(service_id)
    assert provider.observe(handle).state == "running"

    bigger = replace(resized(SPEC, nodes=3, memory_gib_per_node=32), idle_scaling=False)
    assert provider.resize(handle, bigger) == handle
    (scaling,) = standin.requests_to("PATCH", "/replicaScaling")
    assert scaling.body == {
        "minReplicaMemoryGb": 32,
        "maxReplicaMemoryGb": 32,
        "numReplicas": 3,
        "idleScaling": False,
    }
    assert provider.observe(handle).facts["memory_gib_per_replica"] == [32, 32]

    provider.stop(handle)
    standin.advance(service_id)
    provider.delete(handle)
    assert standin.requests_to("DELETE")[-1].path.endswith(service_id)
    assert provider.observe(handle).state == "deleting"
    assert standin.advance(service_id) is None
    assert provider.observe(handle).state == "deleted"
    provider.delete(handle)  # gone already: not an error
    assert len(standin.requests_to("DELETE")) == 1


def test_resize_leaves_the_replica_count_alone_when_unchanged(standin, provider):
    handle = provider.create("same", SPEC)
    standin.advance(handle["service_id"])
    provider.resize(handle, resized(SPEC, memory_gib_per_node=24))
    (scaling,) = standin.requests_to("PATCH", "/replicaScaling")
    assert "numReplicas" not in scaling.body


def test_resize_cannot_move_a_service(standin, provider):
    handle = provider.create("mover", SPEC)
    with pytest.raises(ClusterActionError, match="cannot move from aws/eu-central-1"):
        provider.resize(handle, replace(SPEC, region="gcp/europe-west4"))
    assert standin.requests_to("PATCH", "/replicaScaling") == []


def test_create_is_idempotent_per_key(standin, provider):
    first = provider.create("retry", SPEC)
    again = provider.create("retry", SPEC)
    assert len(standin.services) == 1
    assert len(standin.requests_to("POST", "/services")) == 1
    assert again["service_id"] == first["service_id"]
    # The lost first answer held the only copy of the password, so the retry gets a new one.
    assert again["password"] == standin.passwords[first["service_id"]]
    assert again["password"] != first["password"]
    provider.create("other", SPEC)
    assert len(standin.services) == 2


def test_service_names_are_valid_and_distinct():
    assert service_name("c1") == "curvehouse c1"
    names = {service_name(k) for k in ("a_b", "a-b", "a b", "x" * 80, "x" * 81)}
    assert len(names) == 5
    assert all(len(n) <= 50 and n.replace(" ", "").isalnum() for n in names)


def test_deleting_a_running_service_stops_it_first(standin, provider):
    handle = provider.create("busy", SPEC)
    service_id = handle["service_id"]
    standin.advance(service_id)

    provider.delete(handle)  # returns at once: the API deletes only stopped services
    (tagging,) = standin.requests_to("PATCH", service_id)
    assert tagging.body == {"tags": {"add": [{"key": "curvehouse-delete", "value": "requested"}]}}
    assert standin.requests_to("PATCH", "/state")[-1].body == {"command": "stop"}
    assert standin.requests_to("DELETE") == []

    seen = provider.observe(handle)
    assert seen.state == "stopping" and seen.facts["deletion_requested"]
    assert "deletes it once it has stopped" in seen.detail
    provider.delete(handle)  # asking again sends nothing new
    assert len(standin.requests_to("PATCH")) == 2

    standin.advance(service_id)  # stopping -> stopped
    seen = provider.observe(handle)
    assert seen.state == "deleting"
    assert standin.requests_to("DELETE")[-1].path.endswith(service_id)
    assert provider.observe(handle).state == "deleting"  # terminating
    standin.advance(service_id)
    assert provider.observe(handle).state == "deleted"


def test_a_refused_stop_leaves_no_deletion_pending(standin, provider):
    handle = provider.create("stubborn", SPEC)
    standin.advance(handle["service_id"])
    standin.fail_next("PATCH", "/state", 400, "Service is being upgraded")
    with pytest.raises(CloudRequestError, match="Service is being upgraded"):
        provider.delete(handle)
    assert standin.services[handle["service_id"]]["tags"] == []
    assert provider.observe(handle).state == "running"


def test_a_failed_create_is_cleaned_up_by_key(standin, provider):
    """The lifecycle deletes with ``{"key": ...}`` when create died before returning."""
    handle = provider.create("c7", SPEC)
    provider.delete({"key": "c7"})
    assert standin.services[handle["service_id"]]["state"] == "stopping"
    standin.advance(handle["service_id"])
    assert provider.observe({"key": "c7"}).state == "deleting"
    provider.delete({"key": "never-made"})  # nothing to remove: not an error


def test_a_stopped_service_is_deleted_at_once_and_twice_is_fine(standin, provider):
    handle = provider.create("quiet", SPEC)
    standin.set_state(handle["service_id"], "stopped")
    provider.delete(handle)
    assert standin.services[handle["service_id"]]["state"] == "terminating"
    standin.advance(handle["service_id"])
    provider.delete(handle)
    assert len(standin.requests_to("DELETE")) == 1


def test_invalid_service_id_answers_count_as_gone(standin, provider):
    """The real API has answered 400 "Invalid service id" for ids that name nothing."""
    handle = provider.create("ghost", SPEC)
    standin.fail_next("GET", handle["service_id"], 400, "BAD_REQUEST: Invalid service id x")
    assert provider.observe(handle).state == "deleted"


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (500, "Internal error", "fault is on the Cloud side"),
        (429, "Too many requests", "10 requests per 10 seconds"),
        (403, "Forbidden", "ClickHouse Cloud rejected the API key"),
    ],
)
def test_other_api_errors_say_what_to_do(standin, provider, status, error, expected):
    standin.fail_next("GET", "/services", status, error)
    with pytest.raises(ProviderError, match=expected) as caught:
        provider.create("c1", SPEC)
    assert error in str(caught.value) and "request id" in str(caught.value)


@pytest.mark.parametrize(
    ("cloud_state", "state"),
    [
        ("idle", "running"),
        ("awaking", "starting"),
        ("partially_running", "degraded"),
        ("failed", "failed"),
        ("softdeleting", "deleting"),
    ],
)
def test_cloud_states_map_to_ours(standin, provider, cloud_state, state):
    handle = provider.create("states", SPEC)
    standin.set_state(handle["service_id"], cloud_state)
    seen = provider.observe(handle)
    assert (seen.state, seen.facts["cloud_state"]) == (state, cloud_state)


def test_an_unknown_cloud_state_is_degraded_and_named(standin, provider):
    handle = provider.create("odd", SPEC)
    standin.set_state(handle["service_id"], "hibernating")
    seen = provider.observe(handle)
    assert seen.state == "degraded"
    assert "'hibernating'" in seen.detail


def test_a_wrong_key_is_named_clearly(standin):
    wrong = CloudClusterProvider(
        standin.organization_id, standin.key_id, "not-the-secret", base_url=standin.base_url
    )
    with pytest.raises(CloudCredentialsError, match="ClickHouse Cloud rejected the API key") as e:
        wrong.create("c1", SPEC)
    assert e.value.status == 401
    assert standin.key_id in str(e.value)
    assert standin.services == {}


def test_a_wrong_organization_is_not_read_as_deleted(standin, provider):
    handle = provider.create("org", SPEC)
    elsewhere = CloudClusterProvider(
        "00000000-0000-4000-8000-000000000000",
        standin.key_id,
        standin.key_secret,
        base_url=standin.base_url,
    )
    with pytest.raises(CloudCredentialsError, match="knows no organization 00000000-"):
        elsewhere.observe(handle)


def test_an_unreachable_api_names_its_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    provider = CloudClusterProvider("org", "key", "secret", base_url=url, timeout=2)
    expected = f"Cannot reach the ClickHouse Cloud API at {url}"
    with pytest.raises(CloudUnreachableError, match=expected):
        provider.create("c1", SPEC)


def test_the_api_message_of_a_400_reaches_the_user(standin, provider):
    odd = resized(SPEC, memory_gib_per_node=10)
    with pytest.raises(CloudRequestError, match="minReplicaMemoryGb must be between 8 and 356"):
        provider.create("odd-memory", odd)
    assert standin.services == {}


def test_the_region_must_be_a_cloud_region(provider):
    with pytest.raises(ProviderError, match="not in 'local'"):
        provider.create("c1", replace(SPEC, region="local"))


def test_plain_http_is_refused_for_remote_hosts():
    with pytest.raises(ProviderError, match="is not an https URL"):
        CloudApi("org", "key", "secret", base_url="http://api.clickhouse.cloud/v1")
    with pytest.raises(ProviderError, match="needs an API key secret"):
        CloudApi("org", "key", "")


def test_secrets_stay_out_of_repr_describe_and_errors(standin, provider):
    secret = standin.key_secret
    handle = provider.create("c1", SPEC)
    password = handle["password"]
    basic = base64.b64encode(f"{standin.key_id}:{secret}".encode()).decode()
    texts = [repr(provider), repr(provider.api), str(provider.describe())]
    for failing in (
        lambda: CloudClusterProvider(
            standin.organization_id, standin.key_id, secret + "x", base_url=standin.base_url
        ).observe(handle),
        lambda: provider.create("bad", resized(SPEC, memory_gib_per_node=10)),
        lambda: provider.connection(handle),
        lambda: provider.resize(handle, replace(SPEC, region="azure/eastus")),
    ):
        with pytest.raises(ProviderError) as caught:
            failing()
        texts += [str(caught.value), repr(caught.value)]
    assert provider.describe()["key_id"] == standin.key_id
    for text in texts:
        assert secret not in text and basic not in text and password not in text
    assert all(r.key_id in (standin.key_id, None) for r in standin.requests)
