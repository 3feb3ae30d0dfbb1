"""The explorer's verdict filter narrows the picture to the parts a rule passed or failed, the
picture may be coloured by verdict, the URL keeps both, and the parts list says which rule
failed a part and why."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.explorer.explorer import CurveExplorer
from pipelines.curves import Curves
from pipelines.render import category_colors
from pipelines.rules import Rule, Scope, Window, judge
from pipelines.rules.runs import RUNS
from pipelines.store import CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

pytestmark = pytest.mark.integration


@pytest.fixture
def judged(engine, store):
    """Demo curves stored with the verdicts of one window rule on their largest process."""
    batches = list(generate_demo(DemoSpec(curves=60, seed=4)))
    process = batches[0].meta["process"].value_counts().idxmax()
    rule = None

    def source(project, processes):
        return [rule] if rule is not None and rule.scope.process in processes else []

    # The window is placed on the curves' own extents, so some pass and some fail.
    curves = Curves(store.client, store.database)
    store.write(batches[:1], DatasetSpec(project="probe", kind="demo", name="p"))
    whole = curves.filter(project="probe", process=process).samples()
    x_max, y_max = float(np.nanmax(whole.x)), float(np.nanmax(whole.y))
    window = Window(0.2 * x_max, 0.6 * x_max, 0, 0.5 * y_max)
    rule = Rule("press-in", Scope("demo", process), window, rule_id=5, version=1)
    store.rules = source
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    verdicts = judge(curves.filter(project="demo"), [rule])
    assert set(verdicts["passed"]) == {True, False}
    return engine.client, store.database, rule, verdicts


def test_the_verdict_filter_narrows_the_picture_and_the_parts_say_why(judged):
    factory, database, rule, verdicts = judged
    asked = []

    def rules_of(project, process):
        asked.append((project, process))
        return [rule] if (project, process) == ("demo", rule.scope.process) else []

    explorer = CurveExplorer(
        client_factory=factory,
        database=database,
        query={"project": "demo", "process": rule.scope.process},
        rules_of=rules_of,
    )
    explorer.wait()
    everything = explorer.plot.image.curves
    assert everything == len(verdicts)
    assert list(explorer.controls.rule.options.values()) == [0, 5]
    # The plot's strokes, the verdict picker and the parts list share one read of the rules.
    assert asked == [("demo", rule.scope.process)]
    failed = verdicts.loc[~verdicts["passed"]]
    # Coloured by the process's rules' verdicts: failed red, passed green, in the URL.
    explorer.state.color_by = "verdict"
    explorer.wait()
    image = explorer.plot.image
    assert image.category_curves == {"failed": len(failed), "passed": everything - len(failed)}
    assert category_colors(image.categories) == {"failed": "#d62728", "passed": "#2ca02c"}
    assert explorer.state.to_query()["color_by"] == "verdict"
    explorer.state.color_by = ""
    explorer.state.verdict = "fail"
    explorer.wait()
    assert explorer.plot.image.curves == len(failed) < everything
    assert explorer.state.to_query()["verdict"] == "fail"
    # The parts of the failed ones, each saying which rule failed it and why.
    explorer.select_box((0, 799, 0, 399))
    explorer.wait()
    table = explorer.parts.table.value
    reasons = dict(zip(failed["curve_id"].astype(int), failed["reason"], strict=True))
    picked = explorer.parts.picked.parts
    assert len(picked) == len(failed)
    assert sorted(picked["verdict"]) == sorted(f"press-in: {r}" for r in reasons.values())
    assert "verdict" in table.columns and table["verdict"].str.startswith("press-in: ").all()
    # Passed: the others; a rule chosen by id gives the same; the URL reopens it.
    explorer.state.param.update(verdict="pass", rule=5)
    explorer.wait()
    assert explorer.plot.image.curves == everything - len(failed)
    query = explorer.state.to_query()
    assert (query["verdict"], query["rule"]) == ("pass", "5")
    # A run of the rule over history: its progress in the sidebar, and once it ended the
    # picture of its verdicts is drawn again.
    gate = threading.Event()

    def open_store() -> CurveStore:
        gate.wait(30)
        return CurveStore(factory(), database)

    run = RUNS.start(rule, open_store)
    explorer.controls._show_runs()
    assert "v1: counting the stored parts to judge" in explorer.controls.runs.object
    assert explorer.controls.run_bar.visible
    redrawn = []
    explorer.state.param.watch(redrawn.append, "verdict", onlychanged=False)
    gate.set()
    assert run.wait(60) and run.state == "done", run.error
    explorer.controls._show_runs()
    assert "judged all" in explorer.controls.runs.object and len(redrawn) == 1
    assert not explorer.controls.run_bar.visible
    explorer.close()
    again = CurveExplorer(client_factory=factory, database=database, query=query, rules_of=rules_of)
    again.wait()
    assert again.plot.image.curves == everything - len(failed)
    again.controls.clear_filters()
    again.wait()
    assert again.plot.image.curves == everything and not again.state.verdict
    again.close()
