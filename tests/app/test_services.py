"""The process's services: built once per Services object, on first use, and handed on."""

import threading
import types
import uuid

import pytest

import app.server as server
import app.services as services_module
from app import cli
from app.services import MIB, Services
from models.settings import Settings
from pipelines.store import CurveStore


def test_each_part_is_built_once_and_only_when_asked(tmp_path):
    services = Services(Settings(home=tmp_path, hot_cache_mb=3))
    assert not (tmp_path / "curvehouse.db").exists()  # nothing opened yet
    store, hot, engine = services.metadata, services.hot, services.engine
    assert (tmp_path / "curvehouse.db").exists()
    assert services.metadata is store and services.hot is hot and services.engine is engine
    assert hot.budget == 3 * MIB
    other = Services(Settings(home=tmp_path, hot_cache_mb=3))
    assert other.metadata is not store and other.hot is not hot
    services.close()
    other.close()


def test_threads_asking_at_once_share_one_store(tmp_path):
    services = Services(Settings(home=tmp_path))
    seen, start = [], threading.Barrier(4)

    def ask():
        start.wait()
        seen.append(services.metadata)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(store is seen[0] for store in seen)
    services.close()


def test_close_releases_what_was_built(tmp_path):
    with Services(Settings(home=tmp_path)) as services:
        first = services.metadata
    assert services.metadata is not first  # a new one after close, should anyone ask again
    services.close()


@pytest.mark.integration
def test_the_schema_step_runs_once_per_services(embedded_provider, monkeypatch):
    opened = []
    real_open = CurveStore.open

    def counting_open(*args, **kwargs):
        opened.append(args[1])
        return real_open(*args, **kwargs)

    monkeypatch.setattr(CurveStore, "open", counting_open)
    database = f"services_{uuid.uuid4().hex[:8]}"
    with Services(Settings.from_env().with_overrides(database=database)) as services:
        first, second = services.open_store(), services.open_store()
        try:
            assert opened == [database]
            assert first.client is not second.client  # each caller its own client
            assert second.database == database
        finally:
            first.client.command(f"DROP DATABASE IF EXISTS {database}")


@pytest.mark.integration
def test_the_operators_reader_closes_its_client(embedded_provider):
    database = f"services_{uuid.uuid4().hex[:8]}"
    with Services(Settings.from_env().with_overrides(database=database)) as services:
        with services.curves() as curves:
            assert curves.projects is None and curves.count() == 0
            client = curves.client
        assert client._backend._closed  # clickhouse-connect's chDB backend flags itself
        with services.open_store().client as cleanup:
            cleanup.command(f"DROP DATABASE IF EXISTS {database}")


def test_serve_hands_every_page_the_same_services(monkeypatch, tmp_path):
    services = Services(Settings(home=tmp_path))
    monkeypatch.setattr(server, "PAGES", {"": lambda given: ("page", given)})
    bound = server.pages(services)
    # Panel calls only plain functions per session (a functools.partial would be shown as is).
    assert isinstance(bound[""], types.FunctionType)
    assert bound[""]() == ("page", services)


def test_a_command_builds_one_services_and_closes_it(monkeypatch, tmp_path, capsys):
    built = []

    class Recording(Services):
        def __init__(self, settings):
            super().__init__(settings)
            self.closed = False
            built.append(self)

        def close(self):
            self.closed = True
            super().close()

    monkeypatch.setenv("CURVEHOUSE_HOME", str(tmp_path))
    monkeypatch.setattr(services_module, "Services", Recording)
    assert cli.main(["user", "list"]) == 0
    assert len(built) == 1 and built[0].closed
    assert built[0].settings.home == tmp_path
