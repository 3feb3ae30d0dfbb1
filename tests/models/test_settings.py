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
        ({"CURVEHOUSE_HOT_CACHE_MB": "-1"}, "not a size in MB"),
        ({"CURVEHOUSE_HOT_CACHE_MB": "lots"}, "not a size in MB"),
        ({"CURVEHOUSE_CLOUD_KEY_ID": "k"}, "some are missing"),
        ({"CURVEHOUSE_CLICKHOUSE_CLUSTER": "plant"}, "needs CURVEHOUSE_ENGINE=server"),
        (
            {
                "CURVEHOUSE_ENGINE": "server",
                "CURVEHOUSE_CLICKHOUSE_URL": "http://h:8123",
                "CURVEHOUSE_CLICKHOUSE_CLUSTER": "plant; DROP",
            },
            "CLICKHOUSE_CLUSTER: 'plant; DROP' is not a valid name",
        ),
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


def test_metadata_store_defaults_to_sqlite_under_home(tmp_path):
    settings = Settings.from_env({"CURVEHOUSE_HOME": str(tmp_path)})
    assert settings.database_url is None
    assert settings.metadata_url == f"sqlite:///{tmp_path / 'curvehouse.db'}"
    relative = Settings(home=Path("var"))
    assert relative.metadata_url == f"sqlite:///{Path('var').absolute() / 'curvehouse.db'}"


def test_metadata_store_url_comes_from_the_environment():
    url = "postgresql+psycopg://curvehouse:pw@db.plant.example/curvehouse"
    settings = Settings.from_env({"CURVEHOUSE_DATABASE_URL": url})
    assert settings.database_url == settings.metadata_url == url


def test_a_database_url_without_scheme_is_explained_without_echoing_it():
    with pytest.raises(SettingsError, match="CURVEHOUSE_DATABASE_URL has no scheme") as bad:
        Settings.from_env({"CURVEHOUSE_DATABASE_URL": "curvehouse:s3cret@db"})
    assert "s3cret" not in str(bad.value)


def test_hot_cache_and_cloud_api_come_from_the_environment():
    settings = Settings.from_env(
        {
            "CURVEHOUSE_HOT_CACHE_MB": "0",
            "CURVEHOUSE_CLOUD_ORGANIZATION_ID": "org",
            "CURVEHOUSE_CLOUD_KEY_ID": "key",
            "CURVEHOUSE_CLOUD_KEY_SECRET": "secret",
        }
    )
    assert settings.hot_cache_mb == 0
    assert settings.cloud_api == ("org", "key", "secret")
    assert "secret" not in repr(settings)
    assert Settings.from_env({}).hot_cache_mb == 512 and Settings.from_env({}).cloud_api is None


def test_a_server_names_its_cluster():
    settings = Settings.from_env(
        {
            "CURVEHOUSE_ENGINE": "server",
            "CURVEHOUSE_CLICKHOUSE_URL": "http://h:8123/plant_a",
            "CURVEHOUSE_CLICKHOUSE_CLUSTER": "plant",
        }
    )
    assert settings.clickhouse_cluster == "plant"
    assert Settings.from_env({}).clickhouse_cluster is None
