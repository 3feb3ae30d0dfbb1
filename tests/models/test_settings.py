from pathlib import Path

import pytest

from models.settings import Settings, SettingsError


def test_defaults_keep_state_under_var():
    settings = Settings.from_env({})
    assert settings.home == Path("var").absolute()
    assert settings.chdb_path == Path("var").absolute() / "chdb"
    assert settings.engine == "embedded"
    assert settings.port == 5006


def test_values_come_from_prefixed_environment(tmp_path):
    settings = Settings.from_env(
        {
            "CURVEHOUSE_HOME": str(tmp_path),
            "CURVEHOUSE_PORT": "7000",
            "CURVEHOUSE_DATABASE": "plant_a",
            "HOME": "/ignored",
        }
    )
    assert settings.home == tmp_path
    assert settings.port == 7000
    assert settings.database == "plant_a"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CURVEHOUSE_ENGINE": "cloud9"}, "not an engine"),
        ({"CURVEHOUSE_ENGINE": "server"}, "needs CURVEHOUSE_CLICKHOUSE_URL"),
        ({"CURVEHOUSE_PORT": "eighty"}, "not a port"),
    ],
)
def test_bad_values_are_explained(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_server_url_names_the_database_unless_overridden():
    url = "https://u:p@ch.example:8443/plant_b"
    assert (
        Settings.from_env(
            {"CURVEHOUSE_ENGINE": "server", "CURVEHOUSE_CLICKHOUSE_URL": url}
        ).database
        == "plant_b"
    )
    env = {
        "CURVEHOUSE_ENGINE": "server",
        "CURVEHOUSE_CLICKHOUSE_URL": url,
        "CURVEHOUSE_DATABASE": "x",
    }
    assert Settings.from_env(env).database == "x"
