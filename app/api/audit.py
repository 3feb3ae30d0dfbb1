"""A project's audit trail: what was done to it, its members, datasets and clusters, by whom.

Events reference their target by type and id (they outlive what they describe), so a project's
trail is its own events plus those of every cluster it ever had.
"""

from __future__ import annotations

import json

from app.api.handler import Call, Raw
from app.api.registry import API
from app.api.schemas import AuditOut, AuditQuery, Page
from app.api.scope import page_of, project_in
from models.access import Action
from models.audit import project_trail
from models.csv_safe import csv_text
from models.tables import AuditEvent

CSV_COLUMNS = ("id", "at", "actor", "action", "target_type", "target_id", "ip", "detail")


def audit_out(event: AuditEvent) -> AuditOut:
    return AuditOut(
        id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        target_type=event.target_type,
        target_id=event.target_id,
        detail=event.detail or {},
        ip=event.ip,
    )


def _csv(page: Page[AuditOut]) -> bytes:
    rows = []
    for event in page.items:
        row = event.model_dump(mode="json")
        row["detail"] = json.dumps(row["detail"], sort_keys=True)
        rows.append([row[c] for c in CSV_COLUMNS])
    return csv_text(CSV_COLUMNS, rows).encode("utf-8")


@API.route(
    "GET",
    "/api/projects/{project_id}/audit",
    "The project's audit trail, newest first; format=csv for a spreadsheet",
    query=AuditQuery,
    response=Page[AuditOut],
    media=("text/csv",),
    permission=Action.VIEW_AUDIT,
    tag="audit",
)
def list_audit(call: Call) -> Page[AuditOut] | Raw:
    query: AuditQuery = call.query
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW_AUDIT)
        events = project_trail(project.id, query.action)
        page = page_of(session, events, query, audit_out)
    if query.format == "csv":
        return Raw(_csv(page), "text/csv; charset=utf-8", f"audit-project-{project.id}.csv")
    return page
