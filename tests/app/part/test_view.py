"""A part's page as a component: its stations' curves with results, defects and key values,
the way back to the explorer, and the empty state of a serial nobody made."""

import html
import re

import panel as pn
import pytest

import app.pages.part as part_page
from app.part.find import find_part
from app.part.view import PartView, number
from app.services import Services
from models.settings import Settings
from pipelines.ingest import ingest_file

pytestmark = pytest.mark.integration

# Part P-1: press-fit at ST010 (OK), then ST020 (NOK, defect "low force"); P-2 passes ST010.
ROWS = [
    ("c1", "P-1", "ST010", "OK", "", "2026-11-16T06:00:00Z", [(0, 0), (1, 4), (2, 3.5)]),
    ("c2", "P-1", "ST020", "NOK", "low force", "2026-11-16T06:01:00Z", [(0, 1), (2, 2), (3, 0)]),
    ("c3", "P-2", "ST010", "OK", "", "2026-11-16T06:02:00Z", [(0, 0), (1, 5), (2, 4)]),
]


@pytest.fixture
def services():
    with Services(Settings.from_env()) as services:
        yield services


@pytest.fixture
def stored(services, tmp_path):
    store = services.open_store()
    lines = [
        "curve_key,x,y,part_serial,station,process,result,defect,started_at,x_unit,y_unit,"
        "x_name,y_name"
    ]
    for key, serial, station, result, defect, started, samples in ROWS:
        lines += [
            f"{key},{x},{y},{serial},{station},press-fit,{result},{defect},{started},mm,kN,"
            "stroke,force"
            for x, y in samples
        ]
    path = tmp_path / "parts.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest_file(store, path, project="line7")
    yield store
    store.client.command(f"DROP DATABASE IF EXISTS {store.db}")
    store.client.close()


def words(pane) -> str:
    return html.unescape(re.sub("<[^>]+>", " ", pane.object))


def render(services, readable, project, serial, back=None):
    lookup, clients = find_part(services, readable, project, serial)
    view = PartView(lookup, projects=list(readable or ()), back=back)
    return view, view.__panel__(), clients


def test_a_part_shows_every_station_with_results_defects_and_key_values(services, stored):
    back = "/curves?project=line7&station=ST010"
    _, shown, clients = render(services, ("line7",), "line7", "P-1", back)
    header = words(shown.select(pn.pane.HTML)[0])
    assert "Part P-1" in header and "NOK" in header
    assert "low force at ST020" in header
    assert f'href="{back}"' in html.unescape(shown.select(pn.pane.HTML)[0].object)
    cards = [c for c in shown.select(pn.Column) if c.name.startswith("station-")]
    assert [c.name for c in cards] == ["station-ST010", "station-ST020"]
    first = " ".join(words(p) for p in cards[0].select(pn.pane.HTML))
    assert "Peak force 4.000 kN" in re.sub(r"\s+", " ", first)
    assert "stroke at peak 1.000 mm" in re.sub(r"\s+", " ", first)
    assert "Work (area) 5.750 kN·mm" in re.sub(r"\s+", " ", first)  # 2 + 3.75 by trapezoids
    assert "2 curves of ST010" in first  # the station's density drawn behind the part's curve
    second = " ".join(words(p) for p in cards[1].select(pn.pane.HTML))
    assert "low force" in second and "NOK" in second
    assert len(cards[0].select(pn.pane.HoloViews)) == 1
    # Each station opens the explorer on that station with this part drawn as the reference.
    explore = re.search(
        r'href="(/curves\?[^"]+)"', html.unescape(cards[1].select(pn.pane.HTML)[1].object)
    )
    assert explore and "station=ST020" in explore[1] and "reference=P-1" in explore[1]
    for client in clients:
        client.close()


def test_an_unknown_serial_is_an_empty_state_with_the_search(services, stored):
    for readable in (("line7",), None):
        _, shown, clients = render(services, readable, "line7", "NOPE-9")
        header = shown.select(pn.pane.HTML)[0]
        assert "No part with serial NOPE-9 in project line7" in words(header)
        assert 'name="serial"' in header.object and 'action="./part"' in header.object
        assert clients == [] and not [
            c for c in shown.select(pn.Column) if c.name.startswith("station-")
        ]


def test_a_project_without_a_role_answers_as_an_unknown_serial(services, stored):
    _, shown, clients = render(services, ("other",), "line7", "P-1")
    assert "No part with serial P-1 in project line7" in words(shown.select(pn.pane.HTML)[0])
    assert clients == []


def test_without_a_project_the_viewers_projects_are_searched(services, stored):
    view, shown, clients = render(services, ("line7",), "", "P-2")
    assert view.lookup.project == "line7" and view.lookup.part.found
    _, shown, _ = render(services, ("other",), "", "P-2")
    assert "No part with serial P-2 in any of your projects" in words(shown.select(pn.pane.HTML)[0])
    for client in clients:
        client.close()


def test_a_back_link_to_another_site_is_not_followed(services, stored):
    _, shown, clients = render(services, ("line7",), "line7", "P-1", "https://evil.example/curves")
    markup = html.unescape(shown.select(pn.pane.HTML)[0].object)
    assert "evil.example" not in markup
    assert 'href="/curves?project=line7"' in markup  # the explorer on the part's project
    for client in clients:
        client.close()


def test_the_page_without_a_serial_asks_for_one(services, stored):
    page = part_page.page(services)
    assert "Open a part" in page.main[0].select(pn.pane.HTML)[0].object


def test_key_values_are_written_for_people():
    assert number(1234.5678, "Nm·deg") == "1,235 Nm·deg"
    assert number(4.0, "kN") == "4.000 kN"
    assert number(0.012345) == "0.012"
    assert number(-2.5, "mm") == "−2.500 mm"
    assert number(float("nan")) == "–"


def test_a_serial_in_several_projects_asks_which(services, stored, tmp_path):
    path = tmp_path / "again.csv"
    path.write_text("curve_key,x,y,part_serial\nd1,0,1,P-1\nd1,1,2,P-1\n")
    ingest_file(stored, path, project="line8")
    lookup, clients = find_part(services, ("line7", "line8"), "", "P-1")
    assert lookup.several == ["line7", "line8"] and lookup.part is None and clients == []
    view = PartView(lookup, projects=["line7", "line8"], open_link=lambda p: f"./part?project={p}")
    header = view.__panel__().select(pn.pane.HTML)[0].object
    assert 'href="./part?project=line8"' in html.unescape(header)
    assert "several of your projects" in words(view.__panel__().select(pn.pane.HTML)[0])


def test_back_falls_back_to_the_page_the_browser_came_from(monkeypatch):
    def came_from(referer: str, host: str = "plant.example:5006"):
        headers = {"Referer": referer, "Host": host}
        monkeypatch.setattr(type(pn.state), "headers", property(lambda _self: headers))
        return part_page.referrer()

    assert came_from("http://plant.example:5006/curves?station=S1") == "/curves?station=S1"
    assert came_from("http://evil.example/curves?station=S1") is None
    assert came_from("") is None
