"""The one way Curvehouse writes CSV for people: cells a spreadsheet would run stay text.

A spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (and, in some, their
full-width forms, or a tab or carriage return in front of them) as a formula, and formulas can
open links or start programs (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``). Anyone can put such
text in a station name, a part serial or a failed sign-in's e-mail field, so every text cell
that starts that way gets a ``'`` in front (OWASP's advice). Numbers are left as they are, also
negative ones and text that is just a number (``"-1.5"``): a spreadsheet reads those as numbers,
never as formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet will show it and not run it: a ``'`` before formula text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """A CSV document with a header row, every cell through :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in header])
    writer.writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()


def frame_csv(frame: pd.DataFrame) -> str:
    """A data frame as CSV (no index), column names and cells through :func:`safe_cell`."""
    safe = frame.map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in frame.columns]
    # "\r\n" as the csv module writes it: a cell holding a carriage return is then quoted.
    return safe.to_csv(index=False, lineterminator="\r\n")
