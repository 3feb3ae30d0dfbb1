"""The person behind a page's session, for every page to check before it shows anything."""

from __future__ import annotations

import panel as pn

from app.auth.login import LOGIN, principal_for
from models.access import Principal, operator
from models.settings import Settings, get_settings
from models.store import MetadataStore

LOCAL = "local"


def served() -> bool:
    return pn.state.curdoc is not None and pn.state.curdoc.session_context is not None


def current_principal(store: MetadataStore) -> Principal | None:
    """The signed-in person; outside a served session (a notebook, a test) the operator.

    A served session without a known user (``panel serve`` started without
    ``--auth-module app/auth/module.py``) gets None, so pages show nothing rather than
    everything.
    """
    if not served():
        return operator(LOCAL)
    return principal_for(store, pn.state.user, provision=get_settings().oidc is not None)


def sign_in_required() -> pn.pane.Alert:
    return pn.pane.Alert(
        f"**Sign in to see this page.** [Sign in]({LOGIN})\n\n"
        "Serving with `panel serve`? Add `--auth-module app/auth/module.py` and "
        "`--cookie-secret` (see the README's Login section).",
        alert_type="warning",
        name="sign-in-required",
    )


def public_base(settings: Settings) -> str:
    """Where people reach this server, for links: ``CURVEHOUSE_PUBLIC_URL``, else the host the
    browser asked for, else the serving address."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if served():
        request = pn.state.curdoc.session_context.request
        host = request.headers.get("Host") if request is not None else None
        if host:
            return f"{getattr(request, 'protocol', 'http')}://{host}"
    return f"http://{settings.address}:{settings.port}"
