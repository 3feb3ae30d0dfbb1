"""A part of a project: the curves one serial left at its stations, with their key values.

``GET /api/projects/{project_id}/parts/{serial}`` reads through
:meth:`pipelines.curves.Curves.part` on the project's home, kept inside that project: a project
the caller has no role in is 404, as everywhere. The serial is the exact ``part_serial``,
percent-encoded in the path (``A%2F1`` for ``A/1``).
"""

from __future__ import annotations

import math

from app.api.curves import TAG, _curve_row, _curves, _project, step_decimals
from app.api.errors import invalid, not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import CurveOut, PartCurveOut, PartOut
from models.access import Action
from pipelines.parts import work_unit

MAX_SERIAL = 200


def _at(value: float, step: float) -> float | None:
    """A key value at ``step``'s decimals (see :func:`~app.api.curves.step_decimals`), None
    when there is none."""
    value = float(value)
    return round(value, step_decimals(step)) if math.isfinite(value) else None


@API.route(
    "GET",
    "/api/projects/{project_id}/parts/{serial}",
    "A part: its curves at every station, results, defects and key values",
    response=PartOut,
    permission=Action.VIEW,
    tag=TAG,
    description="The part is the exact serial within the project. Key values are computed "
    "from the stored samples: peak y and the x where it was first reached, the last sample's "
    "x and y, and the work (area under the curve). 404 names the serial when the project has "
    "no part with it.",
)
def get_part(call: Call) -> PartOut:
    project_id, name = _project(call, Action.VIEW)
    serial = str(call.path["serial"])
    if len(serial) > MAX_SERIAL or not serial.isprintable() or not serial.strip():
        raise invalid(f"A serial is 1 to {MAX_SERIAL} printable characters.")
    part = _curves(call.services, name).part(serial)
    if not part.found:
        raise not_found(f"There is no part with serial {serial!r} in project {name}.")
    curves = []
    for row in part.curves.to_dict("records"):
        x_step, y_step = float(row["x_step"]), float(row["y_step"])
        keys = {
            "peak_x": _at(row["peak_x"], x_step),
            "final_x": _at(row["final_x"], x_step),
            "peak_y": _at(row["peak_y"], y_step),
            "final_y": _at(row["final_y"], y_step),
            "work": _at(row["work"], x_step * y_step / 2),
            "work_unit": work_unit(row["x_unit"], row["y_unit"]),
        }
        shown = {k: row[k] for k in (*CurveOut.model_fields, "x_step", "y_step")}
        shown["started_at"] = shown["started_at"].to_pydatetime()
        shown["ended_at"] = shown["ended_at"].to_pydatetime()
        axes = {k: row[k] for k in ("x_name", "x_unit", "y_name", "y_unit")}
        curves.append(PartCurveOut(**_curve_row(shown), **axes, **keys))
    return PartOut(
        project_id=project_id, project=name, serial=serial, result=part.result, curves=curves
    )
