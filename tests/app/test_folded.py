"""A folded card's contents go on the page at its first opening."""

from __future__ import annotations

import panel as pn

from app.folded import folded_card


def test_a_folded_card_is_empty_until_first_opened_then_keeps_its_contents():
    words, button = pn.pane.Markdown("words"), pn.widgets.Button(label="go")
    card = folded_card(words, button, collapsed=True, title="More")
    assert card.objects == [] and card.title == "More"
    card.collapsed = False
    assert card.objects == [words, button]
    card.collapsed = True  # folded again: the contents stay, only hidden
    assert card.objects == [words, button]


def test_an_open_card_has_its_contents_at_once():
    words = pn.pane.Markdown("words")
    assert folded_card(words, collapsed=False).objects == [words]
