"""Browser sign-in: Bokeh's auth hook with our own login, logout and invitation pages.

Bokeh asks :class:`LoginProvider` who is signed in before it serves a page or opens its
websocket; nobody signed in is sent to ``/login``. A sign-in sets two signed cookies (Tornado's
HMAC with the cookie secret): ``user``, the e-mail, which Panel reads as ``pn.state.user``, and
``curvehouse_session``, the token of a server-side session (:mod:`models.signins`). Both are
needed, and the session is looked up in the metadata store on every request, so a sign-out, a
password change or reset, a lockout or a removed account is out at once. Pages already open
check their session every few seconds (:mod:`app.auth.session`).

Forms carry Tornado's XSRF token (double-submit cookie), so another site cannot sign a browser
in or out. The pages' own actions travel over Bokeh's websocket, which refuses other origins.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote, urlsplit, urlunsplit

import tornado.web
import tornado.websocket
from bokeh.server.auth_provider import AuthProvider
from sqlalchemy.orm import Session
from tornado.escape import xhtml_escape
from tornado.ioloop import IOLoop

from models import accounts, kiosk, signins
from models.access import Principal
from models.audit import audit
from models.credentials import WeakPasswordError
from models.store import MetadataStore
from models.tables import User, normal_email

COOKIE = "user"  # Panel's name: pn.state.user reads it
SESSION_COOKIE = "curvehouse_session"
# A kiosk link (models/kiosk.py) opens the station board and its websocket, nothing else; the
# cookie carries it to the websocket, which does not see the page's query.
KIOSK_COOKIE, KIOSK_PATHS, KIOSK_DAYS = "curvehouse_kiosk", ("/board", "/board/ws"), 400
COOKIE_DAYS = signins.SESSION_LENGTH.days  # the session row's own expiry is the one that counts
# Session look-ups for every request, apart from the default executor where argon2 runs, so a
# burst of sign-in attempts does not hold up the pages of people signed in already.
_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="curvehouse-session")
LOGIN, LOGOUT, INVITE = "/login", "/logout", "/invite"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Curvehouse · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{font-family: system-ui, sans-serif; background: #eef2f7; margin: 0;}}
header {{background: #1f5fa8; color: white; padding: 14px 24px; font-size: 20px;}}
main {{max-width: 380px; margin: 60px auto; background: white; padding: 28px 32px;
      border-radius: 10px; box-shadow: 0 2px 12px rgba(0, 0, 0, .08);}}
h1 {{font-size: 22px; margin: 0 0 18px;}}
label {{display: block; font-size: 14px; color: #334; margin: 12px 0 4px;}}
input[type=email], input[type=password], input[type=text] {{width: 100%; box-sizing: border-box;
      padding: 9px 10px; border: 1px solid #c5cfdb; border-radius: 6px; font-size: 15px;}}
button {{margin-top: 18px; width: 100%; padding: 10px; background: #1f5fa8; color: white;
        border: 0; border-radius: 6px; font-size: 15px; cursor: pointer;}}
.error {{background: #fdecea; color: #8a1c12; padding: 10px 12px; border-radius: 6px;}}
.note {{color: #5a6b7f; font-size: 13px; margin-top: 16px;}}
</style></head>
<body><header>Curvehouse</header><main><h1>{title}</h1>{body}</main></body></html>
"""


def page(title: str, body: str) -> str:
    return PAGE.format(title=xhtml_escape(title), body=body)


def error_box(message: str) -> str:
    return f'<p class="error" role="alert">{xhtml_escape(message)}</p>' if message else ""


def safe_next(url: str | None) -> str:
    """Where to go after signing in: a path on this server with its query, else ``/``.

    Browsers read ``/\\evil.example`` as ``//evil.example``, another site, and the same goes for
    tabs or newlines inside it. So only printable ASCII without a backslash passes (Tornado has
    decoded the argument once already), starting with one ``/``, and its path must still be
    local after one more percent-decoding. The fragment is dropped.
    """
    if not url or len(url) > 2000 or "\\" in url or not all("!" <= c <= "~" for c in url):
        return "/"
    parts = urlsplit(url)
    path = unquote(parts.path)
    if (
        parts.scheme
        or parts.netloc
        or not url.startswith("/")
        or url.startswith("//")
        or path.startswith("//")
        or "\\" in path
        or not path.isprintable()
    ):
        return "/"
    return urlunsplit(("", "", parts.path, parts.query, ""))


class StoreHandler(tornado.web.RequestHandler):
    store: MetadataStore  # set by LoginProvider on a subclass per server

    def start_session(self, session: Session, user: User) -> tuple[str, str]:
        """A server-side session for ``user``: ``(e-mail, token)`` for :meth:`sign_in`."""
        agent = self.request.headers.get("User-Agent", "")
        token = signins.start_session(
            session=session, user=user, ip=self.request.remote_ip, user_agent=agent
        )
        return user.email, token

    def sign_in(self, signed_in: tuple[str, str]) -> None:
        for name, value in zip((COOKIE, SESSION_COOKIE), signed_in, strict=True):
            self.set_signed_cookie(
                name,
                value,
                expires_days=COOKIE_DAYS,
                httponly=True,
                samesite="Lax",
                secure=self.request.protocol == "https",
            )

    def check_xsrf_cookie(self) -> None:
        # Checked in every POST whatever the application's settings say.
        super().check_xsrf_cookie()

    def render_page(self, title: str, body: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
        self.set_header("X-Frame-Options", "DENY")
        self.write(page(title, body))


class LoginHandler(StoreHandler):
    def get(self, message: str = "", status: int = 200) -> None:
        next_url = xhtml_escape(safe_next(self.get_argument("next", "/")))
        self.render_page(
            "Sign in",
            error_box(message) + f'<form method="post" action="{LOGIN}">{self.xsrf_form_html()}'
            f'<input type="hidden" name="next" value="{next_url}">'
            '<label for="email">E-mail</label>'
            '<input id="email" name="email" type="email" autocomplete="username" '
            "required autofocus>"
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" '
            'autocomplete="current-password" required>'
            '<button type="submit">Sign in</button></form>'
            '<p class="note">The first owner\'s password is printed by <code>make run</code> '
            "on the first start, or set with CURVEHOUSE_OWNER_PASSWORD.</p>",
            status,
        )

    async def post(self) -> None:
        self.check_xsrf_cookie()
        email = self.get_argument("email", "")[:320]
        password = self.get_argument("password", "")[:1024]
        ip = self.request.remote_ip

        def check() -> tuple[str, str] | str:
            with self.store.sessions() as session:
                try:
                    user = accounts.authenticate(
                        session=session, email=email, password=password, ip=ip
                    )
                except accounts.LoginError as exc:
                    session.commit()  # the audit row (the attempt is counted already)
                    return str(exc)
                signed_in = self.start_session(session, user)
                session.commit()
                return signed_in

        # argon2 takes tens of milliseconds by design: not on the loop that serves every page.
        outcome = await IOLoop.current().run_in_executor(None, check)
        if isinstance(outcome, str):
            return self.get(outcome, status=401)
        self.sign_in(outcome)
        self.redirect(safe_next(self.get_argument("next", "/")))


class LogoutHandler(StoreHandler):
    """GET asks, POST signs out: a link on another site cannot sign anyone out."""

    def get(self) -> None:
        self.render_page(
            "Sign out",
            f'<form method="post" action="{LOGOUT}">{self.xsrf_form_html()}'
            '<button type="submit">Sign out</button></form>',
        )

    def post(self) -> None:
        """Ends this browser's session in the store, not only its cookies: a copy of them,
        saved before, is refused from now on."""
        self.check_xsrf_cookie()
        token = self.get_signed_cookie(SESSION_COOKIE, max_age_days=COOKIE_DAYS)
        if token:
            with self.store.sessions() as session:
                accounts.sign_out(session=session, plain=token.decode(), ip=self.request.remote_ip)
                session.commit()
        self.clear_cookie(COOKIE)
        self.clear_cookie(SESSION_COOKIE)
        self.render_page(
            "Signed out", f'<p>You are signed out.</p><p><a href="{LOGIN}">Sign in again</a></p>'
        )


class InviteHandler(StoreHandler):
    """An invitation link: set a password (or confirm an existing one), join, be signed in."""

    def get(self, message: str = "", status: int = 200) -> None:
        token = self.get_argument("token", "")
        with self.store.sessions() as session:
            try:
                invitation = accounts.open_invitation(session, token)
            except accounts.AccountError as exc:
                return self.render_page("Invitation", error_box(str(exc)), 404)
            exists = accounts.find_user(session, invitation.email) is not None
            project, role = invitation.project.name, invitation.role
            email = invitation.email
        what = "Enter your password to join" if exists else "Choose a password (12+ characters)"
        self.render_page(
            f"Join {project}",
            error_box(message)
            + f"<p>{xhtml_escape(email)} is invited to <b>{xhtml_escape(project)}</b> as "
            f"<b>{role}</b>.</p>"
            f'<form method="post" action="{INVITE}">{self.xsrf_form_html()}'
            f'<input type="hidden" name="token" value="{xhtml_escape(token)}">'
            + (
                ""
                if exists
                else '<label for="name">Your name</label><input id="name" name="name" type="text">'
            )
            + f'<label for="password">{what}</label>'
            '<input id="password" name="password" type="password" autocomplete="new-password" '
            "required>"
            '<button type="submit">Join</button></form>',
            status,
        )

    async def post(self) -> None:
        self.check_xsrf_cookie()
        token = self.get_argument("token", "")
        password = self.get_argument("password", "")[:1024]
        name = self.get_argument("name", "")[:200]
        ip = self.request.remote_ip

        def accept() -> tuple[str, str] | str:
            with self.store.sessions() as session:
                try:
                    user = accounts.accept_invitation(
                        session=session, plain=token, password=password, display_name=name, ip=ip
                    )
                except accounts.LoginError as exc:
                    session.commit()  # an existing account's failed sign-in: its audit row
                    return str(exc)
                except (accounts.AccountError, WeakPasswordError) as exc:
                    session.rollback()
                    return str(exc)
                signed_in = self.start_session(session, user)
                session.commit()
                return signed_in

        outcome = await IOLoop.current().run_in_executor(None, accept)
        if isinstance(outcome, str):
            return self.get(outcome, status=400)
        self.sign_in(outcome)
        self.redirect("/")


class LoginProvider(AuthProvider):
    """Bokeh's auth hook for ``pn.serve(auth_provider=...)``."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store
        with store.sessions() as session:  # once per server start: old counters and sessions
            signins.sweep(session=session)
            session.commit()
        bound = {"store": store}
        self._login = type("BoundLogin", (LoginHandler,), bound)
        self._logout = type("BoundLogout", (LogoutHandler,), bound)
        self.invite_handler = type("BoundInvite", (InviteHandler,), bound)
        super().__init__()

    @property
    def get_user_async(self):
        """Bokeh and Panel await this for every page, static file and websocket."""

        async def user(handler: tornado.web.RequestHandler) -> str | None:
            email = handler.get_signed_cookie(COOKIE, max_age_days=COOKIE_DAYS)
            token = handler.get_signed_cookie(SESSION_COOKIE, max_age_days=COOKIE_DAYS)
            if not email or not token:
                return await self._kiosk(handler)
            return await IOLoop.current().run_in_executor(
                _lookups, self.signed_in, email.decode(), token.decode()
            )

        return user

    async def _kiosk(self, handler: tornado.web.RequestHandler) -> str | None:
        """``"kiosk"`` for the board (page or websocket) opened with a live kiosk link, in its
        query or in the cookie the page set; None for anything else."""
        if handler.request.path not in KIOSK_PATHS:
            return None
        secret = handler.get_query_argument("kiosk", None)
        if secret is None:
            kept = handler.get_signed_cookie(KIOSK_COOKIE, max_age_days=KIOSK_DAYS)
            secret = kept.decode() if kept else None
        if not secret:
            return None
        if not await IOLoop.current().run_in_executor(_lookups, self.kiosk_open, secret):
            return None
        if not isinstance(handler, tornado.websocket.WebSocketHandler):
            handler.set_signed_cookie(
                KIOSK_COOKIE,
                secret,
                expires_days=KIOSK_DAYS,
                path="/board",
                httponly=True,
                samesite="Strict",
                secure=handler.request.protocol == "https",
            )
        return "kiosk"

    def kiosk_open(self, secret: str) -> bool:
        """Whether ``secret`` is a kiosk link that still works."""
        with self.store.sessions() as session:
            found = kiosk.kiosk_project(session, secret)
            session.commit()  # last_used_at
        return found is not None

    def signed_in(self, email: str, token: str) -> str | None:
        """``email`` when ``token`` is a live session of that person, else None."""
        with self.store.sessions() as session:
            user = signins.session_user(session, token)
            found = user.email if user is not None and user.email == normal_email(email) else None
            session.commit()  # last_seen_at
        return found

    @property
    def login_url(self) -> str:
        return LOGIN

    @property
    def login_handler(self):
        return self._login

    @property
    def logout_url(self) -> str:
        return LOGOUT

    @property
    def logout_handler(self):
        return self._logout


def principal_for(
    store: MetadataStore, email: str | None, *, provision: bool = False
) -> Principal | None:
    """The signed-in person behind ``email`` (from ``pn.state.user``), None if unknown.

    ``provision``: the identity provider vouched for ``email`` (OIDC), so a first visit makes
    an account without a password and without any role; a project admin adds it to projects.
    """
    if not email:
        return None
    with store.sessions() as session:
        user = accounts.find_user(session, email)
        if user is None and provision:
            user = accounts.create_user(session=session, email=email, password=None)
            audit(session, user.email, "user.provision", "user", user.id, via="oidc")
            session.commit()
        return Principal(user.email, user.id) if user and user.locked_at is None else None
