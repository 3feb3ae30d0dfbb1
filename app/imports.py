"""One import of a staged upload into a project: the one code path behind the REST API's
``POST /api/projects/{id}/datasets`` and the Projects page's drop zone.

It checks the role (``import_data``) at the moment of import, resolves the project's home,
imports all or nothing (:func:`pipelines.ingest.ingest_file`), removes the staged file's folder
whatever happens, writes the one ``dataset.import`` audit row, and has the server hold the
changed curves in memory again. A file that cannot be read
raises :class:`ImportRefused` whose message names the file, line and column; the API answers
it as a 422, the page shows it as it is.
"""

from __future__ import annotations

import pyarrow as pa

from app.api.scope import home_store
from app.api.uploads import Upload, staged
from app.services import Services
from models.access import Action, NotFound, Principal, require
from models.audit import audit
from models.tables import Project
from pipelines.ingest import IngestReport, ingest_file
from pipelines.ingest.run import ByteProgress, CurveProgress
from pipelines.store import ImportConflictError


class ImportRefused(ValueError):
    """The file cannot be imported as it is; nothing was stored."""


def import_upload(
    *,
    services: Services,
    who: Principal,
    project_id: int,
    upload: Upload,
    ip: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    decimal: str | None = None,
    progress: ByteProgress | None = None,
    curve_progress: CurveProgress | None = None,
) -> IngestReport:
    """Import ``upload`` into the project ``project_id`` as ``who``; the report says what was
    stored, or that nothing new was. Raises :class:`~models.access.NotFound` or
    :class:`~models.access.Forbidden` without the role, :class:`ImportRefused` for a file
    that cannot be read, and the store's and homes' own errors (a conflicting import, a move
    being checked, an unreachable home). The staged folder is gone afterwards in every case.
    ``encoding``, ``delimiter`` and ``decimal`` say how a CSV is written (see
    :func:`~pipelines.ingest.ingest_file`)."""
    with staged(upload) as path:
        with services.metadata.sessions() as session:
            require(session, who, project_id, Action.IMPORT_DATA)
            project = session.get(Project, project_id)
            if project is None:  # the operator needs no role, but the project must exist
                raise NotFound(f"There is no project {project_id}.")
            name = project.name
        home = services.homes.for_writing(name)
        try:
            report = ingest_file(
                home_store(services, home, project=name),
                path,
                project=name,
                encoding=encoding,
                delimiter=delimiter,
                decimal=decimal,
                progress=progress,
                curve_progress=curve_progress,
            )
        except ImportConflictError:
            raise
        except (ValueError, pa.ArrowException) as exc:  # IngestError, and Arrow on junk
            raise ImportRefused(f"{upload.label}: {exc}") from None
    written = report.written
    with services.metadata.sessions() as session:
        audit(
            session,
            who.label,
            "dataset.import",
            "project",
            project_id,
            ip=ip,
            name=upload.label,
            dataset=written.dataset_id or report.already_imported,
            curves=written.curves_added,
            skipped=written.curves_skipped,
        )
        session.commit()
    if home.builtin and written.curves_added:  # the held curves are stale: load them anew
        services.warm_explorer()
    return report
