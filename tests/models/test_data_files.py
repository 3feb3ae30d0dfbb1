"""The data files' models: a broken file is refused at load with where and what, all at once."""

import json
from importlib import resources

import pytest
from pydantic import ValidationError

from models.cluster_types import ClusterTypeDataError, load_cluster_types
from models.pricing import RateDataError, load_rates


def packaged(name):
    return json.loads((resources.files("models") / name).read_text(encoding="utf-8"))


def written(tmp_path, raw):
    path = tmp_path / "data.json"
    path.write_text(json.dumps(raw) if not isinstance(raw, str) else raw)
    return path


def test_the_packaged_files_load_as_they_are(tmp_path):
    assert load_cluster_types(written(tmp_path, packaged("cluster_types.json")))
    assert load_rates(written(tmp_path, packaged("rates.json"))) == load_rates()


def test_the_message_names_the_entry_by_its_key_and_the_field(tmp_path):
    raw = packaged("cluster_types.json")
    raw["cluster_types"][1]["vcpu_per_node"]["default"] = 99
    with pytest.raises(ClusterTypeDataError) as refused:
        load_cluster_types(written(tmp_path, raw))
    assert str(refused.value) == (
        "cluster_types.json: cluster_types[1] 'manufacturing_analytics' vcpu_per_node: needs "
        "1 ≤ min ≤ default ≤ max; got min 8, default 99, max 16."
    )


def test_every_problem_is_reported_at_once(tmp_path):
    raw = packaged("rates.json")
    raw["storage_per_tb_month"]["source"] = " "
    raw["regions"][2]["egress_per_gb"]["value"] = "0.14"
    raw["sizing"]["bytes_per_sampel"] = raw["sizing"].pop("bytes_per_sample")
    with pytest.raises(RateDataError) as refused:
        load_rates(written(tmp_path, raw))
    message = str(refused.value)
    assert message.startswith("rates.json: ")
    assert "storage_per_tb_month source: names no source." in message
    assert "regions[2] egress_per_gb value: Input should be a valid number; got '0.14'" in message
    assert "sizing has no 'bytes_per_sample' field." in message
    assert "sizing bytes_per_sampel is not a field the file may have" in message


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["regions"].append(r["regions"][0]), "aws us-east-1 is listed twice"),
        (
            lambda r: r["typical_configurations"][0].update(tier="gold"),
            "typical configuration 'development': no tier 'gold'",
        ),
        (
            lambda r: r["typical_configurations"][0].update(region="mars-1"),
            "typical configuration 'development': no rates for aws mars-1",
        ),
        (
            lambda r: r["typical_configurations"][2]["active"].update(hours_per_day=8),
            "'production' active: give either always_on: true or hours_per_day and days_per_month",
        ),
        (lambda r: r["hours_per_month"].update(approximate="no"), "valid boolean; got 'no'"),
    ],
)
def test_the_rate_card_is_checked_as_a_whole(tmp_path, mutate, message):
    raw = packaged("rates.json")
    mutate(raw)
    with pytest.raises(RateDataError, match=message):
        load_rates(written(tmp_path, raw))


def test_text_that_is_not_json_is_refused_with_its_position(tmp_path):
    with pytest.raises(RateDataError, match=r"rates.json is not valid JSON: .*line 1"):
        load_rates(written(tmp_path, '{"currency": "USD",'))


def test_loaded_data_is_read_only():
    rates = load_rates()
    with pytest.raises(TypeError):
        rates.compute_per_unit_hour["scale"] = rates.compute_per_unit_hour["basic"]  # type: ignore[index]
    with pytest.raises(TypeError):
        rates.regions[("aws", "mars-1")] = rates.regions[("aws", "us-east-1")]  # type: ignore[index]
    with pytest.raises(ValidationError, match="frozen"):
        rates.currency = "EUR"  # type: ignore[misc]
