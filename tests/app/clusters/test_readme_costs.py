"""The README's cost table is what the wizard says for the same inputs (issue 16: the README said
$112.96 for the Development example, the wizard $110.66, because the wizard had no data transfer).

The rows are read from the README itself, so a figure or an input changed on one side only fails
here. Each row's stated inputs are typed into the wizard's state, and its estimate is compared
with the figure the row states, to the cent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.clusters.wizard_state import WizardState
from models.cluster_types import load_cluster_types

README = Path(__file__).resolve().parents[3] / "README.md"
HOURS_PER_MONTH = 730  # "always on", as rates.json's hours_per_month says
ROW = re.compile(r"^\| (?P<name>[^|]+?) \| (?P<inputs>[^|]+?) \| (?P<figure>\$[\d,]+\.\d\d) \|")


def readme_rows() -> list[dict[str, str]]:
    """The cost table's rows: a cluster type's name, its stated inputs and the stated figure."""
    names = {t.name for t in load_cluster_types().values()}
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        found = ROW.match(line)
        if found and found["name"] in names:
            rows.append(found.groupdict())
    return rows


def stated(inputs: str) -> dict[str, float]:
    """The inputs a row states, e.g. ``1 × 4 vCPU / 16 GiB, 8 h × 22 workdays, 0.1 TB``, and
    its data transfer when it states one (``20 GB egress``)."""
    size = re.search(r"(\d+) × (\d+) vCPU / (\d+) GiB", inputs)
    shift = re.search(r"(\d+)-?\s?h\b[^,]*× (\d+) (?:work)?days", inputs)
    storage = re.search(r"([\d.]+) TB", inputs)
    assert size and storage and (shift or "always on" in inputs), inputs
    values = {
        "nodes": int(size[1]),
        "vcpu": int(size[2]),
        "memory": int(size[3]),
        "hours": int(shift[1]) * int(shift[2]) if shift else HOURS_PER_MONTH,
        "storage": float(storage[1]),
    }
    egress = re.search(r"([\d,.]+) GB (?:of )?(?:egress|data transfer)", inputs)
    if egress:
        values["egress"] = float(egress[1].replace(",", ""))
    return values


def test_the_readme_states_a_figure_for_every_cluster_type():
    assert sorted(row["name"] for row in readme_rows()) == sorted(
        t.name for t in load_cluster_types().values()
    )


@pytest.mark.parametrize("row", readme_rows(), ids=lambda row: row["name"])
def test_the_wizard_gives_the_readme_figure_for_the_readme_inputs(row):
    key = next(k for k, t in load_cluster_types().items() if t.name == row["name"])
    state = WizardState(cluster_type=key)
    inputs = stated(row["inputs"])
    # What the wizard opens on for the type is what the README priced ...
    assert {name: state.param.values()[name] for name in inputs} == inputs
    # ... and typing the README's inputs gives the README's figure.
    state.param.update(**inputs)
    assert f"${state.estimate().total:,.2f}" == row["figure"]


def test_a_row_is_read_with_its_data_transfer_when_it_states_one():
    assert stated("3 × 8 vCPU / 64 GiB, one 8-h shift × 22 days, 1 TB, 100 GB egress") == {
        "nodes": 3,
        "vcpu": 8,
        "memory": 64,
        "hours": 176,
        "storage": 1.0,
        "egress": 100.0,
    }
    assert stated("5 × 16 vCPU / 128 GiB, always on, 5 TB")["hours"] == HOURS_PER_MONTH
