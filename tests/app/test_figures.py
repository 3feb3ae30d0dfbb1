"""Figure cards: Panel's Number writes its name and format into HTML, so both are made text."""

import html

import panel as pn

from app.figures import escaped_format, figure, noted_figure, show

HOSTILE = '<img src="x" onerror="alert(1)">'


def written(number: pn.indicators.Number) -> str:
    """The HTML the browser gets for ``number`` (Number sends it HTML-escaped once more)."""
    return html.unescape(number._process_param_change({"value": number.value})["text"])


def test_the_value_is_formatted_and_none_is_a_dash():
    number = figure("Query time", 72.4, "{value:.0f} ms")
    assert ">72 ms<" in written(number)
    show(number, None, "{value:.1%}")
    assert ">–<" in written(number)
    show(number, 0.075, "{value:.1%}")
    assert ">7.5%<" in written(number)


def test_names_and_the_literal_text_of_formats_are_text():
    number = figure(HOSTILE, 3, HOSTILE + " {value:,} {{braces}}")
    markup = written(number)
    assert "<img" not in markup
    assert html.unescape(markup).count(HOSTILE) == 2  # shown as it is, name and format
    assert "3 {braces}" in html.unescape(markup)


def test_escaped_format_keeps_fields_and_specs():
    assert escaped_format("{value:,.1f} B/pt") == "{value:,.1f} B&#47;pt"
    assert escaped_format("{value!r}") == "{value!r}"


def test_a_noted_figure_holds_the_number_and_its_note_as_text():
    card = noted_figure("Curves", 600, "{value:,}", HOSTILE)
    (number,) = card.select(pn.indicators.Number)
    (note,) = card.select(pn.pane.HTML)
    assert ">600<" in written(number)
    assert "<img" not in note.object and html.unescape(note.object).endswith(HOSTILE + "</div>")
