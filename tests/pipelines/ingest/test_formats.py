"""The files plants produce: ';' with decimal commas, i.O./n.i.O. results, the wide layout
(issue 16). Good files arrive exactly; a bad one is refused with its line and column."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import IngestError, ingest_file
from pipelines.ingest.assemble import Assembler
from pipelines.ingest.columns import result_of
from pipelines.ingest.dialect import Dialect
from pipelines.ingest.readers import read_table

GERMAN = (
    "curve_key;x;y;station;result\n"
    "P-1;0,000;0,12;ST010;i.O.\n"
    "P-1;0,010;0,98;ST010;i.O.\n"
    "P-1;0,020;2,31;ST010;i.O.\n"
    "P-2;0;0,15;ST010;n.i.O.\n"
    "P-2;1;1,02;ST010;n.i.O.\n"
)
WIDE = "P-1_x;P-1_y;P-2_x;P-2_y\n0;0,12;0;0,15\n0,5;0,98;0,5;1,02\n1;2,31;;\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def assembled(path, **dialect):
    """The curves of a file as (key, x, y, meta), without a store."""
    chunks = read_table(path, dialect=Dialect(**dialect))
    assembler = Assembler(path=path, csv=path.suffix == ".csv")
    return [
        (c.key, np.concatenate(c.xs).tolist(), np.concatenate(c.ys).tolist(), c.meta)
        for c in assembler.curves(chunks)
    ]


def test_plant_results_read_as_ok_and_nok():
    for text in ("i.O.", "I.O.", "io", "IO", "OK", "ok", " i. O. "):
        assert result_of(text) == "OK", text
    for text in ("n.i.O.", "N.I.O.", "nio", "NIO", "NOK", "nok", "n.i.o"):
        assert result_of(text) == "NOK", text
    assert result_of("maybe") is None


def test_semicolons_with_decimal_commas_from_the_header(tmp_path):
    curves = assembled(write(tmp_path, "de.csv", GERMAN))
    assert [c[0] for c in curves] == ["P-1", "P-2"]
    assert curves[0][1] == [0.0, 0.01, 0.02]
    assert curves[0][2] == [0.12, 0.98, 2.31]
    assert curves[1][1:3] == ([0.0, 1.0], [0.15, 1.02])
    assert [c[3]["result"] for c in curves] == ["OK", "NOK"]


def test_excels_empty_columns_right_of_the_data_are_left_out(tmp_path):
    trailing = GERMAN.replace("\n", ";;\n")  # every line, the header too, ends in ';;'
    assert assembled(write(tmp_path, "excel.csv", trailing)) == assembled(
        write(tmp_path, "de.csv", GERMAN)
    )


def test_quoted_values_in_a_semicolon_file(tmp_path):
    text = '"curve_key";"x";"y";"station"\n"A";"0,5";"1";"ST,10"\n"A";"1";"2";"ST,10"\n'
    curves = assembled(write(tmp_path, "quoted.csv", text))
    assert curves[0][1:] == ([0.5, 1.0], [1.0, 2.0], {"station": "ST,10"})


def test_semicolons_with_decimal_points(tmp_path):
    text = "curve_key;x;y\nA;0.5;1.25\nA;1.5;-2e-3\n"
    curves = assembled(write(tmp_path, "points.csv", text))
    assert curves[0][1:3] == ([0.5, 1.5], [1.25, -0.002])


def test_an_explicit_separator_and_decimal_mark(tmp_path):
    # Integers only: nothing in the data decides the mark, the option does.
    text = "curve_key;x;y\nA;0;1\nA;1;2,5\n"
    assert assembled(write(tmp_path, "given.csv", text), delimiter=";", decimal=",")[0][2] == [
        1.0,
        2.5,
    ]
    with pytest.raises(IngestError, match=r"line 3 \(data row 2\), column 'y': '2,5' holds a ','"):
        assembled(write(tmp_path, "given.csv", text), decimal=".")


def test_a_comma_file_with_decimal_commas_is_refused_not_misread(tmp_path):
    quoted = 'curve_key,x,y\nA,0,"1,5"\nA,1,"2,5"\n'
    with pytest.raises(
        IngestError,
        match=r"line 2 \(data row 1\), column 'y': '1,5' is written with a decimal comma: "
        r"a comma-separated file cannot hold decimal commas",
    ):
        assembled(write(tmp_path, "quoted.csv", quoted))
    bare = "curve_key,x,y\nA,0,1,5\nA,1,2,5\n"
    with pytest.raises(
        IngestError, match=r"line 2 \(data row 1\): has 4 fields, the header has 3 \(if its"
    ):
        assembled(write(tmp_path, "bare.csv", bare))
    with pytest.raises(IngestError, match=r"line 1 \(header\): a comma-separated file cannot"):
        assembled(write(tmp_path, "ok.csv", "curve_key,x,y\nA,0,1\nA,1,2\n"), decimal=",")


BAD = [
    (
        "mixed.csv",
        GERMAN.replace("0,98", "1.234"),
        r"line 3 \(data row 2\), column 'y': '1\.234' holds a '\.', but this file writes "
        r"decimals with ',' \(as at line 2, column 'x'\)",
    ),
    (
        "text.csv",
        GERMAN.replace("2,31", "abc"),
        r"line 4 \(data row 3\), column 'y': 'abc' is not a number",
    ),
    (
        "empty.csv",
        GERMAN.replace(";0,010;", ";;"),
        r"line 3 \(data row 2\), column 'x': the value is empty or NaN",
    ),
    (
        "result.csv",
        GERMAN.replace("n.i.O.", "n.b."),
        r"line 5 \(data row 4\), column 'result': 'n\.b\.' is not a result",
    ),
    (
        "ragged.csv",
        GERMAN + "P-3;0\n",
        r"line 7 \(data row 6\): has 2 fields, the header has 5",
    ),
    (
        "both.csv",
        "curve_key;x,y\nA;0,1\n",
        r"both\.csv, line 1 \(header\): the header holds both ';' and ','",
    ),
    (
        "wide_half.csv",
        WIDE.replace("0,5;0,98;", "0,5;;"),
        r"line 3 \(data row 2\), column 'P-1_y': the value is empty, but the other",
    ),
    (
        "wide_gap.csv",
        WIDE + ";;2;3\n1,5;3;;\n",
        r"line 6 \(data row 5\), column 'P-1_x': curve 'P-1' goes on after an empty line 5",
    ),
    (
        "wide_text.csv",
        WIDE.replace("0,15", "x"),
        r"line 2 \(data row 1\), column 'P-2_y': 'x' is not a number",
    ),
    (
        "wide_short.csv",
        "A_x;A_y;B_x;B_y\n0;1;0;1\n1;2;;\n",
        r"line 1 \(header\), column 'B_x': curve 'B' has 1 sample; a curve needs at least 2",
    ),
    (
        "wide_order.csv",
        "A_y;A_x\n0;1\n1;2\n",
        r"line 1 \(header\), column 'A_y': expected a column <curve>_x here; the wide layout "
        r"is one header line of column pairs <curve>_x, <curve>_y",
    ),
    (
        "wide_pair.csv",
        "A_x;B_y\n0;1\n1;2\n",
        r"line 1 \(header\), column 'B_y': expected 'A_y' next to 'A_x'",
    ),
    (
        "wide_twice.csv",
        "A_x;A_y;A_x;A_y\n0;1;0;1\n1;2;1;2\n",
        r"line 1 \(header\), column 'A_x': curve 'A' has two column pairs",
    ),
    (
        "wide_inf.csv",
        WIDE.replace("0,98", "inf"),
        r"line 3 \(data row 2\), column 'P-1_y': the value is infinite",
    ),
    (
        # Excel in Germany writes day-first dates: 11.12.2026 is not guessed as 12 November.
        "dates.csv",
        "curve_key;x;y;started_at\nA;0;1;11.12.2026 06:00\nA;1;2;11.12.2026 06:00\n",
        r"line 2 \(data row 1\), column 'started_at': '11\.12\.2026 06:00' is ambiguous "
        r"\(11 December or 12 November\?\)\. Write times as ISO 8601",
    ),
    (
        # An unnamed column may be left out only when it is empty on every line.
        "unnamed.csv",
        "curve_key;x;y;\nA;0;1;\nA;1;2;note\n",
        r"line 3 \(data row 2\): column 4 has no name in the header but holds 'note'",
    ),
    (
        # A curve-name row over x;y pairs is not the layout read: it says what is.
        "names_row.csv",
        "P-1;;P-2;\nx;y;x;y\n0;1;0;1\n",
        r"line 1 \(header\): missing column\(s\) 'curve_key', 'x', 'y'.*Or the wide layout is",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_name_line_and_column(tmp_path, name, content, message):
    with pytest.raises(IngestError, match=message):
        assembled(write(tmp_path, name, content))


def test_iso_times_are_read_in_utc(tmp_path):
    text = (
        "curve_key;x;y;started_at;ended_at\n"
        "A;0;1;2026-12-11 06:00;2026-12-11T06:00:02.5+01:00\n"
        "A;1;2;2026-12-11 06:00;2026-12-11T06:00:02.5+01:00\n"
    )
    meta = assembled(write(tmp_path, "times.csv", text))[0][3]
    assert str(meta["started_at"]) == "2026-12-11 06:00:00+00:00"
    assert str(meta["ended_at"]) == "2026-12-11 05:00:02.500000+00:00"


def test_the_wide_layout(tmp_path):
    curves = assembled(write(tmp_path, "wide.csv", WIDE))
    assert curves == [
        ("P-1", [0.0, 0.5, 1.0], [0.12, 0.98, 2.31], {}),
        ("P-2", [0.0, 0.5], [0.15, 1.02], {}),
    ]
    commas = "a_x,a_y,b_X,b_Y\n0,1.5,0,2\n1,2.5,1,3\n"
    assert [c[0] for c in assembled(write(tmp_path, "wide2.csv", commas))] == ["a", "b"]


def test_wide_parquet_is_refused_with_the_layouts(tmp_path):
    pq.write_table(pa.table({"A_x": [0.0, 1.0], "A_y": [1.0, 2.0]}), tmp_path / "w.parquet")
    with pytest.raises(
        IngestError, match=r"The wide layout \(<curve>_x, <curve>_y pairs\) is read from CSV"
    ):
        assembled(tmp_path / "w.parquet")


@pytest.mark.integration
def test_german_excel_file_imports_once(store, tmp_path, snapshot):
    path = write(tmp_path, "de.csv", GERMAN)
    report = ingest_file(store, path, project="p")
    assert (report.written.curves_added, report.written.points_added) == (2, 5)
    rows = store.client.query(
        f"SELECT curve_key, result FROM {store.db}.curves ORDER BY curve_key"
    ).result_rows
    assert rows == [("P-1", "OK"), ("P-2", "NOK")]
    before = snapshot(store)
    again = ingest_file(store, path, project="p")
    assert again.already_imported == report.written.dataset_id
    assert again.written.curves_skipped == 2
    assert snapshot(store) == before


@pytest.mark.integration
def test_wide_file_with_a_metadata_file(store, tmp_path, snapshot):
    meta = write(tmp_path, "meta.csv", "curve_key;station;result\nP-1;ST010;i.O.\nP-2;ST020;NIO\n")
    report = ingest_file(store, write(tmp_path, "wide.csv", WIDE), project="p", metadata=meta)
    assert report.written.curves_added == 2
    rows = store.client.query(
        f"SELECT curve_key, station, result, point_count FROM {store.db}.curves ORDER BY 1"
    ).result_rows
    assert rows == [("P-1", "ST010", "OK", 3), ("P-2", "ST020", "NOK", 2)]
    before = snapshot(store)
    missing = write(tmp_path, "meta2.csv", "curve_key;station\nP-1;ST010\n")
    with pytest.raises(
        IngestError,
        match=r"wide\.csv, line 1 \(header\), column 'P-2_x': curve 'P-2' has no row in the "
        r"metadata file",
    ):
        ingest_file(store, tmp_path / "wide.csv", project="q", metadata=missing)
    assert snapshot(store) == before


@pytest.mark.integration
@pytest.mark.parametrize("name", ["mixed.csv", "wide_gap.csv"])
def test_refusals_store_nothing(store, tmp_path, snapshot, name):
    content = {b[0]: b[1] for b in BAD}[name]
    before = snapshot(store)
    with pytest.raises(IngestError):
        ingest_file(store, write(tmp_path, name, content), project="p")
    assert snapshot(store) == before
