"""A card whose contents go on the page when it is first opened.

Folded, a Panel card still has every model of its contents made on the server, sent, and laid
out (hidden) in the browser. A card most people never open on a page load is made with its
header only; the contents follow on the first opening.
"""

from __future__ import annotations

from typing import Any

import panel as pn


def folded_card(*objects: Any, collapsed: bool, **params: Any) -> pn.Card:
    """A ``pn.Card`` of ``objects``; while ``collapsed`` and never opened, with none of them."""
    card = pn.Card(*([] if collapsed else objects), collapsed=collapsed, **params)
    if collapsed:

        def unfold(event: Any) -> None:
            if not event.new:
                card.param.unwatch(watcher)
                card.objects = list(objects)

        watcher = card.param.watch(unfold, "collapsed")
    return card
