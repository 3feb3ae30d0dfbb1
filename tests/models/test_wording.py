"""Counts in words."""

import pytest

from models.wording import counted


@pytest.mark.parametrize(
    ("count", "noun", "plural", "expected"),
    [
        (1, "curve", None, "1 curve"),
        (0, "curve", None, "0 curves"),
        (2, "curve", None, "2 curves"),
        (12_345, "rejected part", None, "12,345 rejected parts"),
        (1, "dataset", None, "1 dataset"),
        (3, "process", "processes", "3 processes"),
    ],
)
def test_a_count_takes_the_noun_in_its_number(count, noun, plural, expected):
    assert counted(count, noun, plural) == expected
