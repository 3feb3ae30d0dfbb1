"""The cost engine against hand arithmetic on ``rates.json``, and the seed's quoted ranges.

Expected figures are computed here from the raw data file (read with ``json``, not with the
engine's loader), so a test fails if the engine and the obvious sum ever disagree. The seed
product quoted $50–150 (Development), $200–500 (Manufacturing Analytics) and $500–2,000+
(Production) a month; the tests below say, with numbers, which of those the stated typical
configurations reproduce and which they cannot.
"""

import dataclasses
import json
from datetime import date
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.cluster_types import ClusterSpec, cluster_type, validate_cluster_spec
from models.pricing import (
    GIB_PER_UNIT,
    VCPU_PER_UNIT,
    CostInputError,
    RateDataError,
    Usage,
    active_hours_for_budget,
    compute_units_per_node,
    estimate_monthly_cost,
    load_rates,
    size_workload,
    typical_estimates,
    unit_definition,
)

RAW = json.loads((resources.files("models") / "rates.json").read_text(encoding="utf-8"))
SCALE = RAW["compute_per_unit_hour"]["scale"]["value"]
BASIC = RAW["compute_per_unit_hour"]["basic"]["value"]
STORAGE = RAW["storage_per_tb_month"]["value"]
BACKUP = RAW["backup_per_tb_month"]["value"]
HOURS_PER_MONTH = RAW["hours_per_month"]["value"]
REGIONS = {(r["provider"], r["region"]): r for r in RAW["regions"]}
EGRESS_US = REGIONS[("aws", "us-east-1")]["egress_per_gb"]["value"]
TYPICAL = {t["key"]: t for t in RAW["typical_configurations"]}


def usage(**changes):
    base = Usage(
        nodes=3,
        vcpu_per_node=8,
        memory_gib_per_node=64,
        active_hours=176,
        storage_tb=1.0,
        backups_retained=1,
        egress_gb=100,
    )
    return dataclasses.replace(base, **changes)


def cost(**changes):
    return estimate_monthly_cost(usage(**changes))


def _rates_in(node, path=""):
    """Every dict in the raw file that holds a "value": the rates, found without the loader."""
    if isinstance(node, dict):
        if "value" in node:
            yield path, node
        for key, child in node.items():
            yield from _rates_in(child, f"{path}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _rates_in(child, f"{path}[{i}]")


# --- the rate file ---------------------------------------------------------------------------


def test_every_rate_in_the_file_has_a_source_and_a_date():
    found = list(_rates_in(RAW))
    assert len(found) == len(list(load_rates().all_rates())) == 17
    for path, rate in found:
        assert rate["source"].strip(), path
        assert date(2024, 1, 1) <= date.fromisoformat(rate["as_of"]) <= date.today(), path
        assert isinstance(rate["approximate"], bool), path
        assert rate["unit"].strip(), path


def test_rounded_list_prices_are_marked_approximate_and_match_the_public_ones():
    for tier in ("basic", "scale"):
        rate = RAW["compute_per_unit_hour"][tier]
        assert rate["approximate"] is True
        assert rate["source"].startswith("ClickHouse Cloud pricing page, public list prices")
        assert 0.22 <= rate["value"] <= 0.30
    assert STORAGE == 25.30


def test_a_rate_without_a_source_or_date_is_refused(tmp_path):
    for broken, message in (({"source": ""}, "names no source"), ({"as_of": "May"}, "YYYY-MM-DD")):
        raw = json.loads(json.dumps(RAW))
        raw["storage_per_tb_month"].update(broken)
        path = tmp_path / f"rates-{len(message)}.json"
        path.write_text(json.dumps(raw))
        with pytest.raises(RateDataError, match=message):
            load_rates(path)


def test_a_typical_configuration_outside_its_types_limits_is_refused(tmp_path):
    raw = json.loads(json.dumps(RAW))
    raw["typical_configurations"][0]["nodes"] = 3
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(RateDataError, match="Development clusters have 1–2 nodes; got 3"):
        load_rates(path)


# --- compute units ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vcpu", "gib", "units"),
    [
        (4, 16, 2),  # Development's smallest node: exactly the unit ratio
        (8, 64, 8),  # memory-bound: 64 / 8
        (16, 128, 16),
        (32, 256, 32),
        (8, 16, 4),  # vCPU-bound: 8 / 2
        (3, 12, 2),  # partial units round up
    ],
)
def test_units_per_node_follow_the_larger_of_memory_and_vcpu(vcpu, gib, units):
    assert compute_units_per_node(vcpu, gib) == units


# --- the breakdown ---------------------------------------------------------------------------


def test_breakdown_is_hand_arithmetic():
    estimate = cost()
    assert estimate.compute.amount == pytest.approx(3 * 8 * 176 * SCALE)
    assert estimate.storage.amount == pytest.approx(1.0 * STORAGE)
    assert estimate.backup.amount == pytest.approx(1 * 1.0 * BACKUP)
    assert estimate.transfer.amount == pytest.approx(100 * EGRESS_US)
    assert estimate.compute.quantity == 24 * 176 and estimate.compute.unit == "unit-hours"
    assert estimate.compute.how == "24 units × 176 h × $0.30 × 1 (aws us-east-1)"
    assert estimate.currency == "USD"


def test_an_idle_month_costs_only_storage_backups_and_transfer():
    estimate = cost(active_hours=0)
    assert estimate.compute.amount == 0
    assert estimate.total == pytest.approx(STORAGE + BACKUP + 100 * EGRESS_US)


def test_assumptions_say_how_units_hours_and_backups_were_counted():
    text = " ".join(cost().assumptions)
    assert "bills 8 compute units" in text and "3 nodes bill 24" in text
    assert "176 h this month (always on is 730 h)" in text
    assert "approximate list price" in text
    assert "full copy" in text and "egress" in text


def test_one_unit_one_node_and_one_curve_are_singular():
    """Issue 16: "1 units", "1 curves" read as a slip; counts take the noun in their number."""
    small = cost(nodes=1, vcpu_per_node=2, memory_gib_per_node=8)
    assert small.compute.how.startswith("1 unit × 176 h")
    assert small.assumptions[0].startswith(
        "A node of 2 vCPU and 8 GiB bills 1 compute unit (1 unit = 8 GiB + 2 vCPU"
    )
    assert small.assumptions[0].endswith("; 1 node bills 1.")
    sizing = size_workload(curves_per_day=1, samples_per_curve=2, retention_days=1)
    assert sizing.reasons[0] == "1 curve/day × 2 samples × 1 day = 2 samples in 1 curve."


def test_a_compute_unit_is_defined_in_one_sentence_from_the_billing_ratio():
    said = unit_definition()
    assert said.count(". ") == 0 and said.endswith(".")
    assert f"{GIB_PER_UNIT} GiB of memory with {VCPU_PER_UNIT} vCPU" in said
    assert "8 GiB RAM + 2 vCPU" in RAW["compute_per_unit_hour"]["scale"]["unit"]  # the source


usages = st.builds(
    Usage,
    nodes=st.integers(1, 20),
    vcpu_per_node=st.integers(1, 64),
    memory_gib_per_node=st.integers(1, 512),
    active_hours=st.floats(0, 744),
    storage_tb=st.floats(0, 100),
    backups_retained=st.integers(0, 30),
    egress_gb=st.floats(0, 10_000),
    tier=st.sampled_from(["basic", "scale"]),
    region=st.sampled_from(["us-east-1", "eu-central-1", "ap-northeast-1"]),
)


@given(usages)
def test_lines_sum_to_the_total(u):
    estimate = estimate_monthly_cost(u)
    assert estimate.total == pytest.approx(sum(line.amount for line in estimate.lines))
    assert all(line.amount >= 0 for line in estimate.lines)
    assert estimate.usage == u


@given(
    u=usages,
    field=st.sampled_from(
        [
            "nodes",
            "vcpu_per_node",
            "memory_gib_per_node",
            "active_hours",
            "storage_tb",
            "backups_retained",
            "egress_gb",
        ]
    ),
    more=st.integers(1, 10),
)
def test_more_of_anything_is_never_cheaper(u, field, more):
    bigger = dataclasses.replace(u, **{field: getattr(u, field) + more})
    if bigger.active_hours > 744:
        bigger = dataclasses.replace(bigger, active_hours=744)
    assert estimate_monthly_cost(bigger).total >= estimate_monthly_cost(u).total


@given(u=usages)
def test_scale_never_costs_less_than_basic(u):
    basic = estimate_monthly_cost(dataclasses.replace(u, tier="basic"))
    scale = estimate_monthly_cost(dataclasses.replace(u, tier="scale"))
    assert scale.total >= basic.total


# --- regions ---------------------------------------------------------------------------------


def test_region_multiplies_compute_and_storage_and_sets_egress():
    us, eu, tokyo = (cost(region=r) for r in ("us-east-1", "eu-central-1", "ap-northeast-1"))
    eu_raw, tokyo_raw = REGIONS[("aws", "eu-central-1")], REGIONS[("aws", "ap-northeast-1")]
    assert eu.compute.amount == pytest.approx(
        us.compute.amount * eu_raw["compute_multiplier"]["value"]
    )
    assert eu.storage.amount == pytest.approx(STORAGE * eu_raw["storage_multiplier"]["value"])
    assert eu.backup.amount == pytest.approx(BACKUP * eu_raw["storage_multiplier"]["value"])
    assert tokyo.transfer.amount == pytest.approx(100 * tokyo_raw["egress_per_gb"]["value"])
    assert us.total < eu.total < tokyo.total


def test_regions_without_published_ratios_are_marked_approximate():
    for (_, region), raw in REGIONS.items():
        if region != "us-east-1":
            assert raw["compute_multiplier"]["approximate"] is True
            assert "third-party" in raw["compute_multiplier"]["source"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region": "mars-1"}, "No rates for aws region 'mars-1'; known aws regions: us-east-1"),
        ({"provider": "gcp"}, "known providers: aws"),
        ({"tier": "gold"}, "Unknown tier 'gold'; choose one of: basic, scale."),
        ({"active_hours": 800}, "cannot exceed 744 in a month"),
        ({"active_hours": -1}, "Active hours must be 0 h or more; got -1."),
        ({"storage_tb": float("nan")}, "Compressed storage must be 0 TB or more"),
        ({"egress_gb": -5}, "Egress must be 0 GB or more"),
        ({"nodes": 0}, "Nodes must be a whole number of at least 1; got 0."),
        ({"nodes": 2.5}, "Nodes must be a whole number"),
        ({"backups_retained": -1}, "Backups retained must be a whole number of at least 0"),
        ({"memory_gib_per_node": 0}, "Memory per node must be above 0 GiB"),
    ],
)
def test_impossible_inputs_are_refused_with_a_reason(changes, message):
    with pytest.raises(CostInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cost(**changes)


def test_usage_from_a_wizard_spec():
    spec = cluster_type("production").default_spec()
    u = Usage.for_spec(spec, active_hours=730, storage_tb=2.0)
    assert (u.nodes, u.vcpu_per_node, u.memory_gib_per_node) == (5, 16, 128)


# --- budget ----------------------------------------------------------------------------------


@given(budget=st.floats(200, 50_000))
def test_hours_for_a_budget_spend_exactly_that_budget(budget):
    u = usage()
    hours = active_hours_for_budget(u, budget)
    fixed = STORAGE + BACKUP + 100 * EGRESS_US
    assert hours == pytest.approx((budget - fixed) / (24 * SCALE))
    if hours <= 744:
        assert cost(active_hours=hours).total == pytest.approx(budget)


def test_no_hours_when_storage_alone_exceeds_the_budget():
    assert active_hours_for_budget(usage(storage_tb=100), 100) == 0


# --- reverse sizing --------------------------------------------------------------------------


def test_a_year_of_ten_thousand_curves_a_day():
    sizing = size_workload(curves_per_day=10_000, samples_per_curve=2_000, retention_days=365)
    assert sizing.bytes_per_sample == 1.26  # Curvehouse's own measured figure is the default
    assert sizing.curves_stored == 3_650_000
    assert sizing.samples_stored == 7_300_000_000
    assert sizing.compressed_bytes == pytest.approx(7.3e9 * 1.26)  # 9.2 GB
    assert sizing.compressed_tb == pytest.approx(0.009198)
    per_vcpu = RAW["sizing"]["scan_samples_per_vcpu_second"]["value"]
    assert sizing.full_scan_seconds["development"] == pytest.approx(7.3e9 / (per_vcpu * 4))
    assert sizing.full_scan_seconds["manufacturing_analytics"] == pytest.approx(
        7.3e9 / (per_vcpu * 24)
    )
    assert sizing.suggested_type == "manufacturing_analytics"
    text = " ".join(sizing.reasons)
    assert "7,300,000,000 samples in 3,650,000 curves" in text
    assert "9.2 GB compressed" in text and "measured on Curvehouse's own store" in text
    assert "Manufacturing Analytics is the smallest type that meets the target" in text


def test_a_small_pilot_fits_development():
    sizing = size_workload(curves_per_day=1_000, samples_per_curve=1_000, retention_days=90)
    assert sizing.samples_stored == 90_000_000
    assert sizing.suggested_type == "development"


def test_critical_workloads_get_production_whatever_their_size():
    sizing = size_workload(
        curves_per_day=1_000, samples_per_curve=1_000, retention_days=90, critical=True
    )
    assert sizing.suggested_type == "production"
    assert "Lines depend on the answers" in sizing.reasons[-1]


def test_beyond_every_default_size_says_so():
    sizing = size_workload(curves_per_day=100_000, samples_per_curve=5_000, retention_days=730)
    assert sizing.suggested_type == "production"
    assert "No type meets the target at its default size" in sizing.reasons[-1]


def test_own_bytes_per_sample_for_noisy_float_data():
    sizing = size_workload(
        curves_per_day=10_000, samples_per_curve=2_000, retention_days=365, bytes_per_sample=4.0
    )
    assert sizing.compressed_bytes == pytest.approx(7.3e9 * 4.0)
    assert "measured" not in sizing.reasons[1]


@pytest.mark.parametrize(
    "bad", [{"curves_per_day": 0}, {"retention_days": -1}, {"bytes_per_sample": float("inf")}]
)
def test_sizing_refuses_empty_or_impossible_workloads(bad):
    args = {"curves_per_day": 10, "samples_per_curve": 10, "retention_days": 10, **bad}
    with pytest.raises(CostInputError, match="must be a number above 0"):
        size_workload(**args)


@given(
    curves=st.integers(1, 10**6),
    samples=st.integers(1, 10**5),
    days=st.integers(1, 3650),
    factor=st.integers(2, 5),
)
def test_more_data_never_suggests_a_smaller_type(curves, samples, days, factor):
    order = ["development", "manufacturing_analytics", "production"]
    small = size_workload(curves_per_day=curves, samples_per_curve=samples, retention_days=days)
    big = size_workload(
        curves_per_day=curves * factor, samples_per_curve=samples, retention_days=days
    )
    assert order.index(big.suggested_type) >= order.index(small.suggested_type)
    assert big.compressed_tb > small.compressed_tb


# --- typical configurations against the seed's quoted ranges --------------------------------


def test_typical_configurations_are_valid_sizes_of_their_types():
    assert set(TYPICAL) == {"development", "manufacturing_analytics", "production"}
    for key, t in TYPICAL.items():
        spec = ClusterSpec(
            t["cluster_type"], t["nodes"], t["vcpu_per_node"], t["memory_gib_per_node"]
        )
        assert validate_cluster_spec(spec) == [], key
        assert len(t["assumptions"]) >= 4, key


def test_development_reproduces_50_to_150():
    # 1 node × 2 units, 8 h × 22 workdays, 0.1 TB + 1 backup, 20 GB egress, Scale rate.
    t = TYPICAL["development"]
    assert (t["nodes"], t["active"], t["storage_tb"], t["egress_gb"]) == (
        1,
        {"hours_per_day": 8, "days_per_month": 22},
        0.1,
        20,
    )
    expected = 1 * 2 * (8 * 22) * SCALE + 0.1 * STORAGE + 0.1 * BACKUP + 20 * EGRESS_US
    total = typical_estimates()["development"].total
    assert total == pytest.approx(expected)  # $112.96
    assert 50 <= total <= 150
    # The cheaper Basic rate stays inside the range too ($84.80).
    basic = estimate_monthly_cost(
        dataclasses.replace(load_rates().typical["development"].usage, tier="basic")
    )
    assert basic.total == pytest.approx(expected - 2 * 176 * (SCALE - BASIC))
    assert 50 <= basic.total <= 150


def test_development_always_on_would_not():
    # The same node left running all month: 2 units × 730 h × $0.30 = $438 of compute alone.
    always_on = cost(nodes=1, vcpu_per_node=4, memory_gib_per_node=16, active_hours=HOURS_PER_MONTH)
    assert always_on.compute.amount == pytest.approx(2 * 730 * SCALE)
    assert always_on.total > 150


def test_manufacturing_analytics_costs_1329_not_200_to_500():
    """Not reproducible: the seed's $200–500 does not fit 3 × 64 GiB nodes at list prices.

    24 units for one 8-hour shift on 22 workdays is 4,224 unit-hours, $1,267.20 of compute. $500
    pays for about 61 active hours a month (under 3 h a workday) or 2 units always on, neither
    a plausible plant analytics cluster; the test asserts the honest figure instead.
    """
    t = TYPICAL["manufacturing_analytics"]
    assert (t["nodes"], t["active"], t["storage_tb"], t["egress_gb"]) == (
        3,
        {"hours_per_day": 8, "days_per_month": 22},
        1.0,
        100,
    )
    expected = 3 * 8 * (8 * 22) * SCALE + 1.0 * STORAGE + 1.0 * BACKUP + 100 * EGRESS_US
    total = typical_estimates()["manufacturing_analytics"].total
    assert total == pytest.approx(expected)  # $1,329.32
    assert total > 500
    u = load_rates().typical["manufacturing_analytics"].usage
    hours_500 = active_hours_for_budget(u, 500)
    assert hours_500 == pytest.approx((500 - STORAGE - BACKUP - 100 * EGRESS_US) / (24 * SCALE))
    assert hours_500 < 3 * 22  # under 3 active hours per workday
    always_on_units = (500 - STORAGE - BACKUP - 100 * EGRESS_US) / (HOURS_PER_MONTH * SCALE)
    assert always_on_units < cluster_type("manufacturing_analytics").nodes.minimum


def test_production_is_far_beyond_2000():
    """Reproduced only through the "+": 80 units always on is $17,520 of compute a month.

    The seed's "$500–2,000+" holds as "at least $500", but the listed sizes put Production near
    9× the 2,000 anchor. $2,000 pays for about 70 active hours a month, which no always-on
    production cluster has.
    """
    t = TYPICAL["production"]
    assert (t["nodes"], t["active"], t["storage_tb"], t["egress_gb"]) == (
        5,
        {"always_on": True},
        5.0,
        500,
    )
    expected = 5 * 16 * HOURS_PER_MONTH * SCALE + 5.0 * STORAGE + 5.0 * BACKUP + 500 * EGRESS_US
    total = typical_estimates()["production"].total
    assert total == pytest.approx(expected)  # $17,830.60
    seed = load_rates().typical["production"]
    assert seed.seed_open_ended and total >= seed.seed_low_usd
    assert total > 8 * seed.seed_high_usd
    assert active_hours_for_budget(seed.usage, 2000) < 0.1 * HOURS_PER_MONTH
