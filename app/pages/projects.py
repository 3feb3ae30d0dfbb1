"""Projects: the ones you are a member of, with your role, and a form to start a new one.

Selecting a project shows a drop zone to upload curves into it (for those who may import,
:mod:`app.projects.upload`), where its curves live, its residency (owners change it) and its
latest move, with "Move to…" for owners. A move is asked for, cancelled, resumed and confirmed
through :mod:`app.homes.moves`, the same use cases as the REST API's; the mover does the work,
and the page follows it every second while the move is open.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import panel as pn
import sqlalchemy as sa

from app.auth.session import current_principal, sign_in_required
from app.homes.moves import MoveRequestError, MoveView, act_on_move, latest_move, request_move
from app.homes.moves import view_of as move_view_of
from app.markup import text
from app.pages import panel_serve_services, served, session_query
from app.projects.live import ProjectLive
from app.projects.upload import ProjectUpload
from app.services import Services
from app.shell import shell
from app.ticks import every
from models.access import Action, NotFound, Principal, allows, role_in, visible_projects
from models.move_states import TRANSITIONS, MoveAction
from models.placement import set_residency
from models.residency import load_residency
from models.tables import OPEN_MOVE_STATES, Cluster, ClusterStatus, MoveState, Project
from models.wording import counted
from pipelines.homes import BUILTIN_LABEL
from pipelines.projects import create_project
from providers.errors import ProviderError

COLUMNS = [
    "id",
    "project",
    "your role",
    "lives on",
    "residency",
    "members",
    "live clusters",
    "created",
]
REFRESH_MS = 1000
UNREAD = -1  # no project's home yet: a cluster id is never negative
ANY_REGION = "any region"
# The check's totals as the mover records them (pipelines.moves.totals), in this order.
CHECK_COLUMNS = {
    "datasets": "datasets",
    "curves": "curves",
    "points": "points",
    "samples": "sample rows",
    "sample_points": "sample points",
}


class ProjectsPanel(pn.viewable.Viewer):
    def __init__(self, *, services: Services, who: Principal, open_project: str = "") -> None:
        """``open_project``: the name of a project to open at once (a link's ``?project=``)."""
        super().__init__()
        self.services, self.store, self.who = services, services.metadata, who
        self.table = pn.widgets.Tabulator(
            self.projects(),
            show_index=False,
            disabled=True,
            selectable=1,
            hidden_columns=["id"],
            layout="fit_data_stretch",
            sizing_mode="stretch_width",
        )
        self.detail = ProjectDetail(
            services=services, who=who, homes=self.homes, on_change=self._reload
        )
        self._reloading = False
        self.table.param.watch(self._on_select, "selection")
        self.project_name = pn.widgets.TextInput(
            label="New project", placeholder="e.g. line-7 press-fit"
        )
        # Selects show labels: Panel shows an option whose value is None as a blank.
        self._home_choices = self.homes()
        self.home = pn.widgets.Select(
            label="Its curves live on", options=list(self._home_choices), width=260
        )
        self.residency = pn.widgets.Select(
            label="Residency", options=list(residency_choices()), width=180
        )
        self.create = pn.widgets.Button(label="Create project", color="primary", align="end")
        self.create.on_click(lambda _: self._create())
        self.message = pn.pane.Alert(visible=False, name="projects-message")
        if open_project in set(self.table.value["project"]):
            self.select(open_project)

    def projects(self) -> pd.DataFrame:
        with self.store.sessions() as session:
            live = dict(
                session.execute(
                    sa.select(Cluster.project_id, sa.func.count())
                    .where(Cluster.status != ClusterStatus.DELETED)
                    .group_by(Cluster.project_id)
                ).all()
            )
            rows = [
                {
                    "id": p.id,
                    "project": p.name,
                    "your role": str(role) if role else "operator",
                    "lives on": _lives_on(p.home_cluster),
                    "residency": p.residency or "",
                    "members": len(p.members),
                    "live clusters": live.get(p.id, 0),
                    "created": f"{p.created_at:%Y-%m-%d}",
                }
                for p, role in visible_projects(session, self.who)
            ]
        return pd.DataFrame(rows, columns=COLUMNS)

    def homes(self) -> dict[str, int | None]:
        """Where a new project's curves may live: the built-in engine, or a live cluster of a
        project in which this person may create clusters (its owner pays for the storage)."""
        choices: dict[str, int | None] = {BUILTIN_LABEL: None}
        with self.store.sessions() as session:
            for project, role in visible_projects(session, self.who):
                if not (self.who.is_operator or allows(role, Action.CREATE_CLUSTER)):
                    continue
                for cluster in project.clusters:
                    if cluster.status not in (ClusterStatus.DELETING, ClusterStatus.DELETED):
                        label = f"cluster {cluster.name} ({cluster.region}, {project.name})"
                        choices[label] = cluster.id
        return choices

    def _create(self) -> None:
        name = self.project_name.value.strip()
        if self.who.is_operator:
            return self._say("Sign in to create a project: it needs an owner.", "warning")
        with self.store.sessions() as session:
            try:
                project = create_project(
                    session=session,
                    homes=self.services.homes,
                    actor=self.who,
                    name=name,
                    cluster_id=self._home_choices[self.home.value],
                    residency=residency_choices()[self.residency.value],
                )
                lives_on = _lives_on(project.home_cluster)
            except (ValueError, NotFound, ProviderError) as exc:  # names, residency, homes
                return self._say(text(exc), "danger")
            session.commit()
        self.project_name.value = ""
        self._reload()
        self._say(
            f"Project {text(repr(name))} created on {text(lives_on)}; you are its owner. "
            "Invite people on the Team page."
        )

    def _say(self, message: str, kind: str = "success") -> None:
        """Show ``message``, Markdown whose values went through :func:`~app.markup.text`."""
        self.message.object, self.message.alert_type, self.message.visible = message, kind, True

    def select(self, name: str) -> None:
        """Select the project named ``name`` in the table (as a click on its row does)."""
        frame = self.table.value
        self.table.selection = [int(frame.index[frame["project"] == name][0])]

    def _on_select(self, event) -> None:
        if self._reloading:
            return
        frame = self.table.value
        if not event.new or event.new[0] >= len(frame):
            return self.detail.show(None)
        self.detail.show(int(frame.iloc[event.new[0]]["id"]))

    def _reload(self) -> None:
        """Read the table again (a project made, moved or pinned), keeping the selection and
        what the detail says."""
        frame = self.projects()
        if frame.equals(self.table.value):
            return
        rows = frame.index[frame["id"] == self.detail.project_id]
        self._reloading = True
        try:
            self.table.value = frame
            self.table.selection = [int(rows[0])] if len(rows) else []
        finally:
            self._reloading = False

    def __panel__(self) -> pn.viewable.Viewable:
        empty = self.table.value.empty
        return pn.Column(
            "## Projects",
            pn.pane.Markdown(
                "A project holds curves (its name is their `project` label), clusters and "
                "members with roles. You see the projects you are a member of."
                + ("\n\n**You are not a member of any project yet.**" if empty else "")
            ),
            self.table,
            pn.Row(self.project_name, self.home, self.residency, self.create),
            self.message,
            self.detail,
            sizing_mode="stretch_width",
            max_width=1000,
        )


class ProjectDetail(pn.viewable.Viewer):
    """One project: where its curves live, its residency, and its latest move with the
    actions its state allows (for owners; others are told who may)."""

    def __init__(
        self,
        *,
        services: Services,
        who: Principal,
        homes: Callable[[], dict[str, int | None]],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.services, self.store, self.who = services, services.metadata, who
        self._homes, self._on_change = homes, on_change
        self.project_id: int | None = None
        self._name = ""
        self._owner = False
        self._home: int | None = UNREAD
        self._following = None  # the periodic callback while a move is open
        self.title = pn.pane.Markdown(name="project-title")
        self.where = pn.pane.Markdown(name="project-home")
        self.residency = pn.widgets.Select(
            label="Residency", options=list(residency_choices()), width=180
        )
        self.save_residency = pn.widgets.Button(label="Save residency", align="end")
        self.save_residency.on_click(lambda _: self._set_residency())
        self._targets: dict[str, int | None] = {}  # label -> cluster id (None: built-in)
        self.move_to = pn.widgets.Select(label="Move to…", options=[], width=320)
        self.move = pn.widgets.Button(label="Move", color="primary", align="end")
        self.move.on_click(lambda _: self._request())
        self.who_may = pn.pane.Markdown(name="who-may", visible=False)
        self.move_state = pn.pane.Markdown(name="move-state")
        self.progress = pn.indicators.Progress(value=0, max=100, width=320, visible=False)
        self.copied = pn.pane.Markdown(name="move-copied")
        self.checks = pn.pane.Markdown(name="move-checks", visible=False)
        self.move_detail = pn.pane.Alert(visible=False, name="move-detail")
        self.buttons = {
            MoveAction.CANCEL: pn.widgets.Button(label="Cancel the move", visible=False),
            MoveAction.RESUME: pn.widgets.Button(label="Resume", visible=False),
            MoveAction.CONFIRM: pn.widgets.Button(
                label="Delete the old copy", color="danger", visible=False
            ),
        }
        for action, button in self.buttons.items():
            button.on_click(lambda _, action=action: self._act(action))
        self.message = pn.pane.Alert(visible=False, name="project-message")
        self.upload = ProjectUpload(services=services, who=who)
        self.live = ProjectLive(services=services, who=who)
        self._view = pn.Column(
            self.title,
            self.where,
            self.upload,
            self.live,
            pn.Row(self.residency, self.save_residency),
            pn.Row(self.move_to, self.move),
            self.who_may,
            self.move_state,
            self.progress,
            self.copied,
            self.checks,
            self.move_detail,
            pn.Row(*self.buttons.values()),
            self.message,
            visible=False,
            sizing_mode="stretch_width",
        )

    # Showing -------------------------------------------------------------------------------

    def show(self, project_id: int | None) -> None:
        """Show the project ``project_id`` (None: nothing selected)."""
        self.project_id = project_id
        self.message.visible = False
        if project_id is None:
            self._view.visible = False
            self._follow(False)
            return
        with self.store.sessions() as session:
            project = session.get(Project, project_id)
            role = (
                None if self.who.user_id is None else role_in(session, self.who.user_id, project_id)
            )
            self._name = project.name
            self.residency.value = _group_label(project.residency)
            owner = self.who.is_operator or allows(role, Action.MOVE_PROJECT)
            pin = self.who.is_operator or allows(role, Action.SET_RESIDENCY)
            self.upload.show(session, project_id, project.name, role)
            self.live.show(session, project_id, project.name, role)
        self._owner = owner
        self.title.object = f"### {text(self._name)}"
        self.residency.disabled = not pin
        self.save_residency.visible = pin
        self.move_to.visible = self.move.visible = owner
        self.who_may.visible = not owner
        self.who_may.object = (
            "Only the project's owners may move it or change its residency; ask one of them "
            "(the Team page lists them)."
        )
        self._home = UNREAD  # the choices of "Move to…" are read afresh
        self._view.visible = True
        self.refresh()

    def refresh(self, *_events) -> MoveView | None:
        """Read the home and the latest move again and redraw them (every second while a move
        is open, in a served session); the latest move, as shown."""
        if self.project_id is None:
            return None
        with self.store.sessions() as session:
            project = session.get(Project, self.project_id)
            if project is None:
                self.show(None)
                return None
            home = project.home_cluster_id
            self.where.object = _where(project)
            move = latest_move(session, self.project_id)
            view = None if move is None else move_view_of(session, move)
        if home != self._home:
            moved, self._home = self._home != UNREAD, home
            self._targets = {
                label: cluster_id
                for label, cluster_id in self._homes().items()
                if cluster_id != home
            }
            self.move_to.options = list(self._targets)
            self.move.disabled = not self.move_to.options
            if moved:  # the mover switched it: the table's "lives on" too
                self._on_change()
        self._show_move(view)
        self._follow(view is not None and MoveState(view.state) in OPEN_MOVE_STATES)
        return view

    def _show_move(self, view: MoveView | None) -> None:
        if view is None:
            self.move_state.object = "No move yet."
            self.progress.visible = self.checks.visible = self.move_detail.visible = False
            self.copied.object = ""
            for button in self.buttons.values():
                button.visible = False
            return
        state = MoveState(view.state)
        self.move_state.object = (
            f"**Move {text(view.state)}**: {text(view.source)} → {text(view.target)}, asked "
            f"by {text(view.requested_by)} on {text(f'{view.requested_at:%Y-%m-%d %H:%M}')}."
        )
        self.progress.value = int(view.percent)
        self.progress.visible = state not in (MoveState.CANCELLED,)
        done, total = view.curves
        if state is MoveState.WAITING:
            copied = f"Nothing copied yet: it waits for {view.target} to run."
        elif state is MoveState.COPYING and total == 0:
            copied = "Counting the curves to copy…"
        else:
            copied = f"{done:,} of {counted(total, 'curve')} copied ({view.percent:.0f} %)"
        self.copied.object = text(copied)
        self.checks.object = _checks_table(view.checks)
        self.checks.visible = bool(self.checks.object)
        self.move_detail.object = text(view.detail)
        self.move_detail.alert_type = "danger" if state is MoveState.FAILED else "info"
        self.move_detail.visible = bool(view.detail)
        for action, button in self.buttons.items():
            button.visible = self._owner and TRANSITIONS[action].allows(state)

    def _follow(self, on: bool) -> None:
        """Refresh every second while a move is open, only inside a served session."""
        if on and self._following is None:
            if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
                self._following = every(self.refresh, REFRESH_MS)
        elif not on and self._following is not None:
            self._following.stop()
            self._following = None

    # Acting --------------------------------------------------------------------------------

    def _set_residency(self) -> None:
        group = residency_choices()[self.residency.value]
        with self.store.sessions() as session:
            try:
                set_residency(
                    session=session,
                    actor=self.who,
                    project_id=self.project_id,
                    group=group,
                    builtin_region=self.services.homes.builtin.region,
                )
            except (ValueError, NotFound) as exc:  # residency, or no longer allowed
                return self._say(text(exc), "danger")
            session.commit()
        self.refresh()
        self._on_change()
        pinned = "lifted" if group is None else f"set to {text(_group_label(group))}"
        self._say(f"Residency of {text(self._name)} {pinned}.")

    def _request(self) -> None:
        if self.move_to.value not in self._targets:
            return self._say("Choose where its curves should move to.", "warning")
        try:
            view = request_move(
                store=self.store,
                homes=self.services.homes,
                actor=self.who,
                project_id=self.project_id,
                to_cluster_id=self._targets[self.move_to.value],
            )
        except (ValueError, NotFound) as exc:  # refused moves, residency, the target gone
            return self._say(text(exc), "danger")
        self.refresh()
        waits = " It waits until that cluster runs." if view.state == MoveState.WAITING else ""
        self._say(
            f"Moving {text(self._name)} to {text(view.target)}.{waits} Its curves are read "
            f"from {text(view.source)} until the copies are checked equal."
        )

    def _act(self, action: MoveAction) -> None:
        try:
            view = act_on_move(
                store=self.store, actor=self.who, project_id=self.project_id, action=action
            )
        except (MoveRequestError, NotFound) as exc:
            return self._say(text(exc), "danger")
        self.refresh()
        self._on_change()
        self._say(f"The move of {text(self._name)} is {text(view.state)}.")

    def _say(self, message: str, kind: str = "success") -> None:
        self.message.object, self.message.alert_type, self.message.visible = message, kind, True

    def __panel__(self) -> pn.viewable.Viewable:
        return self._view


def _where(project: Project) -> str:
    """Where the project's curves live (with the cluster's state) and its residency pin."""
    cluster = project.home_cluster
    if cluster is None:
        said = f"Its curves live on {text(BUILTIN_LABEL)}."
    else:
        said = (
            f"Its curves live on cluster **{text(cluster.name)}** ({text(cluster.region)}), "
            f"which is **{text(cluster.status)}**."
        )
    if project.residency:
        return f"{said} Residency: {text(_group_label(project.residency))}."
    return f"{said} No residency pin: any region."


def residency_choices() -> dict[str, str | None]:
    """The residency groups by label, "any region" (no pin) first."""
    return {ANY_REGION: None} | {g.label: g.key for g in load_residency().groups}


def _group_label(key: str | None) -> str:
    if key is None:
        return ANY_REGION
    groups = load_residency().by_key
    return groups[key].label if key in groups else str(key)


def _checks_table(checks: dict) -> str:
    """The check's totals on both sides as a Markdown table ("" before the check)."""
    sides = [
        (label, checks.get(side))
        for side, label in (("source", "old copy"), ("target", "new copy"))
    ]
    sides = [(label, totals) for label, totals in sides if isinstance(totals, dict)]
    if not sides:
        return ""
    keys = [k for k in CHECK_COLUMNS if any(k in t for _, t in sides)]
    keys += sorted({k for _, t in sides for k in t} - set(keys))
    head = "| | " + " | ".join(text(CHECK_COLUMNS.get(k, k)) for k in keys) + " |"
    rule = "|---|" + "---:|" * len(keys)
    rows = [
        f"| {text(label)} | "
        + " | ".join(text(f"{t[k]:,}" if isinstance(t.get(k), int) else t.get(k, "")) for k in keys)
        + " |"
        for label, t in sides
    ]
    return "\n".join(["**Check**", "", head, rule, *rows])


def _lives_on(cluster: Cluster | None) -> str:
    return BUILTIN_LABEL if cluster is None else f"cluster {cluster.name} ({cluster.status})"


def page(services: Services) -> pn.template.BaseTemplate:
    who = current_principal(services)
    if who is None:
        return shell("projects", [sign_in_required()])
    opened = session_query().get("project", "")
    return shell("projects", [ProjectsPanel(services=services, who=who, open_project=opened)])


if served(__name__):
    pn.extension("tabulator")
    page(panel_serve_services()).servable()
