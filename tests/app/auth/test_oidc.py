"""Sign-in through an identity provider: settings, Panel's generic OAuth options, accounts
made on first sight. (No identity provider runs here: the redirect flow itself is Panel's.)"""

from __future__ import annotations

import pytest

from app.auth.login import principal_for
from app.server import oidc_options
from models.settings import Settings, SettingsError
from models.store import open_metadata

IDP = {
    "CURVEHOUSE_OIDC_CLIENT_ID": "curvehouse",
    "CURVEHOUSE_OIDC_CLIENT_SECRET": "s3cret",
    "CURVEHOUSE_OIDC_AUTHORIZE_URL": "https://idp.plant.example/authorize",
    "CURVEHOUSE_OIDC_TOKEN_URL": "https://idp.plant.example/token",
    "CURVEHOUSE_OIDC_USER_URL": "https://idp.plant.example/userinfo",
}


def test_oidc_settings_are_all_or_nothing_and_need_a_public_url():
    with pytest.raises(SettingsError, match="missing: CURVEHOUSE_OIDC_TOKEN_URL"):
        Settings.from_env({k: v for k, v in IDP.items() if not k.endswith("TOKEN_URL")})
    with pytest.raises(SettingsError, match="PUBLIC_URL"):
        Settings.from_env(IDP)
    settings = Settings.from_env({**IDP, "CURVEHOUSE_PUBLIC_URL": "https://ch.plant.example/"})
    options = oidc_options(settings)
    assert options["oauth_provider"] == "generic"
    assert options["oauth_redirect_uri"] == "https://ch.plant.example/login"
    assert options["oauth_extra_params"]["USER_URL"] == IDP["CURVEHOUSE_OIDC_USER_URL"]
    assert "s3cret" not in repr(settings)
    assert oidc_options(Settings()) is None


def test_a_vouched_for_user_gets_an_account_without_roles(tmp_path):
    with open_metadata(Settings(home=tmp_path)) as store:
        assert principal_for(store, "new@plant.example") is None
        who = principal_for(store, "New@Plant.example", provision=True)
        assert who.label == "new@plant.example" and who.user_id is not None
        assert principal_for(store, "new@plant.example") == who
