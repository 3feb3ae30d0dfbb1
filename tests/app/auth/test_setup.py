"""The cookie secret and the first owner, before the server starts."""

from __future__ import annotations

import stat

import pytest

from app.auth.setup import announce, cookie_secret, first_owner
from models.settings import Settings, SettingsError
from models.store import open_metadata


def test_serving_locally_keeps_one_generated_secret(tmp_path):
    settings = Settings(home=tmp_path)
    secret = cookie_secret(settings)
    assert len(secret) >= 48 and cookie_secret(settings) == secret
    assert stat.S_IMODE((tmp_path / "cookie-secret").stat().st_mode) == 0o600
    assert cookie_secret(Settings(home=tmp_path / "other")) != secret


def test_serving_to_others_needs_a_secret_of_its_own(tmp_path):
    with pytest.raises(SettingsError, match="needs CURVEHOUSE_COOKIE_SECRET"):
        cookie_secret(Settings(home=tmp_path, address="0.0.0.0"))
    assert not (tmp_path / "cookie-secret").exists()
    given = "x" * 40
    assert cookie_secret(Settings(home=tmp_path, address="0.0.0.0", cookie_secret=given)) == given


def test_a_short_secret_in_the_environment_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="too short"):
        Settings.from_env({"CURVEHOUSE_COOKIE_SECRET": "changeme"})


def test_the_first_owner_is_announced_once(tmp_path):
    settings = Settings(home=tmp_path, owner_email="boss@plant.example")
    with open_metadata(settings) as store:
        message = announce(first_owner(store, settings), "http://localhost:5006/")
        assert "boss@plant.example" in message and "http://localhost:5006/login" in message
        password = message.split("password: ")[1].split()[0]
        assert len(password) >= 20
        assert announce(first_owner(store, settings), "http://localhost:5006/") is None
