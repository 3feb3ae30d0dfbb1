from pathlib import Path

import pytest

from models.settings import HOT_CACHE_MB, Settings, SettingsError


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
            "CURVEHOUSE_CLOUD_KEY_SECRET": "s3cret",
        }
    )
    assert settings.hot_cache_mb == 0
    assert settings.cloud.configured
    assert (settings.cloud.organization_id, settings.cloud.key_id) == ("org", "key")
    assert settings.cloud.key_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    default = Settings.from_env({})
    assert default.hot_cache_mb == HOT_CACHE_MB and not default.cloud.configured
    assert default.cloud.api_url == "https://api.clickhouse.cloud/v1"


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


def test_groups_keep_their_flat_variable_names():
    settings = Settings.from_env(
        {
            "CURVEHOUSE_CLOUD_API_URL": "https://cloud.example/v1",
            "CURVEHOUSE_OIDC_CLIENT_ID": "curvehouse",
            "CURVEHOUSE_OIDC_CLIENT_SECRET": "oidc-secret",
            "CURVEHOUSE_OIDC_AUTHORIZE_URL": "https://idp.example/authorize",
            "CURVEHOUSE_OIDC_TOKEN_URL": "https://idp.example/token",
            "CURVEHOUSE_OIDC_USER_URL": "https://idp.example/userinfo",
            "CURVEHOUSE_PUBLIC_URL": "https://ch.plant.example",
            "CURVEHOUSE_SMTP_URL": "smtp://mailer:smtp-secret@mail.example:587",
            "CURVEHOUSE_MAIL_FROM": "ch@plant.example",
            "CURVEHOUSE_SECRET_KEY_FILE": "~/ch.key",
        }
    )
    assert settings.cloud.api_url == "https://cloud.example/v1" and not settings.cloud.configured
    assert settings.oidc.configured and settings.oidc.token_url == "https://idp.example/token"
    assert settings.oidc.client_secret.get_secret_value() == "oidc-secret"
    assert settings.smtp.url.get_secret_value() == "smtp://mailer:smtp-secret@mail.example:587"
    assert settings.mail_from == "ch@plant.example"
    assert settings.secret_key_file == Path("~/ch.key").expanduser()


def test_secrets_never_show_in_repr():
    key = "A" * 43 + "="
    settings = Settings.from_env(
        {
            "CURVEHOUSE_COOKIE_SECRET": "c" * 40,
            "CURVEHOUSE_OWNER_PASSWORD": "owner-pw",
            "CURVEHOUSE_SECRET_KEY": key,
            "CURVEHOUSE_SMTP_URL": "smtp://mailer:smtp-pw@mail.example",
            "CURVEHOUSE_DATABASE_URL": "postgresql+psycopg://ch:db-pw@db.example/ch",
            "CURVEHOUSE_ENGINE": "server",
            "CURVEHOUSE_CLICKHOUSE_URL": "http://default:ch-pw@ch.example:8123/plant",
        }
    )
    shown = repr(settings) + str(settings)
    for secret in ("c" * 40, "owner-pw", key, "smtp-pw", "db-pw", "ch-pw"):
        assert secret not in shown
    assert settings.cookie_secret.get_secret_value() == "c" * 40


def test_empty_variables_are_unset_and_names_are_exact():
    settings = Settings.from_env(
        {
            "CURVEHOUSE_PORT": "",
            "CURVEHOUSE_CLOUD_KEY_ID": "",
            "CURVEHOUSE_SMTP_URL": "",
            "curvehouse_port": "7000",
            "CURVEHOUSE_port": "7001",
        }
    )
    assert settings.port == 5006
    assert not settings.cloud.configured and not settings.smtp.configured


def test_settings_are_frozen_hashable_and_overridable(tmp_path):
    settings = Settings(home=tmp_path)
    assert settings == Settings(home=tmp_path) and hash(settings) == hash(Settings(home=tmp_path))
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1
    moved = settings.with_overrides(port=7000, cookie_secret="s" * 32)
    assert (moved.port, moved.home, settings.port) == (7000, tmp_path, 5006)
    assert moved.cookie_secret.get_secret_value() == "s" * 32
    with pytest.raises(ValueError, match="not a port number"):
        settings.with_overrides(port="eighty")


def test_settings_built_by_hand_read_no_environment(monkeypatch):
    monkeypatch.setenv("CURVEHOUSE_PORT", "7000")
    assert Settings().port == 5006
    assert Settings.from_env().port == 7000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CURVEHOUSE_OIDC_CLIENT_ID": "x"}, "missing: CURVEHOUSE_OIDC_CLIENT_SECRET, "),
        ({"CURVEHOUSE_CLOUD_ORGANIZATION_ID": "o"}, "CURVEHOUSE_CLOUD_KEY_SECRET; some are"),
        ({"CURVEHOUSE_SERVER_CLUSTER_HOSTS": "http://x"}, "CURVEHOUSE_SERVER_CLUSTER_HOSTS: "),
        ({"CURVEHOUSE_UPLOAD_SECONDS": "0"}, "'0' is not a number of seconds"),
    ],
)
def test_group_and_list_problems_name_their_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_the_hot_cache_takes_an_eighth_of_the_machine_and_at_least_512_mb():
    from models.settings import default_hot_cache_mb, machine_memory_mb

    assert default_hot_cache_mb(None) == 512  # memory unknown
    assert default_hot_cache_mb(2_048) == 512
    assert default_hot_cache_mb(24_000) == 3_000
    memory = machine_memory_mb()
    assert memory is not None and memory > 0  # Linux says
    assert HOT_CACHE_MB == default_hot_cache_mb(memory) == Settings().hot_cache_mb
