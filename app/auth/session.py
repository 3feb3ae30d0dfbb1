"""The person behind a page's session, for every page to check before it shows anything.

A page stays open over Bokeh's websocket long after the request that opened it, so each page
also checks its sign-in session every :data:`CHECK_SECONDS`. Once the session has ended
(sign-out elsewhere, password change or reset, lockout, removed account) the page reloads; the
reload finds no session and lands on ``/login``. A moment later the server closes the page's
websocket itself, so a page that ignores the reload cannot act any more either. Between two
checks a page can still act for at most that long.
"""

from __future__ import annotations

import weakref

import panel as pn
from bokeh.document import Document
from bokeh.server.session import ServerSession
from tornado.ioloop import IOLoop
from tornado.web import decode_signed_value

from app.auth.login import COOKIE_DAYS, LOGIN, SESSION_COOKIE, principal_for
from app.services import Services
from app.ticks import every
from models import signins
from models.access import Principal, operator
from models.settings import Settings
from models.store import MetadataStore

LOCAL = "local"
CHECK_SECONDS = 5
CLOSE_AFTER_SECONDS = 3  # time for the reload to reach the browser before the socket closes
_watched: weakref.WeakSet[Document] = weakref.WeakSet()


def served() -> bool:
    return pn.state.curdoc is not None and pn.state.curdoc.session_context is not None


def current_principal(services: Services) -> Principal | None:
    """The signed-in person; outside a served session (a notebook, a test) the operator.

    A served session without a known user (``panel serve`` started without
    ``--auth-module app/auth/module.py``) gets None, so pages show nothing rather than
    everything.
    """
    if not served():
        return operator(LOCAL)
    store = services.metadata
    oidc = services.settings.oidc.configured
    if pn.state.user and not oidc:  # our own sign-in: a session row stands behind the page
        token = page_session_token()
        if token is None or not session_alive(store, token):
            return None
        watch_session(store, token)
    return principal_for(store, pn.state.user, provision=oidc)


def page_session_token() -> str | None:
    """The sign-in session token from the cookie the page was requested with."""
    request = pn.state.curdoc.session_context.request
    raw = request.cookies.get(SESSION_COOKIE) if request is not None else None
    if not raw or not pn.config.cookie_secret:
        return None
    value = decode_signed_value(
        pn.config.cookie_secret, SESSION_COOKIE, raw, max_age_days=COOKIE_DAYS
    )
    return value.decode() if value else None


def session_alive(store: MetadataStore, token: str) -> bool:
    with store.sessions() as session:
        return signins.live_session(session, token) is not None


def watch_session(store: MetadataStore, token: str) -> None:
    """Check this page's sign-in session every few seconds; send the page to sign in once it
    ended. Once per page, however many times the page asks who is signed in."""
    document = pn.state.curdoc
    if document in _watched:
        return
    _watched.add(document)

    def check() -> None:
        if not session_alive(store, token):
            watch.stop()
            send_to_sign_in()

    watch = every(check, CHECK_SECONDS * 1000)


def send_to_sign_in() -> None:
    """End this page: reload it in the browser (which then goes to ``/login``), and close its
    websocket from the server a moment later. Nothing outside a served page."""
    if not served():
        return
    pn.state.location.reload = True
    server_session = pn.state.curdoc.session_context.session
    if server_session is not None:
        IOLoop.current().call_later(CLOSE_AFTER_SECONDS, _close, server_session)


def _close(server_session: ServerSession) -> None:
    # Bokeh has no public call for this; Panel's own io/document.py reaches the connections the
    # same way. Once they are closed, Bokeh discards the unused session as usual.
    for connection in list(server_session._subscribed_connections):
        connection._socket.close()


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
