"""The wizard's steps, without a browser: validation, Back/Next, the estimate and the request."""

from __future__ import annotations

import pytest

from app.clusters.wizard import ClusterWizard
from models.pricing import Usage, estimate_monthly_cost

CLOUD_REGIONS = ("aws/us-east-1", "aws/eu-central-1", "gcp/europe-west4")


@pytest.fixture
def created():
    return []


@pytest.fixture
def wizard(created):
    return ClusterWizard(
        project_id=7,
        on_create=lambda request: created.append(request),
        server_hosts=("*.plant.local",),
    )


def test_each_step_says_what_is_missing(wizard):
    assert wizard.state.problems(0) and "lower-case" in wizard.state.problems(0)[0]
    wizard.cluster_name.value = "Press Line"
    assert wizard.state.problems(0)
    wizard.cluster_name.value = "press-line"
    assert wizard.state.problems(0) == []
    wizard.provider.value = "server"
    assert wizard.state.problems(1) == ["Give the server's URL, starting with http:// or https://."]
    wizard.server_url.value = "http://admin:pw@ch.plant.local:8123"
    assert wizard.state.problems(1) == []
    wizard.cluster_type.value = "development"
    wizard.nodes.value = 3
    (problem,) = wizard.state.problems(2)
    assert problem.startswith("Development clusters have 1–2 nodes; got 3.")


def test_next_stops_on_a_problem_and_back_keeps_the_entries(wizard):
    wizard._go(+1)
    assert wizard.step == 0 and wizard.problem.visible
    wizard.cluster_name.value = "press-line"
    wizard.cluster_type.value = "production"
    wizard._go(+1)
    wizard._go(+1)
    wizard.nodes.value = 7
    wizard._go(+1)
    assert wizard.step == 3 and not wizard.problem.visible
    wizard._go(-1)
    wizard._go(-1)
    wizard._go(-1)
    assert (wizard.cluster_name.value, wizard.cluster_type.value, wizard.nodes.value) == (
        "press-line",
        "production",
        7,
    )


def test_choosing_a_type_sets_its_defaults_and_typical_usage(wizard):
    wizard.cluster_type.value = "production"
    assert (wizard.nodes.value, wizard.vcpu.value, wizard.memory.value) == (5, 16, 128)
    assert wizard.hours.value == 730
    assert "5–10" in wizard.nodes.description


def test_the_review_estimate_follows_hours_and_storage(wizard):
    wizard.cluster_name.value = "press-line"
    wizard.cluster_type.value = "development"
    wizard.step = 3
    wizard._update_review()
    before = wizard.review.object
    wizard.hours.value = 100
    expected = estimate_monthly_cost(
        Usage(1, 4, 16, 100.0, wizard.storage.value, egress_gb=wizard.egress.value)
    )
    assert wizard.review.object != before
    assert f"${expected.total:,.2f}" in wizard.review.object


def test_data_transfer_is_entered_and_priced_in_the_review(wizard):
    """Issue 16: the README priced 20 GB of egress the wizard had no field for."""
    wizard.cluster_name.value = "press-line"
    wizard.cluster_type.value = "development"
    assert wizard.egress.value == 20.0  # the type's typical month, as the README prices it
    wizard.step = 3
    assert wizard.egress in wizard._body()
    wizard.egress.value = 100.0
    review = wizard.review.object
    assert "| Data transfer | 100 GB × $0.1152 (aws us-east-1) | $11.52 |" in review
    expected = estimate_monthly_cost(Usage(1, 4, 16, 176.0, 0.1, egress_gb=100.0))
    assert f"Estimated monthly cost: ${expected.total:,.2f}" in review


def test_the_size_and_review_steps_say_what_a_compute_unit_is(wizard):
    wizard.cluster_name.value = "press-line"
    wizard.cluster_type.value = "development"
    wizard.step = 2
    assert wizard.units in wizard._body()
    assert wizard.units.object.startswith("This size bills 2 compute units per node, 2 units")
    assert "8 GiB of memory with 2 vCPU" in wizard.units.object
    wizard.vcpu.value, wizard.memory.value = 2, 8
    assert wizard.units.object.startswith("This size bills 1 compute unit per node, 1 unit in")
    wizard.step = 3
    wizard._update_review()
    assert "| Compute | 1 unit × 176 h" in wizard.review.object
    assert "A compute unit is how ClickHouse Cloud bills compute" in wizard.review.object


def test_create_hands_over_the_request(wizard, created):
    wizard.cluster_name.value = "press-line"
    wizard.cluster_type.value = "development"
    wizard._submit(None)
    (request,) = created
    assert (request.project_id, request.name, request.provider, request.region) == (
        7,
        "press-line",
        "embedded",
        "local",
    )
    assert (request.size.nodes, request.size.vcpu_per_node) == (1, 4)
    assert wizard.step == 0 and wizard.cluster_name.value == ""


def test_a_refused_create_keeps_the_entries_and_shows_why():
    wizard = ClusterWizard(project_id=1, on_create=lambda request: "Name taken.")
    wizard.cluster_name.value = "press-line"
    wizard._submit(None)
    assert wizard.problem.visible and "Name taken" in wizard.problem.object
    assert wizard.cluster_name.value == "press-line"


def test_cloud_is_offered_only_when_configured(created):
    plain = ClusterWizard(project_id=1, on_create=created.append)
    assert "cloud" not in plain.provider.options.values()
    cloud = ClusterWizard(project_id=1, on_create=created.append, cloud_regions=CLOUD_REGIONS)
    cloud.provider.value = "cloud"
    assert cloud.region.options == list(CLOUD_REGIONS)
    cloud.region.value = "aws/eu-central-1"
    assert cloud.state.problems(1) == [
        "Say who may connect: at least one IP range such as 203.0.113.0/24."
    ]
    cloud.ip_access.value = "203.0.113.0/24, 198.51.100.7"
    assert cloud.state.problems(1) == []
    assert cloud.state.priced_in() == ("aws", "eu-central-1")
    cloud.cluster_name.value = "cloud-line"
    cloud.cluster_type.value = "development"
    cloud._submit(None)
    assert created[-1].ip_access == ("203.0.113.0/24", "198.51.100.7/32")


def test_the_workload_suggests_a_type_and_its_storage(wizard):
    wizard.cluster_type.value = "development"
    wizard.per_day.value, wizard.samples.value, wizard.retention.value = 10_000, 2_000, 365
    assert "Suggested: **Manufacturing Analytics**" in wizard.suggestion.object
    assert "7,300,000,000 samples" in wizard.suggestion.object
    wizard.state.use_suggestion()  # what its button does
    assert wizard.cluster_type.value == "manufacturing_analytics"
    assert wizard.storage.value == 0.01  # 9.2 GB, priced from at least 10 GB
    wizard.per_day.value = 50
    assert "Suggested: **Development**" in wizard.suggestion.object


def test_a_server_cluster_review_says_how_its_tables_are_laid_out(wizard, created):
    wizard.cluster_name.value = "press-line"
    wizard.provider.value = "server"
    wizard.server_url.value = "http://admin:pw@ch1.plant.local:8123"
    wizard.step = 3
    wizard._update_review()
    assert "ON CLUSTER" not in wizard.review.object
    wizard.on_cluster.value = "plant"
    wizard._update_review()
    assert "On ClickHouse cluster `plant`" in wizard.review.object
    assert "imports go through your own pipeline" in wizard.review.object
    wizard._submit(None)
    assert created[0].provider_options == {
        "url": "http://admin:pw@ch1.plant.local:8123",
        "cluster": "plant",
    }


def test_server_clusters_are_offered_only_where_the_operator_allows_them(created):
    """Issue 13, item 8: the host allow-list, with the lifecycle's own check, in the wizard."""
    closed = ClusterWizard(project_id=7, on_create=created.append)
    assert "server" not in closed.provider.options.values()
    closed.step = 1
    note = closed._body().objects[-1].object
    assert "CURVEHOUSE_SERVER_CLUSTER_HOSTS" in note
    opened = ClusterWizard(project_id=7, on_create=created.append, server_hosts=("*.plant.local",))
    opened.cluster_name.value, opened.provider.value = "press-line", "server"
    opened.server_url.value = "http://admin:pw@10.1.2.3:8123"
    (problem,) = opened.state.problems(1)
    assert "10.1.2.3:8123 is not among the hosts" in problem
    assert "CURVEHOUSE_SERVER_CLUSTER_HOSTS" in problem
    opened.server_url.value = "http://admin:pw@ch1.plant.local:8123"
    assert opened.state.problems(1) == []
