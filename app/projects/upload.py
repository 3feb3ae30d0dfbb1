"""Drop a CSV or Parquet file on a project: upload with progress, import off the UI thread
with progress, and the API's checks and messages.

The browser sends the file in chunks (Panel's ``FileDropper``, FilePond underneath, which
shows the upload's progress); at most ``CURVEHOUSE_UPLOAD_MB``, the API's limit, which the
server holds to as well (:class:`BoundedDropper`). Any file type is taken, as browsers give
Parquet no type: the kind is read from the name, as the API does. A CSV's encoding, separator
and decimal mark may be chosen; by default the latter two are read from the file. The file is
then staged like an API upload (:func:`app.api.uploads.stage`) and imported by
:func:`app.imports.import_upload`, the API's own code path: the role check, all or nothing,
the staged folder removed afterwards (also on failure), one audit row. The import runs in the
process's import executor, shared with the API (``Services.imports``), at most
``CURVEHOUSE_IMPORTS_PER_PERSON`` per person at once across both; the page reads its
progress (bytes read, curves staged) every :data:`POLL_MS` while it runs.

Only people whose role allows ``import_data`` (engineer or higher, as for the API) see the
drop zone; others are told whom to ask.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import ClassVar

import panel as pn
import param
import sqlalchemy as sa

from app.api.errors import ApiError
from app.api.uploads import MB, stage, too_large
from app.imports import ImportRefused, import_upload
from app.markup import text
from app.services import Services
from app.ticks import every
from models.access import LEAST_ROLE, RANK, AccessError, Action, NotFound, Principal, allows
from models.tables import ProjectMember, Role, TeamMember, User
from models.wording import counted
from pipelines.homes import ProjectMoving
from pipelines.ingest import IngestReport
from pipelines.store import ImportConflictError
from providers.errors import ProviderError

log = logging.getLogger(__name__)

POLL_MS = 300
# Failures whose message is written for the person importing (the API's 4xx/503 answers).
SAID = (ImportRefused, AccessError, NotFound, ImportConflictError, ProjectMoving, ProviderError)
FORMATS = (
    "CSV or Parquet, one sample per row: `curve_key`, `x`, `y` and optional per-curve "
    "columns (`station`, `result`, `started_at`, …). CSV may be `,`-separated with decimal "
    "points or `;`-separated with decimal commas (Excel in German or French); results may be "
    "written OK/NOK, IO/NIO or i.O./n.i.O. A CSV may instead hold one column pair per curve: "
    "`<curve>_x`, `<curve>_y`. All or nothing: a file with an error stores nothing, and the "
    "message names its line and column."
)

# How a CSV is read: labels shown -> values given to the import (None: read from the file).
ENCODINGS = {"UTF-8": "utf-8", "Windows-1252 (Excel's CSV in Western Europe)": "cp1252"}
SEPARATORS = {"read from the header": None, "; (semicolon)": ";", ", (comma)": ","}
DECIMALS = {"read from the numbers": None, ", (comma)": ",", ". (point)": "."}


class BoundedDropper(pn.widgets.FileDropper):
    """A ``FileDropper`` that holds at most ``limit`` bytes of unfinished uploads: the browser
    keeps to ``max_file_size``, but a client that does not would otherwise fill the server's
    memory chunk by chunk. A file that would pass the limit is dropped and named in
    ``refused``."""

    limit = param.Integer(default=None, allow_None=True, doc="bytes held at most (None: any)")
    refused = param.String(default="", doc="the last file dropped for passing the limit")

    # Server-side only: never sent to the browser's model.
    _rename: ClassVar[dict] = {**pn.widgets.FileDropper._rename, "limit": None, "refused": None}

    def _process_event(self, event) -> None:
        data = event.data
        if event.event_name == "upload_event" and self.limit is not None:
            name, first = data["name"], data["chunk"] == 1
            if not first and name not in self._file_buffer:
                return  # a chunk of a file already refused (or never begun)
            held = sum(
                len(b)
                for n, parts in self._file_buffer.items()
                for b in parts
                if not (first and n == name)
            )
            if held + len(data["data"]) > self.limit:
                self._file_buffer.pop(name, None)
                self.refused = ""
                self.refused = name
                return
        super()._process_event(event)


class Tally:
    """What a running import has done, written by its thread, read by the page."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size
        self.bytes_read = 0
        self.curves = 0
        self.points = 0

    def read(self, done: int, total: int) -> None:
        self.bytes_read, self.size = done, total

    def staged(self, curves: int, points: int) -> None:
        self.curves, self.points = curves, points

    def said(self) -> str:
        share = 100 * self.bytes_read / self.size if self.size else 0
        return (
            f"Importing {self.name}: {share:.0f} % read, {counted(self.curves, 'curve')} "
            f"({counted(self.points, 'point')}) checked so far."
        )


class ProjectUpload(pn.viewable.Viewer):
    """The drop zone of one project on the Projects page (see the module's docstring)."""

    def __init__(self, *, services: Services, who: Principal) -> None:
        super().__init__()
        self.services, self.who = services, who
        self.project_id: int | None = None
        self._name = ""
        self._future: Future[IngestReport] | None = None
        self._tally: Tally | None = None
        self._polling = None
        settings = services.settings
        self.dropper = BoundedDropper(
            limit=settings.upload_mb * MB,
            # Any type: browsers give Parquet no type and Windows gives CSV Excel's, so the
            # kind is read from the name on the server, with the API's message.
            multiple=False,
            max_file_size=f"{settings.upload_mb}MB",
            sizing_mode="stretch_width",
            height=110,
        )
        self.dropper.param.watch(self._dropped, "value")
        self.dropper.param.watch(self._too_large, "refused")
        self.about = pn.pane.Markdown(name="upload-about")
        self.encoding = pn.widgets.Select(
            label="Text encoding (CSV)", options=list(ENCODINGS), width=300
        )
        self.separator = pn.widgets.Select(
            label="Separator (CSV)", options=list(SEPARATORS), width=200
        )
        self.decimal = pn.widgets.Select(
            label="Decimal mark (';' CSV)", options=list(DECIMALS), width=200
        )
        self.options = pn.Row(self.encoding, self.separator, self.decimal)
        self.who_may = pn.pane.Markdown(name="upload-who-may", visible=False)
        self.progress = pn.indicators.Progress(value=0, max=100, width=320, visible=False)
        self.status = pn.pane.Markdown(name="upload-status", visible=False)
        self.result = pn.pane.Alert(name="upload-result", visible=False)
        self._view = pn.Column(
            pn.pane.Markdown("#### Upload curves"),
            self.about,
            self.options,
            self.dropper,
            self.who_may,
            self.progress,
            self.status,
            self.result,
            sizing_mode="stretch_width",
        )

    def show(self, session, project_id: int, name: str, role: Role | None) -> None:
        """Show the drop zone of ``project_id`` to those who may import, whom to ask to others."""
        self.project_id, self._name = project_id, name
        may = self.who.is_operator or allows(role, Action.IMPORT_DATA)
        if self._future is None:  # a running import's progress stays until it ends
            self.result.visible = self.status.visible = self.progress.visible = False
        self.dropper.visible = may
        self.about.object = (
            f"Drop a file on the field to import it into {text(name)}. {FORMATS} At most "
            f"{self.services.settings.upload_mb:,} MB; larger files go in with "
            "`curvehouse ingest`."
        )
        self.about.visible = self.options.visible = may
        self.who_may.visible = not may
        if not may:
            least = LEAST_ROLE[Action.IMPORT_DATA]
            askers = _who_grants(session, project_id)
            ask = (
                "Ask one of its admins or owners for that role: "
                + ", ".join(text(a) for a in askers)
                + "."
                if askers
                else "Ask an administrator of Curvehouse for that role."
            )
            self.who_may.object = (
                f"Uploading curves into {text(name)} needs the {least} role or higher; your "
                f"role is {text(role or 'none')}. {ask}"
            )

    # Importing ------------------------------------------------------------------------------

    def _dropped(self, event) -> None:
        if not event.new:
            return
        name, data = list(event.new.items())[-1]
        self.dropper.value = {}  # the next drop is the only file then
        if isinstance(data, str):  # FileDropper decodes text/* files as UTF-8: give it back
            data = data.encode("utf-8")
        self.start(name, data)

    def _too_large(self, event) -> None:
        if event.new:
            limit = self.services.settings.upload_mb * MB
            self._say(text(too_large(limit).message), "danger")

    def start(self, name: str, data: bytes) -> bool:
        """Stage ``data`` (a file named ``name``) and start its import in the background;
        False when it was refused before that (the page says why)."""
        if self.project_id is None:
            return False
        if self._future is not None and not self._future.done():
            self._say("An import is running; drop the next file when it has finished.", "warning")
            return False
        gate = self.services.imports
        user = self.who.user_id if self.who.user_id is not None else 0
        try:
            gate.enter(user)
        except ApiError as exc:
            self._say(text(exc.message), "warning")
            return False
        try:
            upload = stage(self.services.settings, name, data)
        except ApiError as exc:
            gate.leave(user)
            self._say(text(exc.message), "danger")
            return False
        self._tally = tally = Tally(upload.label, len(data))
        project_id = self.project_id
        reading = {
            "encoding": ENCODINGS[self.encoding.value],
            "delimiter": SEPARATORS[self.separator.value],
            "decimal": DECIMALS[self.decimal.value],
        }

        def work() -> IngestReport:
            try:
                return import_upload(
                    services=self.services,
                    who=self.who,
                    project_id=project_id,
                    upload=upload,
                    progress=tally.read,
                    curve_progress=tally.staged,
                    **reading,
                )
            finally:
                gate.leave(user)

        self.result.visible = False
        self.progress.value, self.progress.visible = 0, True
        self.status.object, self.status.visible = text(tally.said()), True
        self._future = gate.executor.submit(work)
        self._follow(True)
        return True

    def poll(self) -> bool:
        """Show the running import's progress, or its outcome once it ended; True while it
        runs. The page calls it every :data:`POLL_MS`; tests call it after :meth:`wait`."""
        future, tally = self._future, self._tally
        if future is None or tally is None:
            return False
        if not future.done():
            self.progress.value = int(100 * tally.bytes_read / tally.size) if tally.size else 0
            self.status.object = text(tally.said())
            return True
        self._follow(False)
        self._future = None
        self.progress.visible = self.status.visible = False
        try:
            report = future.result()
        except SAID as exc:
            self._say(text(exc), "danger")
        except Exception:
            log.exception("import of %s into %s failed", tally.name, self._name)
            self._say(
                text(f"The import of {tally.name} failed unexpectedly; nothing was stored."),
                "danger",
            )
        else:
            stored = report.written.curves_added > 0
            self._say(text(report.summary()), "success" if stored else "info")
        return False

    def wait(self, timeout: float = 120) -> None:
        """Block until the running import ended and show its outcome (for tests and scripts)."""
        if self._future is not None:
            self._future.exception(timeout=timeout)
        self.poll()

    def _follow(self, on: bool) -> None:
        if on and self._polling is None:
            if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
                self._polling = every(self.poll, POLL_MS)
        elif not on and self._polling is not None:
            self._polling.stop()
            self._polling = None

    def _say(self, message: str, kind: str) -> None:
        self.result.object, self.result.alert_type, self.result.visible = message, kind, True

    def __panel__(self) -> pn.viewable.Viewable:
        return self._view


def _who_grants(session, project_id: int) -> list[str]:
    """E-mail addresses of the project's admins and owners (own grants or a team's)."""
    granting = [r for r in Role if RANK[r] >= RANK[LEAST_ROLE[Action.MANAGE_MEMBERS]]]
    direct = (
        sa.select(User.email)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project_id, ProjectMember.role.in_(granting))
    )
    via_team = (
        sa.select(User.email)
        .join(TeamMember, TeamMember.user_id == User.id)
        .join(ProjectMember, ProjectMember.team_id == TeamMember.team_id)
        .where(ProjectMember.project_id == project_id, ProjectMember.role.in_(granting))
    )
    return sorted(set(session.scalars(direct.union(via_team))))
