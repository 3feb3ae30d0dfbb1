"""Browser sign-in: Bokeh's auth hook with our own login, logout and invitation pages.

Bokeh asks :class:`LoginProvider` who is signed in before it serves a page or opens its
websocket; nobody signed in is sent to ``/login``. The answer is the signed ``user`` cookie
(Tornado's HMAC with the cookie secret), checked against the metadata store on every request,
so a deleted account is out at once. Panel reads the same cookie as ``pn.state.user``.

Forms carry Tornado's XSRF token (double-submit cookie), so another site cannot sign a browser
in or out. The pages' own actions travel over Bokeh's websocket, which refuses other origins.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import tornado.web
from bokeh.server.auth_provider import AuthProvider
from tornado.escape import xhtml_escape
from tornado.ioloop import IOLoop

from models import accounts
from models.access import Principal
from models.credentials import WeakPasswordError
from models.store import MetadataStore
from models.tables import User

COOKIE = "user"  # Panel's name: pn.state.user reads it
COOKIE_DAYS = 1  # a shift and a bit; signing in again each day is the norm on shared screens
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
    """Only a path on this server: ``next=https://evil.example`` must not redirect away."""
    if not url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


class StoreHandler(tornado.web.RequestHandler):
    store: MetadataStore  # set by LoginProvider on a subclass per server

    def sign_in(self, user: User) -> None:
        self.set_signed_cookie(
            COOKIE, user.email, expires_days=COOKIE_DAYS, httponly=True, samesite="Lax"
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

        def check() -> User | str:
            with self.store.sessions() as session:
                try:
                    user = accounts.authenticate(session, email, password, ip=ip)
                except accounts.LoginError as exc:
                    session.commit()  # the failure counter and the audit row
                    return str(exc)
                session.commit()
                return user

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
        self.check_xsrf_cookie()
        email = self.get_signed_cookie(COOKIE, max_age_days=COOKIE_DAYS)
        if email:
            with self.store.sessions() as session:
                ip = self.request.remote_ip
                accounts.audit(session, email.decode(), "logout", "user", "", ip)
                session.commit()
        self.clear_cookie(COOKIE)
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

        def accept() -> User | str:
            with self.store.sessions() as session:
                try:
                    user = accounts.accept_invitation(session, token, password, name)
                except (accounts.AccountError, WeakPasswordError) as exc:
                    session.rollback()
                    return str(exc)
                session.commit()
                return user

        outcome = await IOLoop.current().run_in_executor(None, accept)
        if isinstance(outcome, str):
            return self.get(outcome, status=400)
        self.sign_in(outcome)
        self.redirect("/")


class LoginProvider(AuthProvider):
    """Bokeh's auth hook for ``pn.serve(auth_provider=...)``."""

    def __init__(self, store: MetadataStore) -> None:
        self.store = store
        bound = {"store": store}
        self._login = type("BoundLogin", (LoginHandler,), bound)
        self._logout = type("BoundLogout", (LogoutHandler,), bound)
        self.invite_handler = type("BoundInvite", (InviteHandler,), bound)
        super().__init__()

    @property
    def get_user(self):
        def user(handler: tornado.web.RequestHandler) -> str | None:
            email = handler.get_signed_cookie(COOKIE, max_age_days=COOKIE_DAYS)
            if not email:
                return None
            with self.store.sessions() as session:
                found = accounts.find_user(session, email.decode())
            return found.email if found else None

        return user

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
            user = accounts.create_user(session, email, None)
            accounts.audit(session, user.email, "user.provision", "user", user.id, via="oidc")
            session.commit()
        return Principal(user.email, user.id) if user else None
