"""A checkbox bound to a boolean parameter both ways, whose label is a <label>."""

import param
from bokeh.models import CheckboxGroup

from app.checkbox import labelled_checkbox


class Drawing(param.Parameterized):
    envelope = param.Boolean(default=False)


def test_the_box_and_the_parameter_follow_each_other():
    drawing = Drawing()
    box = labelled_checkbox(drawing.param.envelope, "Percentile envelope")
    assert box.value == [] and box.options == ["Percentile envelope"]
    box.value = ["Percentile envelope"]  # ticked in the page
    assert drawing.envelope is True
    drawing.envelope = False  # a link or a reset
    assert box.value == []
    assert labelled_checkbox(Drawing(envelope=True).param.envelope, "x").value == ["x"]


def test_it_is_drawn_as_bokehs_labelled_checkbox_group():
    # CheckboxGroup puts each box and its words in one <label> (Checkbox does not, in 3.9).
    model = labelled_checkbox(Drawing().param.envelope, "Percentile envelope").get_root()
    assert isinstance(model, CheckboxGroup) and model.labels == ["Percentile envelope"]
