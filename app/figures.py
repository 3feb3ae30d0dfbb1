"""Figure cards: one number under its name, as Panel's ``Number`` indicator.

``Number`` writes its name and its formatted value into HTML as they are, so the name and the
literal text of a format pass through :func:`~app.markup.text` here, where that markup is
made; the value is a number. A value of None shows as "–".
"""

from __future__ import annotations

import string

import panel as pn

from app.markup import text

# Number writes the name and the value as two <div>s in one container (each with an inline
# style setting size and colour); these rules make them a label and a figure.
TEXT_CSS = """
div > div:first-child {text-transform: uppercase; letter-spacing: .04em;
                       color: #5a6b7f !important;}
div > div:last-child {font-weight: 600; white-space: nowrap;}
"""
FRAME_CSS = """
:host {padding: 6px 10px; border-radius: 6px; background: #f4f7fb; border: 1px solid #dfe6ef;
       min-width: 130px;}
"""
# The Overview's cards: the figure and a note under it, framed together.
CARD_CSS = """
:host {padding: 8px 14px; border-radius: 8px; background: #f4f7fb; border: 1px solid #dfe6ef;
       min-width: 120px;}
"""
NOTE_CSS = "div {font-size: 12px; color: #5a6b7f;}"
INK = "#17324d"


def escaped_format(pattern: str) -> str:
    """``pattern`` (a ``str.format`` pattern with ``{value…}`` fields) with its literal text
    made text: Number puts the formatted result into HTML unescaped."""
    parts = []
    for literal, field, spec, conversion in string.Formatter().parse(pattern):
        parts.append(text(literal).replace("{", "{{").replace("}", "}}"))
        if field is not None:
            conversion = f"!{conversion}" if conversion else ""
            spec = f":{spec}" if spec else ""
            parts.append(f"{{{field}{conversion}{spec}}}")
    return "".join(parts)


def _number(name: str, value: float | None, pattern: str, sizes: tuple[str, str], **params):
    number = pn.indicators.Number(
        label=text(name),
        title_size=sizes[0],
        font_size=sizes[1],
        default_color=INK,
        nan_format="–",
        css_classes=["ch-figure"],
        **params,
    )
    show(number, value, pattern)
    return number


def figure(name: str, value: float | None = None, pattern: str = "{value:,}"):
    """A framed card showing ``value`` formatted with ``pattern`` under ``name``."""
    return _number(name, value, pattern, ("11px", "19px"), stylesheets=[TEXT_CSS, FRAME_CSS])


def noted_figure(name: str, value: float | None, pattern: str, note: str) -> pn.Column:
    """A larger card: ``value`` under ``name``, and a line of smaller text (``note``) under
    it (the Overview's)."""
    number = _number(name, value, pattern, ("12px", "22px"), stylesheets=[TEXT_CSS], margin=0)
    return pn.Column(
        number,
        pn.pane.HTML(f"<div>{text(note)}</div>", margin=0, stylesheets=[NOTE_CSS]),
        stylesheets=[CARD_CSS],
        margin=(5, 10),
    )


def show(number: pn.indicators.Number, value: float | None, pattern: str = "{value:,}") -> None:
    """Change what ``number`` shows, in one update (one message to the browser)."""
    number.param.update(
        value=value, format=escaped_format(pattern) if value is not None else "{value}"
    )
