"""Sign-in, sign-out, CSRF, invitations and role-limited pages, in a real browser and over
real HTTP against ``curvehouse serve``."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.ui.conftest import BIN, OWNER, screenshot

pytestmark = pytest.mark.ui
PASSWORD = "a long new password"


@pytest.fixture
def served(shared_demo):
    return shared_demo.get()


def invite(served, email: str, project: str, role: str) -> str:
    """An invitation made the way the Team page makes it, in the server's metadata store."""
    code = (
        "from models.access import operator\n"
        "from models.members import invite_member\n"
        "from models.settings import Settings\n"
        "from models.store import open_metadata\n"
        "from models.tables import Project\n"
        "import sqlalchemy as sa\n"
        "store = open_metadata(Settings.from_env())\n"
        "with store.sessions() as s:\n"
        f"    pid = s.scalar(sa.select(Project.id).where(Project.name == {project!r}))\n"
        "    link, _ = invite_member(\n"
        "        session=s, actor=operator('test'), project_id=pid,\n"
        f"        email={email!r}, role={role!r},\n"
        "    )\n"
        "    s.commit()\n"
        "print(link)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "CURVEHOUSE_HOME": served.home},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def open_tab(page, name: str) -> None:
    page.locator(".bk-tab").filter(has_text=name).click()


def test_pages_need_a_sign_in_and_wrong_passwords_are_refused(served, browser):
    context = browser.new_context()
    page = context.new_page()
    for slug in ("", "home", "clusters", "projects", "team"):
        page.goto(served.url + slug)
        assert "/login" in page.url, slug
    page.fill("#email", OWNER)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    page.get_by_text("Wrong e-mail address or password.").wait_for()
    screenshot(page, "login-refused")
    page.fill("#email", OWNER)
    page.fill("#password", served.password)
    page.click("button[type=submit]")
    page.wait_for_url(served.url + "team")  # on to where it was going
    page.get_by_text(OWNER).first.wait_for()
    page.get_by_role("button", name="Sign out").click()  # one click (issue 16)
    page.get_by_text("You are signed out.").wait_for()
    page.goto(served.url + "team")
    assert "/login" in page.url
    context.close()


def test_a_login_form_without_its_xsrf_token_is_refused(served):
    body = f"email={OWNER}&password={served.password}".encode()
    request = urllib.request.Request(served.url + "login", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    refused.value.close()
    assert refused.value.code == 403


def test_the_websocket_refuses_other_origins(served, browser):
    """The pages' actions travel over Bokeh's websocket: a page on another site that tries to
    open it with the victim's cookie is turned away."""
    context = browser.new_context()
    page = context.new_page()
    served.sign_in(page, then="/api/me")
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    context.close()
    statuses = {}
    for origin in ("http://evil.example", f"http://localhost:{served.port}"):
        connection = http.client.HTTPConnection("localhost", served.port, timeout=10)
        connection.request(
            "GET",
            "/clusters/ws",
            headers={
                "Cookie": cookie,
                "Origin": origin,
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
        )
        statuses[origin] = connection.getresponse().status
        connection.close()
    assert statuses["http://evil.example"] == 403
    assert statuses[f"http://localhost:{served.port}"] != 403


def test_an_invited_viewer_sees_only_their_project(served, browser):
    link = invite(served, "viewer@plant.example", "demo", "viewer")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{served.url}invite?token={link}")
    page.get_by_text("is invited to demo as viewer").wait_for()
    page.fill("#name", "Vera Viewer")
    page.fill("#password", "short")
    page.click("button[type=submit]")
    page.get_by_text("at least 12 characters").wait_for()
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.url)
    page.get_by_text(re.compile(r"curves · x .* ms")).first.wait_for(timeout=30_000)
    screenshot(page, "viewer-curves")
    # Viewing is not exporting: the export needs engineer, and the page says so.
    page.get_by_text("Export view (PNG)").click()
    page.get_by_text(re.compile("export data needs engineer")).wait_for()
    # The link worked once.
    page.goto(f"{served.url}invite?token={link}")
    page.get_by_text("used already").wait_for()
    # A viewer may not create clusters, and the Team page offers no member changes.
    page.goto(served.url + "clusters", wait_until="networkidle")
    page.get_by_text("Creating clusters needs the admin or owner role").wait_for()
    page.goto(served.url + "team", wait_until="networkidle")
    page.get_by_text("Personal API tokens").wait_for()
    page.get_by_text("No tokens yet: name one above and press Create token.").wait_for()
    assert page.get_by_role("button", name="Invite").count() == 0
    assert page.get_by_text("Audit trail").count() == 0
    screenshot(page, "viewer-team")
    context.close()


def test_someone_in_no_project_sees_no_curves(served, browser):
    link = invite(served, "outsider@plant.example", "Default project", "viewer")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{served.url}invite?token={link}")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(served.url)
    page.goto(served.url + "home", wait_until="networkidle")
    page.get_by_text("No curves stored yet").wait_for(timeout=30_000)
    assert page.get_by_text("600").count() == 0
    context.close()


def test_the_owner_invites_from_the_team_page_and_reads_the_audit(served, page):
    page.goto(served.url + "team", wait_until="networkidle")
    open_tab(page, "Project members")
    page.get_by_label("Project").first.select_option(label="demo")
    page.get_by_label("E-mail", exact=True).fill("engineer@plant.example")
    page.get_by_label("Role").first.select_option("engineer")
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_text(re.compile(r"/invite\?token=")).first
    link.wait_for()
    assert f"localhost:{served.port}/invite?token=" in link.inner_text()
    page.get_by_text(re.compile("send engineer@plant.example this one-time link")).wait_for()
    screenshot(page, "team-invite")
    open_tab(page, "Your account")
    page.get_by_label("Token name").fill("nightly import")
    page.get_by_role("button", name="Create token").click()
    page.get_by_text(re.compile("New token .* chp_")).wait_for()
    open_tab(page, "Audit trail")
    page.get_by_label("Project").nth(1).select_option(label="demo")  # the audit's
    page.get_by_text("member.invite").first.wait_for()
    screenshot(page, "team-audit")


def test_the_readme_curl_example_works_against_curvehouse_serve(served):
    """The API is served by the same server as the pages; a token from the CLI works at once."""
    made = subprocess.run(
        [str(BIN / "curvehouse"), "token", "create", OWNER, "--name", "curl"],
        env={**os.environ, "CURVEHOUSE_HOME": served.home},
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip()

    def get(path: str) -> tuple[int, str]:
        request = urllib.request.Request(
            served.url + path.lstrip("/"), headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.read().decode()

    status, body = get("/api/projects")
    projects = {p["name"]: p["id"] for p in json.loads(body)["items"]}
    assert status == 200 and projects["demo"] == 2  # the id the README's example uses
    status, body = get("/api/projects/2/curves?result=NOK&limit=5")
    assert status == 200 and len(json.loads(body)["items"]) == 5
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(served.url + "api/projects")
    refused.value.close()
    assert refused.value.code == 401


# Cells cut off across or down, and a table that scrolls sideways (scrolling down is fine).
CLIPPED = """(table) => [
    ...[...table.querySelectorAll(
        '.tabulator-cell, .tabulator-col-title, .tabulator-responsive-collapse td'
    )].filter((cell) => cell.offsetWidth > 0 && (
        cell.scrollWidth > cell.clientWidth + 1 || cell.scrollHeight > cell.clientHeight + 1
    )),
    ...[...table.querySelectorAll('.tabulator-tableholder')].filter(
        (holder) => holder.scrollWidth > holder.clientWidth + 1
    ),
].map((cell) => cell.className + ': ' + cell.textContent.slice(0, 80))"""


def test_a_new_token_is_copied_and_the_audit_shows_every_cell(served, browser):
    """Issue 16: no copy button for a new token, and audit cells cut off at 1400 px."""
    invite(served, f"{'a-very-long-name.' * 4}engineer@plant.example", "demo", "engineer")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.url[:-1])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    served.sign_in(page, then="/api/me")
    page.goto(served.url + "team", wait_until="networkidle")
    page.get_by_label("Token name").fill("copied in the browser")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_text(re.compile("New token .* chp_")).first
    shown.wait_for()
    page.get_by_role("button", name="Copy token").click()
    page.get_by_role("button", name="Copied").wait_for()
    token = re.search(r"chp_[\w-]+", shown.inner_text()).group(0)
    assert page.evaluate("navigator.clipboard.readText()") == token
    open_tab(page, "Audit trail")
    page.get_by_label("Project").last.select_option(label="demo")
    table = page.locator(".tabulator").filter(has_text="a-very-long-name").first
    table.wait_for()
    assert table.evaluate(CLIPPED) == []
    screenshot(page, "team-audit-1400")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator(".tabulator-responsive-collapse").first.wait_for()  # columns fold into rows
    page.wait_for_timeout(300)
    assert table.evaluate(CLIPPED) == []
    screenshot(page, "team-audit-390")
    # On a phone every page and Sign out stay in reach: the navigation wraps, nothing is cut.
    for name in ("Curves", "Overview", "Clusters", "Projects", "Team", "Sign out"):
        box = page.locator(".ch-nav").get_by_text(name, exact=True).bounding_box()
        assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    assert errors == []
    context.close()
