"""Hostile files: too wide, too long a line or value, control characters. Each is refused
quickly, with the file, line and column, and leaves the store as it was."""

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import IngestError, ingest_file, limits
from pipelines.ingest.readers import check_columns
from tests.pipelines.ingest.test_ingest import GOOD_ROWS, HEADER, write

# Refusals happen while reading the file, before any SQL: the node adds nothing here.
pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]

# The refusals below take milliseconds; before the fix a 40k-column header took about 30 s
# and a 1,000,000-column one did not finish in 10 minutes. The bound only has to tell those
# apart on a busy 2-core machine.
QUICK = 5.0


def refused(store, path, message, **kwargs):
    started = time.perf_counter()
    with pytest.raises(IngestError, match=message) as caught:
        ingest_file(store, path, project="p", **kwargs)
    seconds = time.perf_counter() - started
    assert seconds < QUICK, f"took {seconds:.1f} s to refuse"
    assert len(str(caught.value)) < 2_000  # a message, not the file echoed back
    return caught.value


def test_a_40k_column_header_is_refused_quickly(store, tmp_path, snapshot):
    before = snapshot(store)
    header = ",".join(f"c{i}" for i in range(40_000))
    path = write(tmp_path, "wide.csv", header + "\n" + ",".join("1" * 40_000) + "\n")
    refused(
        store,
        path,
        r"wide\.csv, line 1 \(header\): the header has 40,000 columns; an import takes at "
        rf"most {limits.MAX_COLUMNS}",
    )
    assert snapshot(store) == before


def test_a_wide_header_of_known_names_is_refused_quickly(store, tmp_path):
    # Every name known and repeated: the repeated-column check was the quadratic one.
    header = ",".join(["curve_key", "x", "y"] + ["station"] * 40_000)
    refused(store, write(tmp_path, "repeat.csv", header + "\n"), r"40,003 columns")


def test_a_million_columns_in_ten_megabytes_is_refused_quickly(store, tmp_path):
    header = ",".join(f"c{i}" for i in range(1_000_000))
    path = write(tmp_path, "million.csv", header + "\n")
    assert path.stat().st_size > 6_000_000
    refused(
        store,
        path,
        r"million\.csv, line 1 \(header\): the line is longer than 1,048,576 bytes",
    )


def test_column_checks_are_linear():
    # Straight at the check, as the metadata reader and Parquet use it: 200k names, every
    # one repeated, must not take quadratic time.
    names = [f"c{i % 100_000}" for i in range(200_000)]
    started = time.perf_counter()
    with pytest.raises(IngestError, match="200,000 columns"):
        check_columns(Path("names.csv"), names, csv=True)
    assert time.perf_counter() - started < QUICK


def test_a_twenty_megabyte_value_names_its_line(store, tmp_path, snapshot):
    ingest_file(store, write(tmp_path, "base.csv", HEADER + GOOD_ROWS), project="p")
    before = snapshot(store)
    rows = GOOD_ROWS.replace("P-2,0.000,0.15,ST010", "P-2,0.000,0.15," + "S" * (20 << 20), 1)
    refused(
        store,
        write(tmp_path, "huge.csv", HEADER + rows),
        r"huge\.csv, line 5 \(data row 4\): the line is longer than 1,048,576 bytes",
    )
    assert snapshot(store) == before


def test_a_long_value_on_a_short_enough_line_names_line_and_column(store, tmp_path):
    rows = GOOD_ROWS.replace("P-2,0.000,0.15,ST010", "P-2,0.000,0.15," + "S" * 200_000, 1)
    refused(
        store,
        write(tmp_path, "long.csv", HEADER + rows),
        r"long\.csv, line 5 \(data row 4\), column 'station': the value is 200,000 bytes "
        rf"long; a value may have at most {limits.MAX_FIELD_BYTES:,} bytes",
    )


def test_a_long_quoted_value_over_many_lines_is_refused(store, tmp_path, monkeypatch):
    # Short physical lines, one huge quoted value across them, straddling Arrow's blocks: the
    # line scan cannot see it, and Python's csv module (used to locate errors) has a field
    # limit of its own, which used to escape as a traceback.
    import pipelines.ingest.readers as readers

    monkeypatch.setattr(readers, "_BLOCK", 64 << 10)
    value = '"' + ("S" * 1000 + "\n") * 2_000 + '"'
    rows = GOOD_ROWS.replace("P-2,0.000,0.15,ST010", "P-2,0.000,0.15," + value, 1)
    error = refused(store, write(tmp_path, "quoted.csv", HEADER + rows), r"quoted\.csv, line ")
    assert "longer than" in str(error) or "bytes long" in str(error)


def test_a_long_header_name_is_refused(store, tmp_path):
    header = "curve_key,x,y," + "s" * 300_000
    refused(store, write(tmp_path, "name.csv", header + "\n"), r"name\.csv, line 1 \(header\)")


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f", "\n", "\r"])
def test_control_characters_in_text_are_refused(store, tmp_path, snapshot, character):
    before = snapshot(store)
    text = HEADER + GOOD_ROWS.replace("ST010,NOK", f'"ST{character}10",NOK')
    refused(
        store,
        write(tmp_path, "ctl.csv", text),
        r"ctl\.csv, line 5 \(data row 4\), column 'station': the value holds a control "
        rf"character \(0x{ord(character):02x}\)",
    )
    assert snapshot(store) == before


def test_a_tab_in_text_is_kept(store, tmp_path):
    text = HEADER + GOOD_ROWS.replace("ST010", '"ST\t10"')
    assert ingest_file(store, write(tmp_path, "tab.csv", text), project="p").written.curves_added


def test_nul_in_a_curve_key_is_refused(store, tmp_path):
    refused(
        store,
        write(tmp_path, "key.csv", "curve_key,x,y\nA\x00B,0,1\nA\x00B,1,2\n"),
        r"key\.csv, line 2 \(data row 1\), column 'curve_key': the value holds a control "
        r"character \(0x00\)",
    )


def test_nul_in_a_metadata_file_is_refused(store, tmp_path, snapshot):
    samples = write(tmp_path, "s.csv", "curve_key,x,y\nA,0,1\nA,1,2\n")
    before = snapshot(store)
    meta = write(tmp_path, "m.csv", "curve_key,station\nA,S\x001\n")
    refused(
        store,
        samples,
        r"m\.csv, line 2 \(data row 1\), column 'station': the value holds a control",
        metadata=meta,
    )
    wide = write(tmp_path, "wide_m.csv", ",".join(["curve_key"] + ["station"] * 40_000) + "\n")
    refused(store, samples, r"wide_m\.csv, line 1 \(header\): the header has 40,001", metadata=wide)
    assert snapshot(store) == before


def test_parquet_text_is_checked_like_csv(store, tmp_path, snapshot):
    before = snapshot(store)
    table = pa.table(
        {
            "curve_key": ["A", "A", "B", "B"],
            "x": [0.0, 1.0, 0.0, 1.0],
            "y": [1.0, 2.0, 3.0, 4.0],
            "station": ["S1", "S1", "S\x002", "S\x002"],
        }
    )
    pq.write_table(table, tmp_path / "nul.parquet")
    refused(
        store,
        tmp_path / "nul.parquet",
        r"nul\.parquet, row 3, column 'station': the value holds a control character \(0x00\)",
    )
    long = table.set_column(3, "station", pa.array(["S1", "S1", "S" * 70_000, "S" * 70_000]))
    pq.write_table(long, tmp_path / "long.parquet")
    refused(store, tmp_path / "long.parquet", r"long\.parquet, row 3, column 'station': the value")
    assert snapshot(store) == before


def test_a_wide_parquet_file_is_refused(store, tmp_path):
    columns = {"curve_key": ["A", "A"], "x": [0.0, 1.0], "y": [1.0, 2.0]}
    columns.update({f"c{i}": [0, 0] for i in range(5_000)})
    pq.write_table(pa.table(columns), tmp_path / "wide.parquet")
    refused(
        store,
        tmp_path / "wide.parquet",
        rf"wide\.parquet: the file has 5,003 columns; an import takes at most {limits.MAX_COLUMNS}",
    )


def test_a_parquet_row_group_beyond_the_limit_is_refused(store, tmp_path, monkeypatch):
    # Declared sizes are checked before anything is decoded: a small file can declare (and, with
    # run-length encoding, hold) far more rows than memory.
    monkeypatch.setattr(limits, "MAX_ROW_GROUP_ROWS", 1_000)
    table = pa.table({"curve_key": ["A"] * 3_000, "x": [0.0] * 3_000, "y": [1.0] * 3_000})
    pq.write_table(table, tmp_path / "rows.parquet", row_group_size=3_000)
    refused(
        store,
        tmp_path / "rows.parquet",
        r"rows\.parquet: row group 1 has 3,000 rows; a row group may have at most 1,000",
    )


def test_a_repeated_long_parquet_value_does_not_blow_up(store, tmp_path, monkeypatch):
    # A dictionary page holds one long value once; decoded, it is repeated on every row, so a
    # small file can decode to far more text than memory. (Limit lowered to keep the test light:
    # before the fix this decodes 300 MB.)
    monkeypatch.setattr(limits, "MAX_CHUNK_TEXT_BYTES", 64 << 20)
    rows = 5_000
    table = pa.table(
        {
            "curve_key": pa.array(["A"] * rows).dictionary_encode(),
            "x": pa.array(range(rows), pa.float64()),
            "y": [1.0] * rows,
            "station": pa.array(["S" * 60_000] * rows).dictionary_encode(),
        }
    )
    pq.write_table(table, tmp_path / "bomb.parquet")
    assert (tmp_path / "bomb.parquet").stat().st_size < 2_000_000
    refused(store, tmp_path / "bomb.parquet", r"bomb\.parquet, row 1, column 'station'")
