"""``curvehouse ingest`` with a CSV's separator and decimal mark given (issue 16): a ';' file
of integers up to its last line reads that line's decimal comma only when told."""

import pytest

from tests.app.test_cli import run

pytestmark = pytest.mark.integration

LATE_COMMA = "curve_key;x;y;result\nA;0;1;i.O.\nA;1;2;i.O.\nB;0;1;n.i.O.\nB;1;2,5;n.i.O.\n"


def test_ingest_takes_a_separator_and_a_decimal_mark(tmp_path):
    path = tmp_path / "de.csv"
    path.write_text(LATE_COMMA)
    refused = run(tmp_path, "ingest", str(path), "--project", "line7", "--decimal", ".", ok=False)
    assert refused.stderr.strip().startswith(
        "error: de.csv, line 5 (data row 4), column 'y': '2,5' holds a ','"
    )
    out = run(
        tmp_path, "ingest", str(path), "--project", "line7", "--delimiter", ";", "--decimal", ","
    ).stdout
    assert "Imported 2 curves (4 points) into 'line7'" in out
