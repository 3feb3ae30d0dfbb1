"""A checkbox whose label ticks it when clicked, bound to a boolean parameter both ways.

Bokeh 3.9 draws ``Checkbox`` (Panel's ``pn.widgets.Checkbox``) as an ``<input>`` next to a
``<div>`` holding the label, not inside a ``<label>``: clicking the words does nothing, and the
box has no accessible name. Bokeh's ``CheckboxGroup`` wraps each box and its words in a
``<label>``, so a group of one option is used instead; its list value is the boolean.
"""

from __future__ import annotations

import panel as pn
import param


def labelled_checkbox(parameter: param.Parameter, label: str) -> pn.widgets.CheckBoxGroup:
    """A one-option ``CheckBoxGroup`` named ``label``, ticked exactly when ``parameter`` (a
    ``param.Boolean`` of a live object) is true; ticking it sets the parameter."""
    owner, name = parameter.owner, parameter.name
    box = pn.widgets.CheckBoxGroup(
        options=[label], value=[label] if getattr(owner, name) else [], inline=True
    )

    def to_parameter(event: param.parameterized.Event) -> None:
        setattr(owner, name, bool(event.new))

    def to_box(event: param.parameterized.Event) -> None:
        box.value = [label] if event.new else []

    box.param.watch(to_parameter, "value")
    owner.param.watch(to_box, name)
    return box
