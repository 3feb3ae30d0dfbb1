"""Values that came from data or from a person reach the pages as text, never as markup.

Curve metadata, names of projects, teams, clusters and tokens, e-mail addresses, audit
details, error messages and URL parameters are all written by someone other than the viewer.
Every page builds HTML and Markdown from them through :func:`text` (and :func:`code` inside
code spans and fences), at the point where the markup is made. Widgets that render their
options or cells as text (Select, Tabulator cells, Button labels, Bokeh titles and axis
labels) take raw values; MultiChoice options and Tabulator group headers are HTML, so they get
``text`` too.

Importing this module also turns TeX off in Markdown panes (Alert included): Panel would hand
``$$\\href{javascript:…}{…}$$`` in a value to MathJax, which makes a link of it. No page shows
formulas, so no page loads Bokeh's MathJax bundle either (HTML panes then show TeX as text).
"""

from __future__ import annotations

import re

import panel as pn

# Characters HTML (& < > " ') or Markdown give a meaning (emphasis, links, code, tables,
# headings, lists, escapes, TeX delimiters; dots, colons, slashes and @, of which its linkify
# makes links), and line breaks and tabs, which start new Markdown blocks. Each becomes a
# numeric character reference: HTML shows it as the character, and Markdown treats a
# reference as text, never as syntax.
_SPECIAL = re.compile(r"[&<>\"'`*_\[\]()#+\-.!|~$\\:/@\n\r\t]")

pn.pane.Markdown.disable_math = True


def _no_tex(roots) -> bool:
    return False


# Panel sends Bokeh's MathJax bundle (1.8 MB, the largest script of a page) to any page with an
# HTML pane, every page here. Without it the browser's start of a page took about 0.13 s less
# and a shared link's picture came about 0.24 s sooner (eight opens each, December 7). A
# private hook of Panel 1.x: tests/ui/test_xss_browser.py fails if a page loads the bundle.
if hasattr(pn.io.resources, "_panel_use_mathjax"):
    pn.io.resources._panel_use_mathjax = _no_tex


def text(value: object) -> str:
    """``value`` as text for HTML and Markdown alike (element content, a quoted attribute,
    a Markdown paragraph or table cell): shown exactly as it is, never interpreted.

    Not for code spans or fences, where references show literally: use :func:`code`."""
    return _SPECIAL.sub(lambda m: f"&#{ord(m[0])};", str(value))


def code(value: object, *, block: str | None = None) -> str:
    """``value`` as a Markdown code span, or a fenced block when ``block`` names its
    language ("" for none). The fence is longer than any backtick run in ``value``, so the
    value cannot close it and go on as Markdown or HTML."""
    value = str(value)
    if block is None:  # a span ends at a blank line; it shows line breaks as spaces anyway
        value = value.replace("\r", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    if block is None:
        ticks = "`" * (longest + 1)
        pad = " " if value.startswith("`") or value.endswith("`") else ""
        return f"{ticks}{pad}{value}{pad}{ticks}"
    fence = "`" * max(3, longest + 1)
    return f"{fence}{block}\n{value}\n{fence}"
