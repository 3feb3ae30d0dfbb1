"""app/markup.py: a value goes through Panel's own renderers and comes out as the same text,
with no element, link, formula or script made of it."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import panel as pn
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.markup import code, text

HOSTILE = [
    '<img src="x" onerror="alert(1)">',
    "<img src=x onerror=alert(1)>",
    '"><svg onload="alert(1)">',
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1)) ![i](http://evil.example/i.png)",
    "<http://evil.example> http://evil.example/a www.evil.example mail@evil.example",
    "**bold** _em_ `code` ~~strike~~ | a | b |",
    "$$\\href{javascript:alert(1)}{x}$$ \\(x\\) \\[y\\]",
    "# heading\n\n- item\n1. item\n> quote\n\n    indented\n---",
    "&lt;img&gt; &amp; &#60;b&#62; &copy;",
    "line-7 Győr 東京 \u200b",
    "\\<b\\> trailing backslash \\",
]


class Parsed(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.text = ""
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text += data


def markdown(source: str) -> str:
    """The HTML Panel's Markdown pane sends to the browser (it escapes it once for the
    transport, the browser unescapes it once)."""
    return html.unescape(pn.pane.Markdown()._transform_object(source)["object"])


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_markdown_is_one_paragraph_of_its_own_text(value):
    parsed = Parsed(markdown(text(value)))
    assert parsed.tags == ["p"]
    assert parsed.text.strip() == value.strip()


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_html_is_its_own_text(value):
    parsed = Parsed(f"<div title='{text(value)}'>{text(value)}</div>")
    assert parsed.tags == ["div"]
    assert parsed.text == value


@given(st.text(st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n\t")))
def test_any_value_stays_text_in_markdown(value):
    parsed = Parsed(markdown(f"Name: {text(value)}."))
    assert parsed.tags == ["p"]
    assert parsed.text.strip() == f"Name: {value}.".strip()


@pytest.mark.parametrize("value", [*HOSTILE, "a`b", "``x``", "`edge`"])
def test_code_spans_and_fences_hold_any_value(value):
    span = Parsed(markdown(f"see {code(value)} here"))
    assert span.tags == ["p", "code"]
    assert " ".join(value.split()) in " ".join(span.text.split())
    block = Parsed(markdown(f"before\n\n{code(value, block='python')}\n\nafter"))
    assert block.tags[:3] == ["p", "pre", "code"] and block.tags[-1] == "p"
    assert set(block.tags) <= {"p", "pre", "code", "div", "span"}  # the highlighter's
    assert block.attributes <= {"class"}
    assert value in block.text


def test_no_markdown_pane_renders_tex():
    """Panel hands $$...$$ in a Markdown pane's HTML to MathJax, which makes \\href links."""
    assert pn.pane.Markdown().disable_math
    assert pn.pane.Alert().disable_math


def test_no_page_asks_for_the_tex_engine():
    """Panel sends Bokeh's MathJax bundle to any page with an HTML pane; app.markup stops it
    (tests/ui/test_xss_browser.py checks every served page)."""
    from bokeh.resources import Resources
    from panel.io.resources import bundle_resources

    bundle = bundle_resources([pn.pane.HTML("x").get_root()], Resources(mode="server"))
    scripts = [str(url) for url in bundle.js_files]
    assert any("bokeh.min.js" in url for url in scripts)
    assert not [url for url in scripts if "mathjax" in url]
