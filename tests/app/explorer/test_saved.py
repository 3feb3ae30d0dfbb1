"""Saved views in the explorer: the state kept is exactly the explorer's URL form (every
parameter, found by iterating over the state's parameters, so a new one is covered or this
fails), a state the explorer cannot hold is refused by name, and the sidebar's controls save,
list, open, rename, share, update and delete views as their owner's role allows."""

from __future__ import annotations

import html
from typing import Any

import panel as pn
import param
import pytest

from app.explorer.saved import SavedViews, opening, stored_query, url_keys, view_link
from app.explorer.state import ExplorerState
from app.services import Services
from models import accounts
from models.access import Principal
from models.settings import Settings
from models.tables import AuditEvent, Project, ProjectMember, Role, SavedView
from pipelines.views import FilterError

# Values that must mean something to the explorer; any other parameter gets one by its type.
MEANINGFUL: dict[str, Any] = {
    "start": "2026-11-21T06:00:00Z",
    "end": "2026-11-22T12:30:00+01:00",
    "zone": "Europe/Berlin",
    "result": ["OK", "NOK"],
    "plant": ["Leipzig", "Győr"],
}


def changed_value(name: str, parameter: param.Parameter) -> Any:
    """A value for ``parameter`` other than its default."""
    if name in MEANINGFUL:
        return MEANINGFUL[name]
    if isinstance(parameter, param.Selector):
        return next(o for o in reversed(parameter.objects) if o != parameter.default)
    if isinstance(parameter, param.Boolean):
        return not parameter.default
    if isinstance(parameter, param.List):
        return [f"{name}-1", f"{name} 2/ß"]
    if isinstance(parameter, param.Tuple):
        return (-0.125, 3500.5)
    if isinstance(parameter, param.String):
        return f"{name} value, with: punctuation"
    if isinstance(parameter, param.Integer):
        return 7
    raise AssertionError(f"give the new parameter {name!r} a value here")


def every_parameter_changed(project: str) -> ExplorerState:
    """A state in which every parameter differs from its default (``project`` as given)."""
    state = ExplorerState()
    for name, parameter in ExplorerState.param.objects().items():
        if name != "name":
            setattr(state, name, project if name == "project" else changed_value(name, parameter))
    for name, parameter in ExplorerState.param.objects().items():
        if name != "name":
            assert getattr(state, name) != parameter.default, name
    return state


def test_every_parameter_is_kept_and_comes_back():
    state = every_parameter_changed("press")
    kept = stored_query(state.to_query(), "press")
    assert set(kept) == url_keys()  # every parameter has its key
    again = ExplorerState()
    again.from_query(kept)
    for name in ExplorerState.param:
        if name != "name":
            assert getattr(again, name) == getattr(state, name), name


def test_what_is_kept_is_the_explorers_own_url_form():
    kept = stored_query({"station": "S2,,S1", "envelope": "yes", "cmap": "Blues"}, "press")
    # Defaults are left out and values written as the explorer writes them.
    assert kept == {"project": "press", "station": "S2,S1", "envelope": "1"}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"stations": "S1"}, "stations: not an explorer parameter"),
        ({"view": "3"}, "view: not an explorer parameter"),
        ({"project": "weld"}, "a view saved in 'press' shows its curves, not 'weld'"),
        ({"start": "yesterday-ish"}, "start"),
        ({"result": "MAYBE"}, "result"),
        ({"zone": "Mars/Olympus"}, "zone"),
        ({"live": "2h"}, "live must be one of"),
        ({"y": "1"}, "y must be two numbers"),
    ],
)
def test_a_state_the_explorer_cannot_hold_is_refused_by_name(query, words):
    with pytest.raises(FilterError, match=words):
        stored_query(query, "press")


def test_the_link_opens_the_explorer_page():
    assert view_link(42) == "/curves?view=42"


# --- the sidebar's controls on a real metadata store --------------------------------------------


@pytest.fixture
def press(tmp_path):
    """Project "press" with Eve (viewer) and Dan (engineer); Bo is in no project."""
    services = Services(Settings(home=tmp_path))
    people = {}
    with services.metadata.sessions() as session:
        project = accounts.default_project(session)
        project.name = "press"
        for name, role in (("eve", Role.VIEWER), ("dan", Role.ENGINEER), ("bo", None)):
            email = f"{name}@plant.example"
            user = accounts.create_user(session=session, email=email, password=None)
            if role is not None:
                session.add(ProjectMember(project=project, user=user, role=role))
            people[name] = Principal(user.email, user.id)
        session.commit()
    yield services, people
    services.close()


def controls(services, who, **state) -> SavedViews:
    return SavedViews(services, who, ExplorerState(project="press", **state))


def test_save_lists_and_opens_a_view(press):
    services, people = press
    dan = controls(services, people["dan"], process="press-fit", station=["S2"], x_range=(1, 2))
    dan.param.update(view_name="S2 zoomed", shared=True)
    view = dan.save()
    assert view is not None, dan.message
    assert list(dan.picker.options) == ["S2 zoomed (shared)"]
    assert dan.chosen == view.id and view_link(view.id) in dan.link.object
    # Eve sees it shared by Dan and opens it on her explorer: every value, the zoom too.
    eve = controls(services, people["eve"], process="other", norm="log")
    assert list(eve.picker.options) == ["S2 zoomed (shared by dan@plant.example)"]
    eve.open()
    assert eve.message.startswith("Opened")
    expected = ExplorerState()
    expected.from_query(view.query)
    for name in ExplorerState.param:
        if name != "name":
            assert getattr(eve.state, name) == getattr(expected, name), name
    assert eve.state.x_range == (1, 2) and eve.state.norm == "eq_hist"
    # She may not delete it; Dan may.
    eve.delete()
    assert "viewer; manage views needs admin" in eve.message
    dan.delete()
    assert dan.message.startswith("Deleted") and dan.picker.options == {}
    with services.metadata.sessions() as session:
        assert session.get(SavedView, view.id) is None


def test_a_viewer_saves_privately_only(press):
    services, people = press
    eve = controls(services, people["eve"], station=["S1"])
    eve.param.update(view_name="mine", shared=True)
    assert eve.save() is None and "share views needs engineer" in eve.message
    eve.shared = False
    private = eve.save()
    assert private is not None and list(eve.picker.options) == ["mine (private)"]
    assert controls(services, people["dan"]).picker.options == {}
    eve.view_name = "a\x1bb"
    assert eve.save() is None and "control characters" in eve.message


def test_without_a_project_there_is_nowhere_to_save(press):
    services, people = press
    nowhere = SavedViews(services, people["dan"], ExplorerState())
    nowhere.view_name = "x"
    assert nowhere.save() is None and "Choose a project first" in nowhere.message


def test_a_link_opens_the_view_for_those_who_may_see_it(press):
    services, people = press
    dan = controls(services, people["dan"], station=["S3"], cmap="fire")
    dan.view_name = "private"
    view = dan.save()
    query, said = opening(services, people["dan"], {"view": str(view.id), "norm": "log"})
    assert (query, said) == ({"norm": "log", **view.query}, "")
    for who, asked in ((people["eve"], str(view.id)), (people["bo"], str(view.id))):
        query, said = opening(services, who, {"view": asked})
        assert query == {} and "no saved view" in said
    for bad in ("abc", "9" * 40, "-1"):
        query, said = opening(services, people["dan"], {"view": bad, "station": "S1"})
        assert query == {"station": "S1"} and "no saved view" in said
    assert opening(services, people["dan"], {"station": "S1"}) == ({"station": "S1"}, "")
    with services.metadata.sessions() as session:
        assert session.query(Project).count() == 1


def test_the_sidebar_card_is_folded_until_asked_for(press):
    services, people = press
    (card,) = controls(services, people["dan"]).sidebar()
    assert card.collapsed and card.title == "Saved views"
    assert card.objects == []  # made at the first opening
    card.collapsed = False
    assert any(isinstance(shown, pn.widgets.Select) for shown in card.objects)
    assert not controls(services, people["dan"]).sidebar(expanded=True)[0].collapsed
    # A page whose view could not be opened says why, unfolded.
    said = SavedViews(services, people["dan"], ExplorerState(project="press"), message="No view")
    assert not said.sidebar()[0].collapsed


def test_rename_share_and_update_from_the_card_as_the_roles_allow(press):
    services, people = press
    dan = controls(services, people["dan"], process="press-fit", station=["S2"])
    dan.param.update(view_name="S2", shared=False)
    view = dan.save()
    assert view is not None and dan.share_button.label == "Share"
    dan.view_name = ""
    dan.rename()
    assert html.unescape(dan.message) == "Type the new name in the View name box first."
    dan.view_name = "S2 mornings"
    dan.rename()
    assert dan.message == "Renamed to “S2 mornings”."
    assert list(dan.picker.options) == ["S2 mornings (private)"]
    dan.toggle_share()
    assert dan.message.endswith("is shared with the project.")
    assert list(dan.picker.options) == ["S2 mornings (shared)"]
    assert dan.share_button.label == "Make private"
    dan.state.station = ["S3"]
    dan.update()
    with services.metadata.sessions() as session:
        kept = session.get(SavedView, view.id)
        assert (kept.name, kept.shared, kept.query["station"]) == ("S2 mornings", True, "S3")
    # Eve (viewer) sees it and may change none of it.
    eve = controls(services, people["eve"])
    eve.view_name = "mine now"
    for action in (eve.rename, eve.toggle_share, eve.update):
        action()
        assert "manage views needs admin" in eve.message, eve.message
    with services.metadata.sessions() as session:
        assert session.get(SavedView, view.id).name == "S2 mornings"
        trail = [
            e.action for e in session.query(AuditEvent).filter(AuditEvent.action.like("view.%"))
        ]
    assert trail == ["view.create", "view.rename", "view.share", "view.change"]
