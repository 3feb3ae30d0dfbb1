"""Links between the explorer and a part's page: "back" goes to the explorer on this server
only, never to another site (no open redirect)."""

from urllib.parse import parse_qs, urlsplit

import pytest

from app.explorer.state import ExplorerState
from app.part.links import explorer_back, explorer_link, part_link

EXPLORER_VIEWS = [
    "/curves",
    "/curves?project=demo&process=press-fit&station=S1,S2&x=0,12",
    "/curves?serial=A%26B",
]
REFUSED = [
    None,
    "",
    "https://evil.example/curves",
    "//evil.example/curves",
    "/\\evil.example/curves",
    "/%2Fevil.example/curves",
    "javascript:alert(1)//curves",
    "/curves/../team",
    "/curvesx?project=demo",
    "/team?back=/curves",
    "/part?project=demo",
    "/curves\n?project=demo",
    "/curves?project=d\temo",
    "curves?project=demo",
]


@pytest.mark.parametrize("back", EXPLORER_VIEWS)
def test_an_explorer_view_is_kept(back):
    assert explorer_back(back) == back


@pytest.mark.parametrize("back", REFUSED)
def test_anything_else_is_refused(back):
    assert explorer_back(back) is None


def test_the_fragment_is_dropped():
    assert explorer_back("/curves?project=demo#x") == "/curves?project=demo"


def test_a_part_link_carries_a_valid_back_and_drops_a_bad_one():
    link = part_link("demo", "A-1 & 2", "/curves?project=demo&station=S1")
    parts = urlsplit(link)
    assert parts.path == "./part"
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "project": "demo",
        "serial": "A-1 & 2",
        "back": "/curves?project=demo&station=S1",
    }
    assert "back" not in part_link("demo", "A-1", "https://evil.example/curves")
    assert "?" not in parts.query  # the back link is encoded: one "?" in the whole link


def test_an_explorer_link_is_the_explorers_own_url():
    link = explorer_link("demo", plant="Győr", line="GYR-L1", station="GYR-L1-ST010", process="p")
    path, _, query = link.partition("?")
    assert path == "/curves"
    state = ExplorerState()
    state.from_query({k: v[-1] for k, v in parse_qs(query).items()})
    assert (state.project, state.process) == ("demo", "p")
    assert (state.plant, state.line, state.station) == (["Győr"], ["GYR-L1"], ["GYR-L1-ST010"])
    assert explorer_link() == "/curves"
    drawn = explorer_link("demo", station="S1", reference="A-1")
    assert drawn == "/curves?project=demo&reference=A-1&station=S1"
    assert explorer_link("demo", line="L1") == "/curves?project=demo&line=L1"
