"""Imports: a file name is only a label, never a path; nothing is read or written outside the
server's own temporary directory, and nothing stays there."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.api.uploads import safe_label
from tests.app.api.conftest import ROOT, curves_csv

pytestmark = pytest.mark.integration

TRAVERSALS = [
    "../../etc/passwd",
    "..\\..\\x.csv",
    "/etc/passwd",
    "....//....//evil.csv",
    "..%2f..%2fevil.csv",
    "C:\\Windows\\evil.csv",
    "~/.ssh/authorized_keys",
    "..",
    "evil.csv\x00.png",
    "/proc/self/environ",
]
PLANTED = ("passwd", "x.csv", "evil.csv", "authorized_keys", "environ", "upload.csv")


def files_named(root, names, *, deep: bool = True) -> list:
    found = root.rglob("*") if deep else root.iterdir()
    return [p for p in found if p.name in names or p.name.startswith("passwd")]


@pytest.mark.parametrize("index", range(len(TRAVERSALS)))
@pytest.mark.parametrize("multipart", [False, True], ids=["body", "multipart"])
def test_a_path_in_the_name_is_only_a_label(world, index, multipart):
    name = TRAVERSALS[index]
    data = curves_csv(f"T{index}{'m' if multipart else 'b'}", count=2)
    path = f"/api/projects/{world.project_a}/datasets"
    if multipart:
        answer = world.call("POST", path, files={"file": (name, data, "text/csv")})
    else:
        answer = world.call(
            "POST", path, params={"name": name}, data=data, headers={"Content-Type": "text/csv"}
        )
    if multipart and "\x00" in name:  # Tornado refuses a NUL in a part's header outright
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_request"
        return
    assert answer.status_code == 201, answer.text
    report = answer.json()
    assert report["curves_added"] == 2  # our bytes, not a file the name points at
    label = report["name"]
    assert label == safe_label(name, "csv")
    assert "/" not in label and "\\" not in label and not label.startswith(".")
    assert list(world.tmpdir.iterdir()) == []  # the upload's own directory is gone
    # Where an escaping name would land: the server's temp dir and everything above it, the
    # server's home and working directory.
    assert files_named(world.tmpdir.parent, PLANTED) == []
    for above in (*world.tmpdir.parents, ROOT, Path.home()):
        assert files_named(above, PLANTED, deep=False) == [], above


def test_labels_keep_only_safe_characters():
    assert safe_label("../../etc/passwd", "csv") == "passwd.csv"
    assert safe_label("..\\..\\x.csv", "csv") == "x.csv"
    assert safe_label("", "parquet") == "upload.parquet"
    assert safe_label("..", "csv") == "upload.csv"
    assert safe_label("Prüfstand 7 (Nacht).CSV", "csv") == "Prufstand 7 (Nacht).csv"
    assert safe_label("a" * 500 + ".csv", "csv") == "a" * 76 + ".csv"


def test_a_bad_file_is_refused_with_the_ingest_message_and_nothing_is_stored(world):
    path = f"/api/projects/{world.project_a}/datasets"
    before = world.call("GET", f"{path}?limit=500").json()["total"]
    answer = world.call(
        "POST",
        f"{path}?name=bad.csv",
        data=b"curve_key,x,y\nA,0,1\nA,one,2\n",
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == (
        "bad.csv: bad.csv, line 3 (data row 2), column 'x': 'one' is not a number"
    )
    junk = world.call(
        "POST", path, data=b"PAR1 not parquet", headers={"Content-Type": "application/x-parquet"}
    )
    assert junk.status_code == 422
    assert world.call("GET", f"{path}?limit=500").json()["total"] == before
    assert list(world.tmpdir.iterdir()) == []


def test_parquet_imports(world):
    table = pa.table(
        {"curve_key": ["P1", "P1", "P2", "P2"], "x": [0.0, 1, 0, 1], "y": [1.0, 2, 3, 4]}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    answer = world.call(
        "POST",
        f"/api/projects/{world.project_a}/datasets?name=line7.parquet",
        data=buffer.getvalue(),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["curves_added"] == 2
    assert answer.json()["name"] == "line7.parquet"


def test_an_excel_file_from_germany_imports_with_its_encoding_given(world):
    """Windows-1252 text (ü), ';' and decimal commas: what Excel writes in Germany. The API
    takes the encoding, separator and decimal mark the page and the CLI take."""
    text = "curve_key;x;y;station\nPrüf-1;0,0;1,5;ST010\nPrüf-1;0,5;2,25;ST010\n"
    path = f"/api/projects/{world.project_a}/datasets"
    post = dict(data=text.encode("cp1252"), headers={"Content-Type": "text/csv"})
    refused = world.call("POST", f"{path}?name=excel.csv", **post)
    assert refused.status_code == 422 and "UTF-8" in refused.json()["error"]["message"]
    answer = world.call(
        "POST", f"{path}?name=excel.csv&encoding=cp1252&delimiter=%3B&decimal=%2C", **post
    )
    assert answer.status_code == 201, answer.text
    assert (answer.json()["curves_added"], answer.json()["points_added"]) == (1, 2)
    wrong = world.call("POST", f"{path}?encoding=latin-9", **post)
    assert wrong.status_code == 422 and "encoding" in wrong.text
