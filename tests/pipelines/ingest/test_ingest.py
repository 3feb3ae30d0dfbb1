"""Imports: good files arrive exactly, bad files name the problem and change nothing."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import IngestError, ingest_file

pytestmark = pytest.mark.integration

HEADER = "curve_key,x,y,station,result,started_at\n"
GOOD_ROWS = (
    "P-1,0.000,0.12,ST010,OK,2026-11-20T06:00:00Z\n"
    "P-1,0.010,0.98,ST010,OK,2026-11-20T06:00:00Z\n"
    "P-1,0.020,2.31,ST010,OK,2026-11-20T06:00:00Z\n"
    "P-2,0.000,0.15,ST010,NOK,2026-11-20T06:01:00Z\n"
    "P-2,0.010,1.02,ST010,NOK,2026-11-20T06:01:00Z\n"
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def curves(store):
    return store.client.query_df(
        f"SELECT c.curve_key AS key, c.station AS station, c.result AS result, "
        f"c.started_at AS started_at, arrayMap(v -> v * s.x_step, s.x) AS x, "
        f"arrayMap(v -> v * s.y_step, s.y) AS y FROM {store.db}.curves AS c "
        f"INNER JOIN {store.db}.curve_samples AS s ON s.curve_id = c.curve_id ORDER BY key"
    )


def test_csv_arrives_exactly(store, tmp_path):
    report = ingest_file(store, write(tmp_path, "good.csv", HEADER + GOOD_ROWS), project="p")
    assert (report.written.curves_added, report.written.points_added) == (2, 5)
    frame = curves(store)
    assert frame["key"].tolist() == ["P-1", "P-2"]
    assert frame["result"].tolist() == ["OK", "NOK"]
    np.testing.assert_allclose(frame["x"][0], [0.0, 0.01, 0.02], rtol=0, atol=1e-12)
    np.testing.assert_allclose(frame["y"][0], [0.12, 0.98, 2.31], rtol=0, atol=1e-12)
    assert pd.Timestamp(frame["started_at"][1]) == pd.Timestamp("2026-11-20 06:01:00")


def test_parquet_with_a_metadata_file(store, tmp_path):
    samples = pa.table(
        {
            "curve_key": ["A"] * 3 + ["B"] * 2,
            "x": np.array([0, 1, 2, 0, 1], dtype=np.int64),
            "y": np.array([1.5, 2.5, 3.5, -1.0, 7.25], dtype=np.float32),
        }
    )
    pq.write_table(samples, tmp_path / "s.parquet")
    meta = write(tmp_path, "meta.csv", "curve_key,station,result\nA,S1,pass\nB,S2,NIO\n")
    report = ingest_file(store, tmp_path / "s.parquet", project="p", metadata=meta)
    assert report.written.curves_added == 2
    frame = curves(store)
    assert frame["station"].tolist() == ["S1", "S2"]
    assert frame["result"].tolist() == ["OK", "NOK"]
    np.testing.assert_array_equal(frame["y"][1], [-1.0, 7.25])


def test_latin1_file_reads_with_its_encoding(store, tmp_path):
    text = "curve_key,x,y,station\nGyőr-1,0,1,Prüfstand\nGyőr-1,1,2,Prüfstand\n"
    path = write(tmp_path, "latin.csv", text.replace("ő", "o"), encoding="latin-1")
    with pytest.raises(
        IngestError, match=r"latin\.csv: the file is not valid utf-8 text .* line 2"
    ):
        ingest_file(store, path, project="p")
    ingest_file(store, path, project="p", encoding="latin-1")
    assert curves(store)["station"].tolist() == ["Prüfstand"]


BAD_FILES = [
    (
        "missing.csv",
        "curve_key,x\nA,1\n",
        r"missing\.csv, line 1 \(header\): missing column\(s\) 'y'",
    ),
    ("unknown.csv", "curve_key,x,y,statoin\nA,1,2,S\n", r"unknown column\(s\) 'statoin'"),
    (
        "text.csv",
        HEADER + GOOD_ROWS + "P-3,0.0,abc,ST010,OK,2026-11-20T06:02:00Z\n",
        r"text\.csv, line 7 \(data row 6\), column 'y': 'abc' is not a number",
    ),
    (
        "nan.csv",
        HEADER + GOOD_ROWS.replace("0.98", "NaN"),
        r"nan\.csv, line 3 \(data row 2\), column 'y': the value is empty or NaN",
    ),
    (
        "inf.csv",
        HEADER + GOOD_ROWS.replace("0.010,1.02", "inf,1.02"),
        r"inf\.csv, line 6 \(data row 5\), column 'x': the value is infinite",
    ),
    (
        "empty_value.csv",
        HEADER + GOOD_ROWS.replace("0.020,2.31", ",2.31"),
        r"line 4 \(data row 3\), column 'x': the value is empty or NaN",
    ),
    (
        "single.csv",
        HEADER + GOOD_ROWS + "P-3,0.0,1.0,ST010,OK,2026-11-20T06:02:00Z\n",
        r"line 7 \(data row 6\), column 'curve_key': curve 'P-3' has 1 sample",
    ),
    ("header_only.csv", HEADER, r"header_only\.csv: the file has no data rows"),
    (
        "duplicate.csv",
        HEADER + GOOD_ROWS + GOOD_ROWS.splitlines(keepends=True)[0] * 2,
        r"line 7 \(data row 6\), column 'curve_key': curve 'P-1' appears again; "
        r"its rows began at row 1",
    ),
    (
        "ragged.csv",
        HEADER + GOOD_ROWS + "P-3,0.0\n",
        r"ragged\.csv, line 7 \(data row 6\): has 2 fields, the header has 6",
    ),
    (
        "changing.csv",
        HEADER + GOOD_ROWS.replace("0.020,2.31,ST010", "0.020,2.31,ST020"),
        r"line 4 \(data row 3\), column 'station': per-curve metadata changes within one curve",
    ),
    (
        "result.csv",
        HEADER + GOOD_ROWS.replace("NOK", "maybe"),
        r"line 5 \(data row 4\), column 'result': 'maybe' is not a result",
    ),
    (
        "when.csv",
        HEADER + GOOD_ROWS.replace("2026-11-20T06:01:00Z", "yesterday"),
        r"column 'started_at': 'yesterday' is not a date and time",
    ),
    ("binary.csv", b"curve_key,x,y\nA,1,\xff\xfe\n", r"binary\.csv: the file is not valid utf-8"),
    ("notes.xlsx", "whatever", r"notes\.xlsx: unknown file type"),
    ("broken.parquet", b"PAR1 not really", r"broken\.parquet: not a readable Parquet file"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_named_precisely_and_change_nothing(
    store, tmp_path, snapshot, name, content, message
):
    ingest_file(store, write(tmp_path, "base.csv", HEADER + GOOD_ROWS), project="p")
    before = snapshot(store)
    with pytest.raises(IngestError, match=message):
        ingest_file(store, write(tmp_path, name, content), project="p")
    assert snapshot(store) == before


def test_bad_metadata_files_name_their_own_rows(store, tmp_path, snapshot):
    samples = write(tmp_path, "s.csv", "curve_key,x,y\nA,0,1\nA,1,2\n")
    before = snapshot(store)
    cases = [
        (
            "curve_key,station\nA,S1\nA,S2\n",
            r"m\.csv, line 3 \(data row 2\), column 'curve_key': "
            r"curve 'A' is listed twice",
        ),
        (
            "curve_key,station\nA,S1\nB,S2\n",
            r"m\.csv, line 3 \(data row 2\), column 'curve_key': "
            r"curve 'B' has no samples \(an empty curve\)",
        ),
        (
            "curve_key,station\nC,S1\n",
            r"s\.csv, line 2 \(data row 1\), column 'curve_key': "
            r"curve 'A' has no row in the metadata file",
        ),
        ("curve_key,x\nA,1\n", "without x or y columns"),
    ]
    for text, message in cases:
        with pytest.raises(IngestError, match=message):
            ingest_file(store, samples, project="p", metadata=write(tmp_path, "m.csv", text))
        assert snapshot(store) == before


def test_second_import_of_the_same_file_adds_nothing(store, tmp_path, snapshot):
    path = write(tmp_path, "good.csv", HEADER + GOOD_ROWS)
    first = ingest_file(store, path, project="p")
    before = snapshot(store)
    second = ingest_file(store, path, project="p")
    assert second.already_imported == first.written.dataset_id
    assert "already imported" in second.summary()
    assert snapshot(store) == before
    # Issue 16: it says that nothing new was stored, and how many curves it skipped.
    assert (second.written.curves_added, second.written.curves_skipped) == (0, 2)
    assert second.summary().startswith("Nothing new was stored: good.csv was already imported")
    assert second.summary().endswith("; skipped its 2 curves.")


def test_summaries_write_one_curve_in_the_singular(store, tmp_path):
    path = write(tmp_path, "one.csv", "curve_key,x,y\nA,0,1\nA,1,2\n")
    first = ingest_file(store, path, project="p")
    assert first.summary() == "Imported 1 curve (2 points) into 'p'."
    assert ingest_file(store, path, project="p").summary().endswith("skipped its 1 curve.")
    again = write(tmp_path, "two.csv", "curve_key,x,y\nA,0,1\nA,1,2\nB,0,1\nB,1,1\n")
    assert ingest_file(store, again, project="p").summary() == (
        "Imported 1 curve (2 points) into 'p'; skipped 1 curve already stored with the same "
        "samples."
    )


def test_overlapping_files_add_only_new_curves(store, tmp_path):
    ingest_file(store, write(tmp_path, "a.csv", HEADER + GOOD_ROWS), project="p")
    extra = "P-3,0.0,1.0,ST010,OK,2026-11-20T06:02:00Z\nP-3,0.1,2.0,ST010,OK,2026-11-20T06:02:00Z\n"
    report = ingest_file(store, write(tmp_path, "b.csv", HEADER + GOOD_ROWS + extra), project="p")
    assert (report.written.curves_added, report.written.curves_skipped) == (1, 2)
    assert curves(store)["key"].tolist() == ["P-1", "P-2", "P-3"]


def test_the_same_file_may_go_into_another_project(store, tmp_path):
    path = write(tmp_path, "good.csv", HEADER + GOOD_ROWS)
    ingest_file(store, path, project="p")
    assert ingest_file(store, path, project="q").written.curves_added == 2


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_large_file_streams_in_chunks(store, tmp_path, monkeypatch, kind):
    import pipelines.ingest.readers as readers

    # Small chunks, so curves straddle chunk boundaries.
    monkeypatch.setattr(readers, "_BLOCK", 256 << 10)
    monkeypatch.setattr(readers, "_PARQUET_ROWS", 7_777)
    rng = np.random.default_rng(0)
    keys = np.repeat([f"K{i:04d}" for i in range(400)], 500)
    frame = pd.DataFrame(
        {
            "curve_key": keys,
            "x": np.tile(np.arange(500) * 0.5, 400),
            "y": rng.integers(0, 4096, keys.size) * 0.01,
        }
    )
    path = tmp_path / f"big.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    seen = []
    report = ingest_file(
        store, path, project="p", progress=lambda done, total: seen.append((done, total))
    )
    assert report.written.curves_added == 400
    assert report.written.points_added == 200_000
    assert len(seen) > 5
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    total = store.client.query(
        f"SELECT sum(arraySum(arrayMap(v -> v * y_step, y))) FROM {store.db}.curve_samples"
    ).result_rows[0][0]
    assert total == pytest.approx(frame["y"].sum(), rel=1e-12)


def test_parquet_with_missing_metadata_values(store, tmp_path):
    table = pa.table(
        {
            "curve_key": ["A", "A", "B", "B"],
            "x": [0.0, 1.0, 0.0, 1.0],
            "y": [1.0, 2.0, 3.0, 4.0],
            "defect": pa.array([None, None, "overshoot", "overshoot"], pa.string()),
            "result": ["OK", "OK", "NOK", "NOK"],
        }
    )
    pq.write_table(table, tmp_path / "nulls.parquet")
    assert ingest_file(store, tmp_path / "nulls.parquet", project="p").written.curves_added == 2
    defects = store.client.query(
        f"SELECT curve_key, defect FROM {store.db}.curves ORDER BY curve_key"
    ).result_rows
    assert defects == [("A", ""), ("B", "overshoot")]


def test_per_row_metadata_across_chunk_boundaries(store, tmp_path, monkeypatch, snapshot):
    import pipelines.ingest.readers as readers

    monkeypatch.setattr(readers, "_BLOCK", 64 << 10)
    rows = [f"K{i:03d},{j},{j % 7},ST{i % 3},OK\n" for i in range(60) for j in range(300)]
    good = write(tmp_path, "meta_rows.csv", "curve_key,x,y,station,result\n" + "".join(rows))
    assert ingest_file(store, good, project="p").written.curves_added == 60
    stations = store.client.query(
        f"SELECT curve_key, station FROM {store.db}.curves ORDER BY curve_key"
    ).result_rows
    assert stations == [(f"K{i:03d}", f"ST{i % 3}") for i in range(60)]
    before = snapshot(store)
    changed = rows.copy()
    changed[-1] = changed[-1].replace(",ST2,", ",ST9,")  # last row of a curve, far past chunk 1
    bad = write(tmp_path, "meta_rows2.csv", "curve_key,x,y,station,result\n" + "".join(changed))
    with pytest.raises(IngestError, match=r"line 18001 \(data row 18000\), column 'station'"):
        ingest_file(store, bad, project="q")
    assert snapshot(store) == before


def test_missing_files_are_named(store, tmp_path):
    with pytest.raises(IngestError, match=r"nowhere\.csv: no such file"):
        ingest_file(store, tmp_path / "nowhere.csv", project="p")
    good = write(tmp_path, "good.csv", HEADER + GOOD_ROWS)
    with pytest.raises(IngestError, match=r"meta\.csv: no such file"):
        ingest_file(store, good, project="p", metadata=tmp_path / "meta.csv")


def test_blank_lines_keep_line_numbers_true(store, tmp_path):
    lines = GOOD_ROWS.splitlines(keepends=True)
    text = HEADER + lines[0] + "\n" + "".join(lines[1:])
    with pytest.raises(IngestError, match=r"line 3 \(data row 2\): the line is empty"):
        ingest_file(store, write(tmp_path, "blank.csv", text), project="p")


def test_ended_at_defaults_to_started_at(store, tmp_path):
    ingest_file(store, write(tmp_path, "good.csv", HEADER + GOOD_ROWS), project="p")
    rows = store.client.query(f"SELECT started_at = ended_at FROM {store.db}.curves").result_rows
    assert rows == [(1,), (1,)]
