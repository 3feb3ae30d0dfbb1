"""Your account: change the password, make and revoke personal API tokens."""

from __future__ import annotations

import pandas as pd
import panel as pn
import sqlalchemy as sa

from app.auth.session import send_to_sign_in
from app.markup import code, text
from app.team import Clock
from models import accounts
from models.access import Principal
from models.credentials import WeakPasswordError
from models.store import MetadataStore
from models.tables import ApiToken, User, utcnow

TOKEN_COLUMNS = ["id", "name", "prefix", "created", "expires", "last used", "status"]
TOKEN_TIMES = ("created", "expires", "last used")
COPY, COPIED = "Copy token", "Copied ✓"
# The browser's side of the copy button. The clipboard API needs a secure context (https or
# localhost); elsewhere the token is put in a selected, hidden textarea and copied the old way,
# and if the browser refuses that too, the button says how to copy it by hand. Bokeh runs this
# through new Function, which the page's policy allows ('unsafe-eval'); no inline script.
COPY_JS = f"""
const done = (ok) => {{
  source.label = ok ? "{COPIED}" : "Select the token above and press Ctrl+C";
  source.button_type = ok ? "success" : "warning";
}};
const by_selection = () => {{
  const area = document.createElement("textarea");
  area.value = secret;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {{ ok = document.execCommand("copy"); }} catch (err) {{ ok = false; }}
  area.remove();
  done(ok);
}};
if (window.isSecureContext && navigator.clipboard) {{
  navigator.clipboard.writeText(secret).then(() => done(true), by_selection);
}} else {{
  by_selection();
}}
"""


def copy_button(secret: str) -> pn.widgets.Button:
    """A button that copies ``secret`` to the clipboard in the browser and says so. A new
    button per secret: its callback carries the value, and the page shows it once."""
    button = pn.widgets.Button(label=COPY, color="primary", width=180)
    button.js_on_click(args={"secret": secret}, code=COPY_JS)
    return button


class AccountPanel(pn.viewable.Viewer):
    def __init__(self, *, store: MetadataStore, who: Principal, clock: Clock | None = None) -> None:
        super().__init__()
        self.store, self.who, self.clock = store, who, clock or Clock()
        self.message = pn.pane.Alert(visible=False, name="account-message")
        self.copy = pn.Column()  # the copy button of the token just made, and only then
        self.current = pn.widgets.PasswordInput(label="Current password", width=220)
        self.new = pn.widgets.PasswordInput(label="New password (12+ characters)", width=220)
        change = pn.widgets.Button(label="Change password", color="primary", align="end")
        change.on_click(lambda _: self._change_password())
        self.token_name = pn.widgets.TextInput(
            label="Token name", placeholder="e.g. line-7 import job", width=220
        )
        self.token_days = pn.widgets.IntInput(label="Days valid", value=90, start=1, end=365)
        make = pn.widgets.Button(label="Create token", color="primary", align="end")
        make.on_click(lambda _: self._make_token())
        self.tokens = pn.widgets.Tabulator(
            self._tokens(),
            show_index=False,
            disabled=True,
            selectable=1,
            hidden_columns=["id"],
            titles=self.clock.titles(*TOKEN_TIMES),
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
            max_height=240,
            configuration={"placeholder": "No tokens yet: name one above and press Create token."},
        )
        revoke = pn.widgets.Button(label="Revoke selected token", color="danger")
        revoke.on_click(lambda _: self._revoke())
        self.clock.param.watch(lambda _: self._on_zone(), "zone")
        self._layout = pn.Column(
            f"### Your account: {text(who.label)}",
            self.message,
            self.copy,
            pn.FlexBox(self.current, self.new, change, align_items="flex-end"),
            "### Personal API tokens",
            pn.pane.Markdown(
                "For scripts and the REST API (`Authorization: Bearer <token>`). A token acts "
                "with your roles, is shown once, and only its hash is kept."
            ),
            pn.FlexBox(self.token_name, self.token_days, make, align_items="flex-end"),
            self.tokens,
            revoke,
            sizing_mode="stretch_width",
        )

    def _on_zone(self) -> None:
        self.tokens.titles = self.clock.titles(*TOKEN_TIMES)
        self.tokens.value = self._tokens()

    def _say(self, message: str, kind: str = "success") -> None:
        """Show ``message``, Markdown whose values went through :func:`~app.markup.text`."""
        self.message.object, self.message.alert_type, self.message.visible = message, kind, True
        self.copy.objects = []

    def _tokens(self) -> pd.DataFrame:
        now = utcnow()
        with self.store.sessions() as session:
            rows = session.scalars(
                sa.select(ApiToken)
                .where(ApiToken.user_id == self.who.user_id)
                .order_by(ApiToken.id)
            ).all()
        return pd.DataFrame(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "prefix": t.prefix + "…",
                    "created": self.clock.when(t.created_at),
                    "expires": self.clock.when(t.expires_at),
                    "last used": self.clock.when(t.last_used_at) or "never",
                    "status": accounts.token_state(t, now),
                }
                for t in rows
            ],
            columns=TOKEN_COLUMNS,
        )

    def _change_password(self) -> None:
        with self.store.sessions() as session:
            user = session.get(User, self.who.user_id)
            try:
                accounts.change_password(
                    session=session, user=user, old=self.current.value, new=self.new.value
                )
            except (accounts.AccountError, WeakPasswordError) as exc:
                return self._say(text(exc), "danger")
            session.commit()
        self.current.value = self.new.value = ""
        self._say("Password changed. Every session ended, this one too: sign in with it.")
        send_to_sign_in()

    def _make_token(self) -> None:
        with self.store.sessions() as session:
            user = session.get(User, self.who.user_id)
            try:
                plain, _ = accounts.issue_token(
                    session=session,
                    user=user,
                    name=self.token_name.value,
                    days=self.token_days.value,
                )
            except accounts.AccountError as exc:
                return self._say(text(exc), "danger")
            session.commit()
        self.token_name.value = ""
        self.tokens.value = self._tokens()
        self._say(f"New token (copy it now; it is not shown again): {code(plain)}")
        self.copy.objects = [copy_button(plain)]

    def _revoke(self) -> None:
        if not self.tokens.selection:
            return self._say("Select a token in the table first.", "warning")
        token_id = int(self.tokens.value.iloc[self.tokens.selection[0]]["id"])
        with self.store.sessions() as session:
            user = session.get(User, self.who.user_id)
            try:
                token = accounts.revoke_token(session=session, user=user, token_id=token_id)
            except accounts.AccountError as exc:
                return self._say(text(exc), "danger")
            session.commit()
        self.tokens.value = self._tokens()
        self._say(f"Token {text(repr(token.name))} revoked: it no longer works.")

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
