"""Serving: the same page factories for ``curvehouse serve`` and ``panel serve app/pages/*.py``."""

from __future__ import annotations

import sys

import panel as pn

from app import api
from app.auth.login import INVITE, LoginProvider
from app.auth.setup import announce, cookie_secret, first_owner
from app.clusters.poller import ClusterPoller
from app.pages import clusters, curves, home, projects, team
from app.runtime import adopt_curve_projects, metadata_for, open_store
from models.settings import Settings
from pipelines.density import warm_up
from providers import ProviderError

# URL slug -> factory building a fresh page per session; slugs are the page modules' names, as
# under ``panel serve app/pages/*.py --index curves``, and "/" opens the explorer.
PAGES = {
    "": curves.page,
    "curves": curves.page,
    "home": home.page,
    "clusters": clusters.page,
    "projects": projects.page,
    "team": team.page,
}


def oidc_options(settings: Settings) -> dict | None:
    """``pn.serve`` options for sign-in through an identity provider: Panel's generic OAuth
    provider (authorization code flow). None when OIDC is not configured."""
    if settings.oidc is None:
        return None
    client_id, client_secret, authorize_url, token_url, user_url = settings.oidc
    return {
        "oauth_provider": "generic",
        "oauth_key": client_id,
        "oauth_secret": client_secret,
        "oauth_redirect_uri": f"{settings.public_url.rstrip('/')}/login",
        "oauth_extra_params": {
            "AUTHORIZE_URL": authorize_url,
            "TOKEN_URL": token_url,
            "USER_URL": user_url,
            "USER_KEY": "email",
        },
    }


def serve(settings: Settings, *, show: bool = False, origins: tuple[str, ...] = ()) -> None:
    """Serve every page; ``origins`` are extra host:port values browsers may connect from.

    A ClickHouse server that cannot be reached at start is reported, and the app serves
    anyway: pages say the store is unavailable and work again once it answers. The embedded
    engine fails fast instead (a data directory held by another process will not free itself).
    """
    try:
        open_store(settings)  # migrate and sweep once, before the first session
        adopt_curve_projects(settings)
    except ProviderError as exc:
        if settings.engine != "server":
            raise
        print(f"warning: {exc}; serving anyway, pages will say so", file=sys.stderr, flush=True)
    warm_up()  # load the compiled kernels now, not in the first visitor's first render
    secret = cookie_secret(settings)  # before anything starts: refused outside local mode
    store = metadata_for(settings)
    url = f"http://{settings.address}:{settings.port}/"
    message = announce(first_owner(store, settings), url)
    if message:
        print(message, flush=True)
    login = LoginProvider(store)
    sign_in = oidc_options(settings) or {"auth_provider": login}
    poller = ClusterPoller(store, settings).start()
    print(f"Curvehouse at {url} (Ctrl+C to stop)", flush=True)
    pn.serve(
        PAGES,
        port=settings.port,
        address=settings.address,
        show=show,
        title="Curvehouse",
        websocket_origin=[
            f"{settings.address}:{settings.port}",
            f"localhost:{settings.port}",
            *origins,
        ],
        print_url=False,
        cookie_secret=secret,
        **sign_in,
        extra_patterns=[(INVITE, login.invite_handler), *api.routes(store, settings)],
    )
    poller.stop()
