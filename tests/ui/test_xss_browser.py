"""Stored and reflected XSS (issue 13, item 2): values that came from data or from a person are
text on every page, for every role, and the pages carry a Content-Security-Policy.

One store holds hostile values in every curve metadata column (imported through the real
``curvehouse ingest``, under a hostile file name), and hostile names for a project, team,
cluster, tokens, a member's e-mail, an invitation and audit events (made through the models
layer: the pages refuse such names when typed, but older stores, other tools or the
API may hold them). Every page is opened in Chromium as an owner and as a viewer.
No payload may open a dialog, reach another origin or trip the Content-Security-Policy, and
each payload must be visible as the text it is.
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from models import accounts
from models.access import operator
from models.audit import audit
from models.settings import Settings
from models.store import open_metadata
from models.tables import (
    Cluster,
    ClusterEvent,
    ClusterStatus,
    Project,
    ProjectMember,
    ProviderKey,
    Role,
    Team,
    TeamMember,
)
from tests.ui.conftest import BIN, OWNER, OWNER_PASSWORD, Served, screenshot

pytestmark = pytest.mark.ui

EVIL = "http://evil.example"
# One payload per curve column; each names itself, so a dialog or a request says which ran.
CURVE_PAYLOADS = {
    "plant": '<img src="x" onerror="alert(\'plant\')">',
    "line": '"><svg onload="alert(\'line\')">',
    "station": "<script>alert('station')</script>",
    "process": 'press<img src="x" onerror="alert(\'process\')">',
    "program": f'<a href="javascript:alert(\'program\')">prog</a><img src="{EVIL}/program.png">',
    "shift": f'<img src="x" onerror="fetch(\'{EVIL}/shift\')">',
    "part_serial": '<img src="x" onerror="alert(\'part_serial\')">',
    "defect": f'<iframe src="{EVIL}/defect"></iframe>',
    "x_name": '<img src="x" onerror="alert(\'x_name\')">',
    "x_unit": "<b>mm</b>",
    "y_name": "<svg onload=\"alert('y_name')\">",
    "y_unit": "**N** [unit](javascript:alert('y_unit'))",
}
# Columns whose value is the same on every curve (one view needs one process and one x).
SHARED = ("process", "x_name", "x_unit", "y_name", "y_unit")
CURVES = 12
CURVE_KEY = '<img src="x" onerror="alert(\'curve_key\')">'
DATASET_FILE = '<img src="x" onerror="alert(\'dataset\')">.csv'
NAMES = {
    "project": '<img src="x" onerror="alert(\'project\')">',
    "team": "<svg onload=\"alert('team')\">",
    "cluster": f'<img src="{EVIL}/cluster.png">',
    "region": '<img src="x" onerror="alert(\'region\')">',
    "token": '<img src="x" onerror="alert(\'token\')">',
    "member": "<svg/onload=alert('member')>@evil.example",
    "invitee": "<img/src=x/onerror=alert('invitee')>@evil.example",
    "event": '<img src="x" onerror="alert(\'event\')">',
    "audit": '<img src="x" onerror="alert(\'audit\')">',
    "audit_key": "<b onclick=\"alert('key')\">key</b>",
}
# What a person types into the pages' own forms, echoed back in their messages (no single
# quotes: the messages quote names with repr).
TYPED = {
    "project": '<img src="x" onerror="alert(101)">',
    "team": '<img src="x" onerror="alert(102)">',
    "token": '<img src="x" onerror="alert(103)">',
    "email": '<img/src="x"/onerror="alert(104)">@evil.example',
}
PASSWORD = secrets.token_urlsafe(16)
ACCOUNTS = {
    "owner": (OWNER, OWNER_PASSWORD),
    "engineer": ("engineer@plant.example", PASSWORD),
    "viewer": ("viewer@plant.example", PASSWORD),
}
SECOND = 1000
WAIT = 30 * SECOND


def write_curves(path: Path) -> None:
    """Long-format CSV: hostile metadata on every other curve, benign on the rest (so pickers
    and legends hold both); the curves run close together, one dense diagonal band."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["curve_key", "x", "y", "result", "started_at", *CURVE_PAYLOADS])
        for i in range(CURVES):
            hostile = i % 2 == 0
            meta = {
                k: v if hostile or k in SHARED else f"ok-{k}-{i % 4}"
                for k, v in CURVE_PAYLOADS.items()
            }
            meta["part_serial"] = f"{CURVE_PAYLOADS['part_serial']}#{i}" if hostile else f"SN-{i}"
            result = "NOK" if i % 3 == 0 else "OK"
            for step in range(40):
                x = step / 4
                out.writerow(
                    [
                        f"{CURVE_KEY}-{i}",
                        x,
                        x + i * 0.03,
                        result,
                        f"2026-11-16T06:{i:02d}:00Z",
                        *meta.values(),
                    ]
                )


def seed_people(home: Path) -> None:
    """Accounts, a hostile project, team, cluster, tokens, invitation and audit events, through
    the models layer (before the server starts, so its first-owner step finds the owner)."""
    store = open_metadata(Settings(home=home))
    with store.sessions() as session:
        line7 = session.scalar(sa.select(Project).where(Project.name == "line-7"))
        project = Project(organisation=line7.organisation, name=NAMES["project"])
        session.add(project)
        session.flush()
        accounts.ensure_first_owner(
            session=session, email=OWNER, password=OWNER_PASSWORD
        )  # owner of both projects
        owner = accounts.find_user(session, OWNER)
        engineer = accounts.create_user(
            session=session,
            email=ACCOUNTS["engineer"][0],
            password=PASSWORD,
            display_name=NAMES["event"],
        )
        viewer = accounts.create_user(
            session=session,
            email=ACCOUNTS["viewer"][0],
            password=PASSWORD,
            display_name=NAMES["event"],
        )
        member = accounts.create_user(
            session=session, email=NAMES["member"], password=None, display_name=NAMES["member"]
        )
        for p in (line7, project):
            session.add(ProjectMember(project=p, user=engineer, role=Role.ENGINEER))
            session.add(ProjectMember(project=p, user=viewer, role=Role.VIEWER))
        session.add(ProjectMember(project=project, user=member, role=Role.VIEWER))
        team = Team(organisation=line7.organisation, name=NAMES["team"])
        team.members = [
            TeamMember(user=owner, role=Role.OWNER),
            TeamMember(user=engineer, role=Role.ADMIN),
            TeamMember(user=viewer, role=Role.VIEWER),
            TeamMember(user=member, role=Role.VIEWER),
        ]
        session.add(team)
        session.add(ProjectMember(project=project, team=team, role=Role.VIEWER))
        for user in (owner, engineer, viewer):
            accounts.issue_token(session=session, user=user, name=NAMES["token"])
        cluster = Cluster(
            project=project,
            name=NAMES["cluster"],
            type_key="development",
            provider=ProviderKey.EMBEDDED,
            region=NAMES["region"],
            nodes=1,
            vcpu_per_node=2,
            memory_gib_per_node=4,
            status=ClusterStatus.STOPPED,
            provider_config={},
        )
        session.add(cluster)
        session.add(
            ClusterEvent(
                cluster=cluster,
                to_state=ClusterStatus.STOPPED,
                action="stop",
                detail=f"{NAMES['event']} | **bold** | [x](javascript:alert(1))",
                actor=NAMES["member"],
            )
        )
        session.flush()
        accounts.invite(
            session=session,
            actor=operator(OWNER),
            project=project,
            email=NAMES["invitee"],
            role=Role.VIEWER,
        )
        audit(
            session,
            NAMES["member"],
            "member.note",
            "project",
            project.id,
            note=NAMES["audit"],
            **{NAMES["audit_key"]: NAMES["audit"]},
        )
        audit(session, NAMES["member"], "login.failed", "user", member.id)
        session.commit()
    store.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """``curvehouse serve`` over the hostile store."""
    home = tmp_path_factory.mktemp("xss-home")
    data = tmp_path_factory.mktemp("xss-data") / DATASET_FILE
    write_curves(data)
    subprocess.run(
        [str(BIN / "curvehouse"), "ingest", str(data), "--project", "line-7"],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=300,
    )
    seed_people(home)
    server = Served(home, [str(BIN / "curvehouse"), "serve"])
    yield server
    server.stop()


# Scripts none of the pages visited here uses, which Panel or Bokeh would send to every page:
# Bokeh's MathJax (kept out by app/markup.py) and WebGL (app/plot_hooks.py) bundles, and
# gridstack.js, which only the Dashboards page loads (app/server.py).
UNNEEDED = ("mathjax", "bokeh-gl", "gridstack")


@dataclass
class Watched:
    """What a browser context did that it must not: dialogs, requests to other origins,
    Content-Security-Policy violations and script errors."""

    origin: str
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unneeded: list[str] = field(default_factory=list)  # requests for :data:`UNNEEDED`
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # of each page answer

    def clean(self) -> dict[str, list[str]]:
        return {
            name: values
            for name, values in (
                ("dialogs", self.dialogs),
                ("requests to other origins", self.foreign),
                ("CSP violations", self.blocked),
                ("script errors", self.errors),
                ("bundles no page here uses", self.unneeded),
            )
            if values
        }


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def watch(context, page, server: Served) -> Watched:
    seen = Watched(origin_of(server.url))

    def route(r):
        if any(bundle in r.request.url.lower() for bundle in UNNEEDED):
            seen.unneeded.append(r.request.url)
        if origin_of(r.request.url) != seen.origin:
            seen.foreign.append(r.request.url)
            return r.abort()
        return r.continue_()

    def dialog(d):
        seen.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    def console(message):
        if "Content Security Policy" in message.text:
            seen.blocked.append(message.text)

    context.route("**/*", route)
    page.on("dialog", dialog)
    page.on("console", console)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    return seen


@pytest.fixture
def as_role(browser, hostile):
    """``as_role(role)``: a signed-in tab of a fresh context, and what it is watched for; the
    sign-in leads to ``then`` (the explorer on the role's default project unless told)."""
    contexts = []

    def open_as(role: str, then: str = "/"):
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        contexts.append(context)
        page = context.new_page()
        seen = watch(context, page, hostile)
        email, password = ACCOUNTS[role]
        hostile.sign_in(page, email, password, then=then)
        return page, seen

    yield open_as
    for context in contexts:
        context.close()


def visit(page, seen: Watched, url: str) -> None:
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.ok, url
    seen.headers[url] = response.headers


def shows(page, text: str, timeout: float = WAIT) -> None:
    """``text`` is on the page as text (Playwright's text search enters shadow roots)."""
    page.get_by_text(text, exact=False).filter(visible=True).first.wait_for(timeout=timeout)


def curve_pixels(page) -> list[tuple[int, int]]:
    """Where curves are drawn on the plot's canvas (dark blue pixels inside the axes), spread
    over the plot, in canvas coordinates."""
    shot = Image.open(io.BytesIO(page.locator("canvas").first.screenshot())).convert("RGB")
    rgb = np.asarray(shot).astype(int)
    height, width, _ = rgb.shape
    inside = np.zeros((height, width), bool)
    inside[int(height * 0.1) : int(height * 0.85), int(width * 0.1) : int(width * 0.75)] = True
    dark = inside & (rgb.sum(axis=2) < 300) & (rgb[..., 2] > rgb[..., 0] + 30)
    rows, cols = np.nonzero(dark)
    picks = np.linspace(0, len(rows) - 1, num=min(len(rows), 12)).astype(int)
    return [(int(cols[i]), int(rows[i])) for i in picks]


def settle(page, ms: int = 1500) -> None:
    """Time for late renders (choices lists, tooltips, images) to run what they hold."""
    page.wait_for_timeout(ms)


def assert_protected(seen: Watched) -> None:
    """Every page answer carries the policy (see app/server.py) and refuses frames."""
    for url, headers in seen.headers.items():
        policy = headers.get("content-security-policy", "")
        for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
            assert directive in policy, (url, policy)
        assert headers.get("x-frame-options") == "DENY", url


# --- pages --------------------------------------------------------------------------------------


def explorer(page, seen: Watched, base: str) -> None:
    visit(page, seen, base + "curves?project=line-7")
    page.get_by_text(re.compile(r"^[\d,]+ curves · x")).first.wait_for(timeout=WAIT)
    # Every filter picker opened: its options are the hostile values, shown as text.
    for index, column in enumerate(("plant", "line", "station", "program", "shift")):
        page.get_by_placeholder("all").nth(index).click()
        shows(page, CURVE_PAYLOADS[column])
        page.keyboard.press("Escape")
        page.mouse.click(5, 5)
    # Hover over the raster: the parts under the pointer by serial.
    canvas = page.locator("canvas").first.bounding_box()
    hover = page.get_by_text(re.compile(r"curves?\*{0,2} at \("))
    for x, y in curve_pixels(page)[:8]:
        page.mouse.move(canvas["x"] + x, canvas["y"] + y)
        try:  # the parts are asked once the pointer rests
            hover.first.wait_for(timeout=1500)
            break
        except PlaywrightTimeoutError:
            pass
    hover.first.wait_for(timeout=WAIT)
    shows(page, CURVE_PAYLOADS["part_serial"])
    # A box selection lists the parts with their hostile metadata.
    page.get_by_title("Box Select").click()
    page.mouse.move(canvas["x"] + canvas["width"] * 0.3, canvas["y"] + canvas["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(
        canvas["x"] + canvas["width"] * 0.6, canvas["y"] + canvas["height"] * 0.9, steps=8
    )
    page.mouse.up()
    page.locator(".tabulator-row").first.wait_for(timeout=WAIT)
    shows(page, CURVE_PAYLOADS["part_serial"] + "#0")
    shows(page, CURVE_PAYLOADS["defect"])
    # Colour by station, then by program: the legend names the categories.
    for column in ("station", "program"):
        page.get_by_label("Colour by").select_option(column)
        page.locator("[class*=legend]", has_text=CURVE_PAYLOADS[column]).first.wait_for(
            timeout=WAIT
        )
        shows(page, CURVE_PAYLOADS[column])
    settle(page)


def overview(page, seen: Watched, base: str) -> None:
    visit(page, seen, base + "home")
    shows(page, "Curves per plant")
    shows(page, CURVE_PAYLOADS["plant"])  # the breakdown's group header
    shows(page, CURVE_PAYLOADS["part_serial"])  # the newest curves
    settle(page)


def clusters(page, seen: Watched, base: str) -> None:
    visit(page, seen, base + "clusters")
    cell = page.locator(".tabulator-cell", has_text=NAMES["cluster"]).first
    cell.wait_for(timeout=WAIT)
    shows(page, NAMES["region"])
    cell.click()
    page.locator("h3", has_text=NAMES["cluster"]).first.wait_for(timeout=WAIT)
    shows(page, NAMES["event"])  # the event's detail in the timeline
    settle(page)


def projects(page, seen: Watched, base: str) -> None:
    visit(page, seen, base + "projects")
    shows(page, NAMES["project"])
    page.get_by_placeholder("e.g. line-7 press-fit").fill(TYPED["project"])
    page.get_by_role("button", name="Create project").click()
    shows(page, TYPED["project"])  # echoed in the refusal
    settle(page)


def team(page, seen: Watched, base: str, role: str) -> None:
    visit(page, seen, base + "team")
    shows(page, NAMES["token"])  # your tokens
    page.get_by_placeholder("e.g. line-7 import job").fill(TYPED["token"])
    page.get_by_role("button", name="Create token").click()
    shows(page, "New token (copy it now")
    page.locator(".tabulator-cell", has_text=TYPED["token"]).first.click()
    page.get_by_role("button", name="Revoke selected token").click()
    shows(page, f"Token '{TYPED['token']}' revoked")
    settle(page, 500)

    page.locator(".bk-tab", has_text="Project members").click()
    page.get_by_label("Project").first.select_option(label=NAMES["project"])
    shows(page, NAMES["member"])
    shows(page, f"team {NAMES['team']}")
    if role == "owner":
        page.get_by_placeholder("name@plant.example").fill(TYPED["email"])
        page.get_by_role("button", name="Invite", exact=True).click()
        shows(page, TYPED["email"])
    settle(page, 500)

    page.locator(".bk-tab", has_text="Teams").click()
    shows(page, NAMES["project"])  # "Roles in projects: <project> (viewer)"
    page.get_by_placeholder("e.g. Quality").fill(TYPED["team"])
    page.get_by_role("button", name="Create team").click()
    shows(page, TYPED["team"])  # echoed in the refusal
    settle(page, 500)

    if role == "owner":  # admins and owners read the audit trail
        page.locator(".bk-tab", has_text="Audit trail").click()
        page.get_by_label("Project").last.select_option(label=NAMES["project"])
        shows(page, NAMES["audit"])
        shows(page, NAMES["invitee"])
        page.locator(".bk-btn", has_text="Sign-ins").click()
        shows(page, NAMES["member"])
    settle(page)


# The owner sees every page and control an engineer sees, and more; the viewer the fewest and
# the refusals. (The engineer's own run took 40 s of make test's 30 minutes.)
@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_hostile_values_are_text_on_every_page(as_role, hostile, role):
    page, seen = as_role(role)
    steps = [
        ("explorer", lambda: explorer(page, seen, hostile.url)),
        ("overview", lambda: overview(page, seen, hostile.url)),
        ("clusters", lambda: clusters(page, seen, hostile.url)),
        ("projects", lambda: projects(page, seen, hostile.url)),
        ("team", lambda: team(page, seen, hostile.url, role)),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # what ran meanwhile says more than a missing text
            pytest.fail(f"{role} on {name}: {exc}\nmeanwhile: {seen.clean()}")
        finally:
            screenshot(page, f"xss-{role}-{name}")
        assert not seen.clean(), f"{role} on {name}: {seen.clean()}"
    assert_protected(seen)


def test_values_in_the_url_are_text(as_role, hostile):
    """A shared link carries values too: a reference serial and a bad start time are echoed
    in messages, as text."""
    page, seen = as_role("viewer", then="/api/me")  # the test opens the explorer next
    reference = '<img src="x" onerror="alert(105)">'
    visit(page, seen, f"{hostile.url}curves?project=line-7&reference={quote(reference)}")
    shows(page, reference)
    start = '<img src="x" onerror="alert(106)">'  # quoted with repr in the message
    visit(page, seen, f"{hostile.url}curves?project=line-7&start={quote(start)}")
    shows(page, "is not a date and time")
    shows(page, start)
    settle(page)
    screenshot(page, "xss-url-values")
    assert not seen.clean(), seen.clean()
    assert_protected(seen)


def test_no_page_can_be_framed(as_role, hostile):
    """The proof of concept opened the Team page in a hidden frame of the explorer (same
    origin, so the session cookie went along); the answer forbids every frame."""
    page, seen = as_role("owner", then="/api/me")  # the test opens its page next
    visit(page, seen, hostile.url + "projects")
    page.evaluate(
        """url => new Promise(done => {
            const frame = document.createElement('iframe');
            frame.src = url;
            frame.onload = () => done();
            document.body.appendChild(frame);
        })""",
        hostile.url + "team",
    )
    (frame,) = [f for f in page.frames if f.parent_frame is page.main_frame]
    page.wait_for_timeout(3 * SECOND)  # time for the Team page to draw, if it were allowed
    assert not frame.url.startswith(hostile.url), frame.url
    assert frame.get_by_text("Personal API tokens").count() == 0
