"""Rules tying metadata projects to the curves' ``project`` labels. They need the metadata
session and the stored curves both, so they live here, above ``models``.

A metadata project's name is its curves' ``project`` label: curves imported from the command
line get a project of their own (:func:`adopt_curve_projects`), and a new project may not take
a label that stored curves carry already (:func:`curve_label_in_use`).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from models import accounts
from pipelines.curves import Curves
from pipelines.views import CurveFilter


def adopt_curve_projects(*, session: Session, curves: Curves) -> list[str]:
    """Give every curve ``project`` label among ``curves`` a metadata project (see
    :func:`models.accounts.adopt_projects`); returns the names made. The caller commits."""
    labels = curves.processes_by_project()["project"]
    made = accounts.adopt_projects(session=session, names=[str(label) for label in labels.unique()])
    return [p.name for p in made]


def curve_label_in_use(curves: Curves, name: str) -> bool:
    """Whether curves labelled ``name`` are stored already. A new project must not take such a
    name: it would hand whoever makes it curves they were never given."""
    labelled = replace(curves, where=CurveFilter(), projects=(name,))
    return not labelled.datasets().empty


def unowned_label(name: str) -> str:
    """Why a project cannot take a name that already labels stored curves."""
    return (
        f"Curves labelled {name!r} are stored already, outside any project; the operator gives "
        "them a project (curvehouse serve does at start). Choose another name."
    )
