import pytest

from models.identifiers import InvalidIdentifierError, identifier


@pytest.mark.parametrize("name", ["curvehouse", "_staging_ab12", "Plant_7"])
def test_plain_names_are_quoted(name):
    assert identifier(name) == f"`{name}`"


@pytest.mark.parametrize(
    "name",
    ["", "1abc", "a-b", "a b", "x`; DROP DATABASE y; --", "db.table", "ä", "a" * 64, None],
)
def test_anything_else_is_refused(name):
    with pytest.raises(InvalidIdentifierError):
        identifier(name)
