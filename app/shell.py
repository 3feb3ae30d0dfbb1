"""The frame every page shares: the header with navigation and who is signed in.

Links are relative (``./curves``), so they work under ``curvehouse serve`` and under
``panel serve app/pages/*.py --index curves`` alike: both serve each page at its module name.
"""

from __future__ import annotations

import panel as pn

from app.markup import text

ACCENT = "#1f5fa8"
# (slug, label): the slug is the page module's name under app/pages.
NAV = (
    ("curves", "Curves"),
    ("home", "Overview"),
    ("board", "Board"),
    ("quality", "Quality"),
    ("dashboards", "Dashboards"),
    ("reports", "Reports"),
    ("clusters", "Clusters"),
    ("projects", "Projects"),
    ("team", "Team"),
)
NAV_CSS = """
.ch-nav {display: flex; flex-wrap: wrap; gap: 4px; align-items: center; height: 100%;}
.ch-nav a {color: #dbe7f5; text-decoration: none; padding: 6px 12px; border-radius: 6px;
           font-size: 15px;}
.ch-nav a:hover {background: rgba(255, 255, 255, .12); color: white;}
.ch-nav a.ch-active {background: rgba(255, 255, 255, .2); color: white; font-weight: 600;}
.ch-user {margin-left: 24px; color: #dbe7f5; font-size: 14px;}
.ch-signout {margin: 0;}
.ch-signout button {color: #dbe7f5; background: none; border: 0; padding: 6px 12px;
                    border-radius: 6px; font: inherit; font-size: 15px; cursor: pointer;}
.ch-signout button:hover {background: rgba(255, 255, 255, .12); color: white;}
/* Ten pages and the person fit one line of a 1400 px screen. */
@media (max-width: 1700px) {
  .ch-nav {gap: 2px;}
  .ch-nav a, .ch-signout button {padding: 5px 8px; font-size: 14px;}
  .ch-user {margin-left: 10px; font-size: 13px;}
}
/* A phone at the line: every page and Sign out stay reachable; the e-mail gives way. */
@media (max-width: 600px) {
  .ch-nav a, .ch-signout button {padding: 4px 7px; font-size: 14px;}
  .ch-user {display: none;}
}
"""


def _sign_out() -> str:
    """One click: a form that posts to the sign-out page with this browser's XSRF token (the
    cookie the sign-in form set), so no other site can sign anyone out. Without that cookie
    (single sign-on), a link to the page that asks."""
    token = (pn.state.cookies or {}).get("_xsrf")
    if not token:
        return '<a href="./logout" data-page="logout">Sign out</a>'
    return (
        '<form class="ch-signout" method="post" action="./logout">'
        f'<input type="hidden" name="_xsrf" value="{text(token)}">'
        '<button type="submit" data-page="logout">Sign out</button></form>'
    )


def navigation(active: str) -> pn.pane.HTML:
    links = "".join(
        f'<a href="./{slug}" class="{"ch-active" if slug == active else ""}" '
        f'data-page="{slug}">{label}</a>'
        for slug, label in NAV
    )
    user = pn.state.user if pn.state.curdoc is not None else None
    if user:
        links += f'<span class="ch-user">{text(user)}</span>' + _sign_out()
    return pn.pane.HTML(f'<nav class="ch-nav">{links}</nav>', stylesheets=[NAV_CSS], margin=0)


def shell(
    active: str,
    main: list,
    sidebar: list | None = None,
    *,
    wide: bool = False,
    bare: bool = False,
) -> pn.template.BaseTemplate:
    """A page in the shared frame. Bootstrap loads nothing from the internet (Fast pulls a
    Google font): plant networks are often offline. ``wide``: the whole screen's width (a
    board on a TV), not the reading width. ``bare``: no way to other pages (a kiosk)."""
    title = dict(NAV).get(active, "")
    options = dict(
        title=f"Curvehouse · {title}" if title else "Curvehouse",
        header_background=ACCENT,
        header=[] if bare else [navigation(active)],
        main=main,
        main_max_width="100%" if wide else "1600px",
    )
    if sidebar:
        # One root, not one per control: Bokeh walks the whole document for every root
        # added, which for the explorer's two dozen controls took about 250 ms of each page.
        column = pn.Column(*sidebar, sizing_mode="stretch_width", margin=0)
        options.update(sidebar=[column], sidebar_width=300)
    return pn.template.BootstrapTemplate(**options)
