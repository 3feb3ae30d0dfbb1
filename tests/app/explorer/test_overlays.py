"""What the explorer draws over the density and says about it, against a real engine: the
selection's sentence goes with its table, the envelope is of one program, and the legend names
every overlay."""

import pandas as pd
import pytest

from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.explorer import CurveExplorer
from app.explorer.parts import ASK
from app.markup import text
from pipelines.store import DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo

# Logic above the engine's reading: the node runs the reading and SQL tests elsewhere.
pytestmark = [pytest.mark.integration, pytest.mark.embedded_only]

EVERYTHING = (0, PLOT_WIDTH - 1, 0, PLOT_HEIGHT - 1)


@pytest.fixture
def demo(engine, store):
    batches = list(generate_demo(DemoSpec(curves=90, seed=4)))
    store.write(batches, DatasetSpec(project="demo", kind="demo", name="d"))
    meta = pd.concat([b.meta for b in batches], ignore_index=True)
    return engine.client, store.database, meta


def open_explorer(demo, **query) -> CurveExplorer:
    factory, database, _ = demo
    explorer = CurveExplorer(client_factory=factory, database=database, query=query or None)
    explorer.wait()
    return explorer


def selected(explorer: CurveExplorer) -> None:
    explorer.select_box(EVERYTHING)
    explorer.wait()
    assert "pass through the selection" in explorer.parts.title
    assert explorer.plot.highlighted


@pytest.mark.parametrize("change", ["color_by", "process"])
def test_a_new_colour_by_or_process_clears_the_selection_sentence(demo, change):
    _, _, meta = demo
    explorer = open_explorer(demo)
    selected(explorer)
    if change == "color_by":
        explorer.state.color_by = "station"
    else:
        others = sorted(set(meta.process) - {explorer.state.process})
        explorer.state.process = others[0]
    explorer.wait()
    assert explorer.parts.table.value.empty
    assert explorer.parts.title == ASK  # not "36 parts pass through the selection…"
    assert "Selected parts" not in explorer.plot.legend.object


def programs_of(meta: pd.DataFrame, process: str) -> pd.Series:
    return meta[meta.process == process].program.value_counts()


def test_an_envelope_across_programs_is_refused_with_a_reason(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    programs = programs_of(meta, explorer.state.process)
    assert len(programs) > 1  # the demo's process is built in several programs
    explorer.state.envelope = True
    explorer.wait()
    assert explorer.plot.band is None
    assert "Choose one program to draw its envelope" in explorer.plot.envelope_note
    for program in programs.index:
        assert program in explorer.plot.envelope_note
    assert text(explorer.plot.envelope_note) in explorer.plot.legend.object
    assert explorer.plot.legend.visible
    assert "choose one program" in explorer.plot.status


def test_an_envelope_of_one_program_is_drawn_and_named_in_the_legend(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    program = programs_of(meta, explorer.state.process).idxmax()
    explorer.state.param.update(program=[program], envelope=True)
    explorer.wait()
    band = explorer.plot.band
    assert band is not None and len(band) > 10
    assert explorer.plot.envelope_note == ""
    legend = explorer.plot.legend.object
    median = f"Median of {int(band['curves'].max()):,} curves ({program})"
    for label in (median, "25–75 % band", "5–95 % band"):
        assert text(label) in legend
    explorer.state.envelope = False
    explorer.wait()
    assert "Median" not in explorer.plot.legend.object
    assert not explorer.plot.legend.visible  # nothing left to name (no categories)


def test_the_reference_part_and_the_selected_parts_are_in_the_legend(demo):
    _, _, meta = demo
    explorer = open_explorer(demo)
    serial = meta[meta.process == explorer.state.process].part_serial.iloc[0]
    explorer.state.reference = serial
    explorer.wait()
    assert text(f"Reference part {serial}") in explorer.plot.legend.object
    selected(explorer)
    newest = f"Selected parts: the newest {len(explorer.plot.highlighted)}"
    assert text(newest) in explorer.plot.legend.object
    assert explorer.plot.legend.visible
