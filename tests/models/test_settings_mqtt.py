"""The MQTT settings: defaults for the embedded broker, refusals in words."""

import pytest

from models.settings import Settings, SettingsError


def test_defaults_run_the_embedded_broker_with_one_second_batches():
    s = Settings.from_env({})
    assert s.mqtt_url is None
    assert (s.mqtt_port, s.mqtt_topic_prefix) == (1883, "curvehouse")
    assert s.mqtt_batch_seconds <= 1 and s.mqtt_batch_curves == 500


def test_values_are_read_and_the_url_kept_out_of_repr():
    s = Settings.from_env(
        {
            "CURVEHOUSE_MQTT_URL": "mqtt://gw:topsecret@broker.plant:1883",
            "CURVEHOUSE_MQTT_BATCH_CURVES": "50",
            "CURVEHOUSE_MQTT_BATCH_SECONDS": "0.25",
            "CURVEHOUSE_MQTT_TOPIC_PREFIX": "plant1/curvehouse",
        }
    )
    assert (s.mqtt_batch_curves, s.mqtt_batch_seconds) == (50, 0.25)
    assert s.mqtt_topic_prefix == "plant1/curvehouse"
    assert "topsecret" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("MQTT_URL", "http://broker:1883", "mqtt:// or mqtts://"),
        ("MQTT_BATCH_SECONDS", "0", "between 0 and 60"),
        ("MQTT_BATCH_CURVES", "0", "a number of curves"),
        ("MQTT_TOPIC_PREFIX", "plant/#", "without \\+ or #"),
        ("MQTT_TOPIC_PREFIX", "/curvehouse", "not starting or ending"),
    ],
)
def test_bad_values_are_refused_in_words(name, value, says):
    with pytest.raises(SettingsError, match=says):
        Settings.from_env({f"CURVEHOUSE_{name}": value})
