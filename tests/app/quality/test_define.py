"""Defining a feature on the Quality page: an engineer defines force at an x for the process
shown, it is offered and chosen at once, the stored parts get their values in the background
(equal to the slow reference on each part's samples), and its control chart is drawn; a viewer
is refused in words."""

from __future__ import annotations

import time
import uuid

import holoviews as hv
import numpy as np
import pytest

from app.feature_fill import FILLING
from app.quality.define import FeatureForm
from app.quality.page import QualityPage
from app.services import Services
from models.settings import Settings
from models.tables import Role
from pipelines.configured import StoredFeatures
from pipelines.curves import Curves
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from tests.app.people import project_with
from tests.pipelines.features_reference import reference_crossing

pytestmark = pytest.mark.integration
hv.extension("bokeh", logo=False)


@pytest.fixture
def plant(tmp_path):
    services = Services(Settings(home=tmp_path, database=f"t_{uuid.uuid4().hex[:12]}"))
    with services.metadata.sessions() as session:
        people = project_with(session, "demo", {"eve": Role.ENGINEER, "vic": Role.VIEWER})
    store = services.homes.store(services.homes.builtin, project="demo")
    store.write(generate_demo(DemoSpec(curves=300, seed=3)), DatasetSpec("demo", "demo", "d"))
    yield services, people, store
    store.client.close()
    services.close()


def page_for(services, store, who) -> tuple[QualityPage, FeatureForm]:
    curves = Curves(store.client, store.database, projects=("demo",))
    page = QualityPage("demo", curves, StoredFeatures(services.metadata).of("demo"))
    page.define = FeatureForm(services, who, "demo", page)
    return page, page.define


def test_an_engineer_defines_a_feature_and_sees_its_chart(plant):
    services, people, store = plant
    page, form = page_for(services, store, people["eve"])
    process = page.process.value
    rows = page._features
    x_top = float(rows["final_x"].median())
    form.feature_name.value, form.kind.value, form.a.value = (
        "force at mid travel",
        "y_at_x",
        x_top / 2,
    )
    said = form.define()
    assert "is computed for every new part" in said and form.said.alert_type == "success"
    (feature,) = StoredFeatures(services.metadata).of("demo", process)
    assert page.feature.value == feature.column  # offered and chosen at once
    assert "force at mid travel (y where x first reaches" in str(page.feature.options)
    if page.message.visible:  # its values not read yet: the charts' place says why
        assert "is being computed for the stored parts" in page.message.object or (
            "No part of this station" in page.message.object
        )
        assert page.drifts.object == ""  # no "no drift" said of values not there yet
    deadline = time.monotonic() + 60
    while "demo" in FILLING or page._features[feature.column].isna().all():
        assert time.monotonic() < deadline, "the stored parts were not computed"
        time.sleep(0.2)
        page.refresh()  # what the served page does once the fill is done
    station = page.station.value
    page.refresh()
    assert page.feature.value == feature.column and page.station.value == station  # kept
    computed = store.client.query(
        f"SELECT count() FROM {store.db}.curve_feature_values FINAL WHERE feature_id = %(f)s",
        parameters={"f": feature.id},
    ).result_rows[0][0]
    assert computed == len(page._features) > 0  # every part of the process has its value
    values = page._features[["curve_id", feature.column]]
    assert values[feature.column].notna().mean() > 0.8  # NaN: a part that never got there
    curves = Curves(store.client, store.database)
    for cid, value in values.itertuples(index=False):
        curve = curves.curve(int(cid))
        want = reference_crossing(np.asarray(curve.x, float), np.asarray(curve.y, float), x_top / 2)
        np.testing.assert_allclose(value, want, rtol=1e-9, equal_nan=True)
    assert page.plots.objects and not page.message.visible  # the chart is drawn
    assert "force at mid travel" in page.drifts.object  # drifts follow the feature shown
    # A new page offers it too, from the store.
    again, _ = page_for(services, store, people["eve"])
    assert feature.column in again.feature.options.values()


def test_a_viewer_is_refused_in_words(plant):
    services, people, store = plant
    _, form = page_for(services, store, people["vic"])
    form.feature_name.value, form.a.value = "force", 1.0
    said = form.define()
    assert form.said.alert_type == "danger" and "edit_rules" in said.lower().replace(" ", "_")
    assert StoredFeatures(services.metadata).of("demo") == []


def test_a_feature_no_curve_reaches_says_so(plant):
    services, people, store = plant
    page, form = page_for(services, store, people["eve"])
    form.feature_name.value, form.kind.value, form.a.value = "far away", "y_at_x", 1e9
    form.define()
    deadline = time.monotonic() + 60
    while "demo" in FILLING:
        assert time.monotonic() < deadline, "the fill did not end"
        time.sleep(0.2)
    page.refresh()
    assert page.message.visible and not page.plots.objects
    assert "None of their curves reaches where it is measured" in page.message.object
