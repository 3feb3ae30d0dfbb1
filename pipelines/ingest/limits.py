"""How big a file's parts may be: far above any real curve file, far below what stalls a core
or fills memory. Every refusal names its limit.

A long-format file has about 20 known columns and short values (keys, station names, numbers),
so these bounds cost real files nothing; they exist because one small hostile file (a million
columns, one 20 MB value, a Parquet dictionary that decodes to gigabytes) used to hold a core
or a server's memory.
"""

from __future__ import annotations

# Columns in a header or Parquet schema (the format knows about 20).
MAX_COLUMNS = 64
# Bytes in one physical CSV line.
MAX_LINE_BYTES = 1 << 20
# Bytes in one value (a curve key, a station name, a timestamp...).
MAX_FIELD_BYTES = 64 << 10
# Parquet: bytes of the footer (schema and row-group index), rows and declared uncompressed
# bytes per row group, and text one chunk of rows may decode to.
MAX_PARQUET_FOOTER_BYTES = 16 << 20
MAX_ROW_GROUP_ROWS = 16 << 20
MAX_ROW_GROUP_BYTES = 2 << 30
MAX_CHUNK_TEXT_BYTES = 1 << 30
# Columns in the header of a wide file (one pair per curve): Excel's 16,384 columns.
MAX_WIDE_COLUMNS = 16_384
# Bytes of a wide file, which is read whole (its curves run down the whole file).
MAX_WIDE_BYTES = 512 << 20
# Samples a curve needs (a line needs two points).
MIN_POINTS = 2
