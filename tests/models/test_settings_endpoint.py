"""CURVEHOUSE_ENDPOINT_THREADS: threads per query of other processes reaching the built-in engine
through a running server (providers/engines/endpoint.py)."""

import pytest

from models.settings import Settings, SettingsError


def test_one_thread_unless_told():
    assert Settings.from_env({}).endpoint_threads == 1
    assert Settings.from_env({"CURVEHOUSE_ENDPOINT_THREADS": "2"}).endpoint_threads == 2


@pytest.mark.parametrize("value", ["0", "-1", "all", "1.5"])
def test_nonsense_is_refused_by_name(value):
    with pytest.raises(SettingsError, match=f"CURVEHOUSE_ENDPOINT_THREADS={value!r} is not"):
        Settings.from_env({"CURVEHOUSE_ENDPOINT_THREADS": value})
