"""Names hold no control characters, however they are made: the pages and the command line
call these functions directly, without the API's request models in front."""

from __future__ import annotations

import pytest

from models import accounts, teams
from models.access import operator
from models.names import BadName, control_character, group_name, label
from models.tables import Project

CONTROL = ["\x00", "\x1b[2J", "\n", "\r", "\x7f", "\x08"]


@pytest.mark.parametrize("bad", CONTROL)
def test_token_names_refuse_control_characters(sessions, bad):
    with sessions() as session:
        user = accounts.create_user(session=session, email="ana@plant.example", password=None)
        with pytest.raises(accounts.AccountError, match="may not hold control characters"):
            accounts.issue_token(session=session, user=user, name=f"laptop{bad}1")
        assert user.api_tokens == []


@pytest.mark.parametrize("bad", CONTROL)
def test_display_names_refuse_control_characters(sessions, bad):
    with (
        sessions() as session,
        pytest.raises(accounts.AccountError, match="may not hold control characters"),
    ):
        accounts.create_user(
            session=session, email="bo@plant.example", password=None, display_name=f"Bo{bad}b"
        )


@pytest.mark.parametrize("bad", CONTROL)
def test_project_and_team_names_refuse_control_characters(sessions, bad):
    with sessions() as session:
        with pytest.raises(accounts.AccountError, match="A project name has 1-100 letters"):
            accounts.new_group_name(session, Project, f"press{bad}shop")
        with pytest.raises(accounts.AccountError, match="A team name has 1-100 letters"):
            teams.create_team(session=session, actor=operator("test"), name=f"line{bad}7")


def test_the_checks_themselves():
    assert control_character("ok\ttab") is None
    assert control_character("a\x00b") == "0x00"
    assert label("  Ana's laptop  ", "A token's name") == "Ana's laptop"
    with pytest.raises(BadName, match="1 to 100 characters"):
        label("x" * 101, "A token's name")
    assert group_name(" Press shop 2.0 ", "project") == "Press shop 2.0"
    for bad in ("", "-lead", "a/b", "<img src=x>", "x" * 101, "ok\x00"):
        with pytest.raises(BadName):
            group_name(bad, "project")
