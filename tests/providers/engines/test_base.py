import pytest

from models.settings import Settings
from providers import ProviderError
from providers.engines import engine_from_settings, engine_types, get_engine
from providers.engines.server import ServerEngine, redact


def test_registry_knows_embedded_and_server():
    assert engine_types() == ("embedded", "server")


def test_unknown_engine_is_named():
    with pytest.raises(ProviderError, match="Unknown engine 'cloud9'; known: embedded, server"):
        get_engine("cloud9")


def test_settings_choose_the_engine(tmp_path):
    embedded = engine_from_settings(Settings(home=tmp_path))
    assert embedded.describe()["path"] == str((tmp_path / "chdb").resolve())
    server = engine_from_settings(
        Settings(engine="server", clickhouse_url="https://u:secret@ch.example:8443/db")
    )
    assert isinstance(server, ServerEngine)
    assert "secret" not in str(server.describe())


@pytest.mark.parametrize("url", ["ftp://host/db", "localhost:8123", "http://"])
def test_server_url_must_be_http(url):
    with pytest.raises(ProviderError, match="not a ClickHouse server URL"):
        get_engine("server", url=url)


def test_redact_masks_only_the_password():
    assert redact("https://alice:s3cr%40t@h:8443/db") == "https://alice:***@h:8443/db"
    assert redact("http://h:8123") == "http://h:8123"


def test_unreachable_server_is_a_provider_error():
    engine = get_engine("server", url="http://default:@127.0.0.1:1/x", connect_timeout=1)
    with pytest.raises(ProviderError, match="Cannot reach ClickHouse at http://default"):
        engine.client()
