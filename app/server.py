"""Serving: the same page factories for ``curvehouse serve`` and ``panel serve app/pages/*.py``."""

from __future__ import annotations

import gc
import os
import re
import secrets
import signal
import sys
from collections.abc import Callable

import panel as pn
from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import OutputTransform

from app import api
from app.alert_mail import AlertMailer
from app.auth.login import INVITE, LoginProvider
from app.auth.setup import announce, cookie_secret, first_owner
from app.clusters.poller import ClusterPoller
from app.explorer.elements import warm_plotting
from app.feature_fill import FeatureFiller
from app.homes.mover import ProjectMover
from app.live import (
    LiveIngest,
    LiveIngestError,
    Simulation,
    simulator_login,
    start_live_ingest,
    start_simulation,
)
from app.pages import (
    board,
    clusters,
    curves,
    dashboards,
    home,
    part,
    projects,
    quality,
    reports,
    team,
)
from app.report_mail import ReportMailer
from app.rule_runs import RunResumer
from app.services import Services
from models.settings import Settings
from pipelines.density import warm_up
from pipelines.live.broker import BrokerError, BrokerMissingError
from pipelines.live.claim import ListenerTaken
from pipelines.live.simulator import parse_rate, pick_stations
from pipelines.projects import adopt_curve_projects
from pipelines.synthetic import DEMO_PROJECT
from providers import ProviderError
from providers.engines.endpoint import EngineEndpoint

# URL slug -> factory building a fresh page per session from the process's Services; slugs are
# the page modules' names, as under ``panel serve app/pages/*.py --index curves``, and "/"
# opens the explorer.
Page = Callable[[Services], pn.template.BaseTemplate]
PAGES: dict[str, Page] = {
    "": curves.page,
    "curves": curves.page,
    "home": home.page,
    "board": board.page,
    "quality": quality.page,
    "dashboards": dashboards.page,
    "reports": reports.page,
    "clusters": clusters.page,
    "projects": projects.page,
    "team": team.page,
    "part": part.page,
}


# What a page may load and run, and who may frame it: the second line of defence behind
# app/markup.py, for a value that would reach markup unescaped anyway. Only this server's
# files; inline scripts only with the answer's nonce (the page scripts Bokeh and Panel write
# get it, see SecurityHeaders), so an injected onerror=, javascript: link, <script> or
# <iframe> does not run or load, and no page can be framed (the proof of concept of issue 13
# drove the Team page in a hidden frame). The strictest policy under which every page works
# in Chromium (tests/ui/test_xss_browser.py); what it still allows, and why:
# - script-src 'unsafe-eval': the Panel template's own actions (ReactiveHTML scripts) are
#   compiled with new Function; Bokeh's CustomJS works the same way. It runs only strings
#   that already-trusted scripts hand it, never markup.
# - style-src 'unsafe-inline': Bokeh and Panel style every element through style attributes
#   and <style> tags. CSS cannot run script, and img-src/font-src keep it from reaching out.
# - img-src data: Bokeh's and Panel's icons are data: URLs.
_POLICY = (
    "default-src 'self'",
    "script-src 'self' 'nonce-{nonce}' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])", re.IGNORECASE)


# Panel's components whose scripts a page's session loads: a component named at the server's
# start went to every page (gridstack.js, 105 kB with its styles, only the Dashboards use).
SESSION_EXTENSIONS = {"dashboards": ("tabulator", "gridstack")}


def pages(services: Services) -> dict[str, Callable[[], pn.template.BaseTemplate]]:
    """:data:`PAGES` bound to ``services``: what ``pn.serve`` calls once per session.

    Each is a plain function, not a ``functools.partial``: Panel calls only functions and
    methods per session and would show any other callable as it is."""

    def bind(slug: str, factory: Page) -> Callable[[], pn.template.BaseTemplate]:
        extensions = SESSION_EXTENSIONS.get(slug, ("tabulator",))

        def page() -> pn.template.BaseTemplate:
            pn.extension(*extensions)
            return factory(services)

        return page

    return {slug: bind(slug, factory) for slug, factory in PAGES.items()}


def content_security_policy(nonce: str) -> str:
    return "; ".join(_POLICY).format(nonce=nonce)


class SecurityHeaders(OutputTransform):
    """The Content-Security-Policy and :data:`SECURITY_HEADERS` on every answer of the
    server: the pages, Bokeh's and Panel's files, the API. An answer that sets its own policy
    (the sign-in pages) keeps it.

    The ``<script>`` tags of a page in :data:`PAGES` get the answer's fresh nonce: Bokeh and
    Panel write inline scripts there (one holds the session's token, so no hash fits), and
    the page holds no value from data or from a person (the document follows over the
    websocket), so every script tag in it is theirs. Other HTML answers get a nonce no script
    carries: no inline script runs there at all.

    Tornado applies an application's ``transforms`` to every handler's answer; ``pn.serve``
    hands unknown keyword arguments through Bokeh's server to its Tornado application."""

    def __init__(self, request: HTTPServerRequest) -> None:
        super().__init__(request)
        self._page = request.path.rstrip("/") in {f"/{slug}".rstrip("/") for slug in PAGES}

    def transform_first_chunk(
        self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, HTTPHeaders, bytes]:
        if "Content-Security-Policy" not in headers:
            nonce = secrets.token_urlsafe(18)
            html = headers.get("Content-Type", "").startswith("text/html")
            if self._page and html and finishing:
                chunk = _SCRIPT_TAG.sub(b'<script nonce="' + nonce.encode() + b'"', chunk)
                headers["Content-Length"] = str(len(chunk))
            headers["Content-Security-Policy"] = content_security_policy(nonce)
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        return status_code, headers, chunk


def oidc_options(settings: Settings) -> dict | None:
    """``pn.serve`` options for sign-in through an identity provider: Panel's generic OAuth
    provider (authorization code flow). None when OIDC is not configured."""
    oidc = settings.oidc
    if not oidc.configured:
        return None
    return {
        "oauth_provider": "generic",
        "oauth_key": oidc.client_id,
        "oauth_secret": oidc.client_secret.get_secret_value(),
        "oauth_redirect_uri": f"{settings.public_url.rstrip('/')}/login",
        "oauth_extra_params": {
            "AUTHORIZE_URL": oidc.authorize_url,
            "TOKEN_URL": oidc.token_url,
            "USER_URL": oidc.user_url,
            "USER_KEY": "email",
        },
    }


def serve(services: Services, *, show: bool = False, origins: tuple[str, ...] = ()) -> None:
    """Serve every page, the API and sign-in on ``services`` (built once, by the caller);
    ``origins`` are extra host:port values browsers may connect from.

    A ClickHouse server that cannot be reached at start is reported, and the app serves
    anyway: pages say the store is unavailable and work again once it answers. The embedded
    engine fails fast instead (a data directory held by another process will not free itself).
    """
    settings = services.settings
    try:
        # Migrate and sweep once, before the first session; then curves imported from the
        # command line get their projects.
        with services.curves() as curves, services.metadata.sessions() as session:
            adopt_curve_projects(session=session, curves=curves)
            session.commit()
    except ProviderError as exc:
        if settings.engine != "server":
            raise
        print(f"warning: {exc}; serving anyway, pages will say so", file=sys.stderr, flush=True)
    # The built-in engine is this process's; the CLI and notebooks reach it on this endpoint.
    endpoint = None
    if settings.engine == "embedded":
        endpoint = EngineEndpoint(
            services.engine, database=settings.database, threads=settings.endpoint_threads
        ).start()
    try:
        _serve(services, show=show, origins=origins)
    finally:
        if endpoint is not None:
            endpoint.stop()


class QueryMarks(OutputTransform):
    """Escapes every ``?`` after the first in a request's URL, before its page is made.

    A ``?`` inside the query is allowed (RFC 3986), and a link carrying another page's URL
    unencoded (``/part?serial=A-1&back=/curves?process=press-fit``) has one; Panel 1.9 splits
    the URL at every ``?`` to sync the page's location and answered such a link with a 500.
    ``%3F`` reads back as the same ``?``, so the query's values do not change. Tornado builds
    an application's transforms before it runs the handler, so every request passes here
    first; the answer passes unchanged."""

    def __init__(self, request: HTTPServerRequest) -> None:
        super().__init__(request)
        path, mark, query = request.uri.partition("?")
        if "?" in query:
            request.uri = path + mark + query.replace("?", "%3F")
            request.query = request.query.replace("?", "%3F")


def _live_ingest(services: Services) -> tuple[LiveIngest | None, Simulation | None]:
    """Live ingest beside the pages, and the demo plant publishing to it when asked
    (``CURVEHOUSE_SIMULATE``, on Curvehouse's own broker), said at start: where to publish,
    or why it is off. A broker that cannot be had leaves the app serving without it."""
    settings = services.settings
    if not settings.mqtt_listen:
        return None, None
    simulated = settings.simulate and not settings.mqtt_url
    login = simulator_login(services, DEMO_PROJECT) if simulated else None
    try:
        live = start_live_ingest(services, publishers=[login] if login else [])
    except ListenerTaken as exc:
        print(f"Live ingest is off here: {exc}", flush=True)
        return None, None
    except (LiveIngestError, BrokerError, BrokerMissingError, OSError) as exc:
        print(
            f"Live ingest is off: {exc}. Set CURVEHOUSE_MQTT_URL to the plant's broker, or "
            "install mosquitto (apt install mosquitto); CURVEHOUSE_MQTT_LISTEN=0 silences this.",
            flush=True,
        )
        return None, None
    config = live.config
    services.mqtt_address = where = f"{config.host}:{config.port}"
    if live.feeds is not None:
        services.feed_state = live.feeds.feeds.state
    if live.broker is not None:
        services.mqtt_address = f"localhost:{config.port}"
        where = f"localhost:{config.port} (Curvehouse's own mosquitto)"
    if live.feeds is None:
        print(
            f"Live ingest: publish curves to {settings.mqtt_topic_prefix}/<project>/curves on "
            f"{where}",
            flush=True,
        )
    else:
        print(
            f"Live ingest: on the plant's broker {where}, each project takes the topics its "
            f"broker feeds read ({len(live.feeds.feeds.running)} mapped; a project's owner maps "
            "them on its page)",
            flush=True,
        )
    if login is None:
        return live, None
    try:
        simulation = start_simulation(
            host=config.host,
            port=config.port,
            username=login.username,
            password=login.secret,
            project=DEMO_PROJECT,
            prefix=settings.mqtt_topic_prefix,
            rate=parse_rate(settings.simulate_rate),
            stations=pick_stations(None),
        )
    except (LiveIngestError, ValueError) as exc:
        print(f"The demo plant is off: {exc}.", flush=True)
        return live, None
    print(
        f"The demo plant publishes curves at {settings.simulate_rate} to project "
        f"{DEMO_PROJECT!r} (the explorer's Live switch and the Board show them; "
        "CURVEHOUSE_SIMULATE=0 turns it off)",
        flush=True,
    )
    return live, simulation


def _serve(services: Services, *, show: bool, origins: tuple[str, ...]) -> None:
    settings = services.settings
    # The components some pages hold (under ``panel serve`` each page module loads its own).
    pn.extension("tabulator", "gridstack")
    warm_up()  # load the compiled kernels now, not in the first visitor's first render
    warm_plotting()  # likewise HoloViews' plotting
    services.warm_explorer()  # and the previews and largest processes' curves, in the background
    # What was made so far lives as long as the server: moved out of the garbage collector's
    # sight, a full collection scans only the sessions' objects (about 0.3 s less each time).
    gc.collect()
    gc.freeze()
    secret = cookie_secret(settings)  # before anything starts: refused outside local mode
    store = services.metadata
    url = f"http://{settings.address}:{settings.port}/"
    message = announce(first_owner(store, settings), url)
    if message:
        print(message, flush=True)
    login = LoginProvider(store)
    sign_in = oidc_options(settings) or {"auth_provider": login}
    poller = ClusterPoller(store, settings).start()
    mover = ProjectMover(services).start()  # carries on any move a stopped server left
    mailer = ReportMailer(services).start()  # scheduled shift reports
    alerts = AlertMailer(services).start()  # drift alerts, once each
    resumer = RunResumer(services).start()  # rule runs a stop or a move cut short
    filler = FeatureFiller(services).start()  # configured features of curves stored before
    live, simulation = _live_ingest(services)
    print(f"Curvehouse at {url} (Ctrl+C to stop)", flush=True)
    # SIGTERM (a service manager, `kill`) ends the server as Ctrl+C does, through Panel's own
    # SIGINT handler, so what runs beside the pages (the broker above all) is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    try:
        pn.serve(
            pages(services),
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
            extra_patterns=[(INVITE, login.invite_handler), *api.routes(services)],
            transforms=[QueryMarks, SecurityHeaders],
        )
    finally:
        if simulation is not None:
            simulation.stop()
        if live is not None:
            live.stop()
        resumer.stop()
        filler.stop()
        alerts.stop()
        mailer.stop()
        mover.stop()
        poller.stop()
