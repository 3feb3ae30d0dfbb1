import pytest

from models.settings import Settings
from providers import ProviderError, get_provider, provider_from_settings, provider_types
from providers.server import ServerProvider, redact


def test_registry_knows_embedded_and_server():
    assert provider_types() == ("embedded", "server")


def test_unknown_provider_is_named():
    with pytest.raises(ProviderError, match="Unknown provider 'cloud9'"):
        get_provider("cloud9")


def test_settings_choose_the_provider(tmp_path):
    embedded = provider_from_settings(Settings(home=tmp_path))
    assert embedded.describe()["path"] == str((tmp_path / "chdb").resolve())
    server = provider_from_settings(
        Settings(engine="server", clickhouse_url="https://u:secret@ch.example:8443/db")
    )
    assert isinstance(server, ServerProvider)
    assert "secret" not in str(server.describe())


@pytest.mark.parametrize("url", ["ftp://host/db", "localhost:8123", "http://"])
def test_server_url_must_be_http(url):
    with pytest.raises(ProviderError, match="not a ClickHouse server URL"):
        get_provider("server", url=url)


def test_redact_masks_only_the_password():
    assert redact("https://alice:s3cr%40t@h:8443/db") == "https://alice:***@h:8443/db"
    assert redact("http://h:8123") == "http://h:8123"


def test_unreachable_server_is_a_provider_error():
    provider = get_provider("server", url="http://default:@127.0.0.1:1/x", connect_timeout=1)
    with pytest.raises(ProviderError, match="Cannot reach ClickHouse at http://default"):
        provider.client()


def test_cluster_providers_are_registered_by_type():
    from providers.clusters import cluster_provider_class, get_cluster_provider

    for key in ("embedded", "server", "cloud"):
        assert cluster_provider_class(key).provider_type == key
    every = r"known: embedded, server, cloud\.$"
    with pytest.raises(ProviderError, match=f"Unknown cluster provider 'ftp'; {every}"):
        get_cluster_provider("ftp")
