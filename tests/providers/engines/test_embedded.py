"""The one-engine-per-process limit of chDB, handled explicitly."""

import subprocess
import sys
import textwrap

import pytest

from providers import EngineLimitError
from providers.engines import get_engine

pytestmark = pytest.mark.integration


def test_clients_on_the_same_path_share_one_engine(embedded_provider):
    a, b = embedded_provider.client(), embedded_provider.client()
    a.command("CREATE DATABASE IF NOT EXISTS shared_probe")
    a.command("CREATE TABLE IF NOT EXISTS shared_probe.t (v UInt8) ENGINE = Memory")
    a.command("INSERT INTO shared_probe.t VALUES (7)")
    assert b.query("SELECT v FROM shared_probe.t").result_rows == [(7,)]
    a.command("DROP DATABASE shared_probe")
    a.close()
    b.close()


def test_later_clients_take_the_first_clients_answers(embedded_provider, monkeypatch):
    """The engine's version, time zone and settings are asked once per process: a later
    client sends no query to learn them, and knows what a client that asked knows."""
    from clickhouse_connect.driver.client import Client

    first = embedded_provider.client()

    def no_questions(*_args, **_kwargs):
        raise AssertionError("a later client asked the engine")

    monkeypatch.setattr(Client, "_execute_operation", no_questions)
    later = embedded_provider.client()
    monkeypatch.undo()
    assert (later.server_version, later.server_tz) == (first.server_version, first.server_tz)
    assert later.server_settings.keys() == first.server_settings.keys()
    assert later.get_client_setting("date_time_input_format") == "best_effort"
    assert later.query("SELECT toDateTime('2026-12-07 10:00:00')").result_rows
    first.close()
    later.close()


def test_a_second_path_in_the_same_process_is_refused(embedded_provider, tmp_path):
    keep = embedded_provider.client()  # the session engine is open
    other = get_engine("embedded", path=tmp_path / "other")
    with pytest.raises(EngineLimitError, match="one engine, at one data path, per process"):
        other.client()
    keep.close()


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_path_can_change_once_every_client_is_closed(tmp_path):
    result = _run(
        f"""
        from providers.engines import get_engine
        first = get_engine("embedded", path=r"{tmp_path / "a"}")
        first.client().query("SELECT 1")
        first.close()
        second = get_engine("embedded", path=r"{tmp_path / "b"}")
        print(second.client().query("SELECT 2").result_rows)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "[(2,)]" in result.stdout


def test_a_data_directory_held_by_another_process_names_its_pid(tmp_path):
    path = tmp_path / "held"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from providers.engines import get_engine
                client = get_engine("embedded", path=r"{path}").client()
                client.query("SELECT 1")
                print("ready", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = _run(
            f"""
            from providers import EngineBusyError
            from providers.engines import get_engine
            try:
                get_engine("embedded", path=r"{path}").client()
            except EngineBusyError as exc:
                print(exc)
            """
        )
        assert f"in use by another process (PID {holder.pid}" in result.stdout, result.stderr
    finally:
        holder.kill()
        holder.communicate()


def test_a_connection_opened_around_the_provider_is_named_as_ours(tmp_path):
    result = _run(
        f"""
        import chdb
        from providers import EngineBusyError
        from providers.engines import get_engine
        direct = chdb.connect(r"{tmp_path / "direct"}")
        direct.query("SELECT 1")
        try:
            get_engine("embedded", path=r"{tmp_path / "direct"}").client()
        except EngineBusyError as exc:
            print(exc)
        """
    )
    assert "This process already has the embedded ClickHouse data" in result.stdout, result.stderr


def test_clients_nobody_holds_do_not_keep_the_first_path(tmp_path):
    """A client left unclosed but no longer referenced (here in a reference cycle, as a
    dropped explorer's are) does not block another path; one still held does."""
    result = _run(
        f"""
        import gc
        gc.disable()  # only the engine's own collection may free the cycle
        from providers import EngineLimitError
        from providers.engines import get_engine
        first = get_engine("embedded", path=r"{tmp_path / "a"}")

        class Holder:
            pass

        dropped = Holder()
        dropped.client = first.client()
        dropped.me = dropped  # a cycle: freed only by the garbage collector
        dropped.client.query("SELECT 1")
        del dropped
        held = first.client()
        try:
            get_engine("embedded", path=r"{tmp_path / "b"}").client()
        except EngineLimitError as exc:
            print("refused while held:", "1 client(s)" in str(exc))
        held.close()
        second = get_engine("embedded", path=r"{tmp_path / "b"}")
        print(second.client().query("SELECT 2").result_rows)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "refused while held: True" in result.stdout
    assert "[(2,)]" in result.stdout


class Recording:
    """Stands in for a client of another ClickHouse (a cluster's server): records commands."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def command(self, sql: str) -> None:
        self.commands.append(sql)


def test_memory_goes_back_only_through_this_processs_own_engine(embedded_provider):
    client = embedded_provider.client()
    embedded_provider.release_memory(client)  # chDB takes the purge
    assert client.query("SELECT 1").result_rows == [(1,)]
    client.close()
    elsewhere = Recording()
    embedded_provider.release_memory(elsewhere)
    assert elsewhere.commands == []
