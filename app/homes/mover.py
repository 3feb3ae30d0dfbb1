"""The mover: takes each project move from its request to its end, one step at a time.

A move's whole memory is its ``project_moves`` row, so the mover can die at any point and the
next one (this server restarted, or another process) carries on: it claims a move with a lease
(``pid@host`` until a time), renews the lease with every batch it copies, and takes over a lease
whose time ran out or whose process on this host is gone (audited as ``project.move.resume``).

Steps, as ``models/move_states.py`` allows the mover to record them:

- **waiting** until the target cluster runs;
- **copying** each committed dataset the target lacks (:func:`pipelines.moves.copy_dataset`,
  all or nothing per dataset, progress committed after every batch);
- **checking**: writes are refused (:meth:`pipelines.homes.Homes.for_writing`); datasets that
  arrived late are copied, ones the source no longer has are removed, and both sides are tallied
  (counts and checksums); a dataset that differs is copied once more, a second difference fails
  the move. When both agree, the project's home switches in the same transaction that records
  the check: until that commit every reader resolves the old home;
- **cleaning**, once an owner confirmed: an import that reached the old home while the switch
  happened is copied over, then the old copy is deleted;
- a **cancelled** move's partial copy on the target is deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from app.periodic import Periodic
from app.services import Services
from models.audit import audit
from models.move_states import mover_may
from models.tables import Cluster, ClusterStatus, MoveState, Project, ProjectMove, utcnow
from pipelines.homes import Home, HomeUnavailable, home_of_cluster
from pipelines.moves import (
    committed,
    compare,
    copy_dataset,
    copy_project,
    delete_extra,
    tally,
    totals,
)
from pipelines.store import CurveStore

log = logging.getLogger(__name__)
LEASE_SECONDS = 30
PERIOD_SECONDS = 1.0
ACTOR = "mover"
# States the mover works on; a cancelled move is worked on until its copy is dropped.
WORKED = (MoveState.WAITING, MoveState.COPYING, MoveState.CHECKING, MoveState.CLEANING)
MB = 1 << 20


class LeaseLost(Exception):
    """Another mover took the move (this one stalled past its lease): stop touching it."""


class Cancelled(Exception):
    """A person cancelled the move while it was copying."""


def me() -> str:
    """This process, as a lease names it."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _gone(owner: str) -> bool:
    """Whether ``owner`` is a process on this host that no longer runs."""
    pid, _, host = owner.partition("@")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ProjectMover(Periodic):
    """Works on open moves in a thread of its own (``start``), or one step per :meth:`cycle`
    (tests). ``between_batches`` is called after each copied batch (tests pause there)."""

    name = "project-mover"
    wait_first = False  # a move a stopped server left goes on at once

    def __init__(
        self,
        services: Services,
        *,
        period: float = PERIOD_SECONDS,
        between_batches: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(period=period)
        self.services, self.store, self.homes = services, services.metadata, services.homes
        self.batch_bytes = max(1, services.settings.move_batch_mb) * MB
        self.between_batches = between_batches
        self.owner = me()

    def again(self, result: object) -> bool:
        """A step done: the next one (or the next move's) starts at once."""
        return bool(result)

    # Claiming ---------------------------------------------------------------------------

    def cycle(self) -> bool:
        """Claim one move that has work and do its next step; whether there was one."""
        with self.store.sessions() as session:
            candidates = session.scalars(
                sa.select(ProjectMove.id)
                .where(
                    sa.or_(
                        ProjectMove.state.in_(WORKED),
                        sa.and_(
                            ProjectMove.state == MoveState.CANCELLED,
                            ProjectMove.finished_at.is_(None),
                        ),
                    )
                )
                .order_by(ProjectMove.id)
            ).all()
        for move_id in candidates:
            if self._claim(move_id):
                return self.step(move_id)
        return False

    def _claim(self, move_id: int) -> bool:
        now = utcnow()
        with self.store.sessions() as session:
            move = session.get(ProjectMove, move_id)
            owner = move.lease_owner
            expired = move.lease_until is None or move.lease_until < now
            if owner not in (None, self.owner) and not expired and not _gone(owner):
                return False
            held = (
                ProjectMove.lease_owner.is_(None)
                if owner is None
                else (ProjectMove.lease_owner == owner)
            )
            taken = session.execute(
                sa.update(ProjectMove)
                .where(ProjectMove.id == move_id, held)
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=LEASE_SECONDS))
            )
            if taken.rowcount != 1:
                session.rollback()
                return False
            if owner not in (None, self.owner):  # a mover died or stalled mid-way
                audit(
                    session,
                    ACTOR,
                    "project.move.resume",
                    "project",
                    move.project_id,
                    move=move_id,
                    previous=owner,
                    state=str(move.state),
                )
            session.commit()
        return True

    def _checkpoint(self, move_id: int, **values: object) -> None:
        """Record progress and renew the lease, in one statement that holds only while this
        mover owns the lease and the move is still copying."""
        now = utcnow()
        with self.store.sessions() as session:
            done = session.execute(
                sa.update(ProjectMove)
                .where(
                    ProjectMove.id == move_id,
                    ProjectMove.lease_owner == self.owner,
                    ProjectMove.state.in_(WORKED),
                )
                .values(lease_until=now + timedelta(seconds=LEASE_SECONDS), **values)
            )
            session.commit()
            if done.rowcount == 1:
                return
            move = session.get(ProjectMove, move_id)
            if move.state is MoveState.CANCELLED:
                raise Cancelled
            raise LeaseLost

    # Steps ------------------------------------------------------------------------------

    def step(self, move_id: int) -> bool:
        """The move's next step, from the state it is in; a failure is recorded in words."""
        with self.store.sessions() as session:
            move = session.get(ProjectMove, move_id)
            state, project = move.state, move.project.name
            source = self._home(session, move.from_cluster_id)
            target = self._home(session, move.to_cluster_id)
        try:
            if state is MoveState.WAITING:
                return self._wait(move_id, target)
            if state is MoveState.COPYING:
                self._copy(move_id, project, source, target)
            elif state is MoveState.CHECKING:
                self._check(move_id, project, source, target)
            elif state is MoveState.CLEANING:
                self._clean(move_id, project, source, target)
            elif state is MoveState.CANCELLED:
                self._drop(move_id, project, target)
            return True
        except Cancelled:
            return True  # the next cycle drops what was copied
        except LeaseLost:
            return False
        except HomeUnavailable as exc:
            self._fail(move_id, str(exc))
        except Exception as exc:
            log.exception("move %s of %s", move_id, project)
            self._fail(move_id, f"{type(exc).__name__}: {exc}")
        return False  # failed, or stays (cleaning is retried): wait a period before the next

    def _home(self, session, cluster_id: int | None) -> Home:
        if cluster_id is None:
            return self.homes.builtin
        return home_of_cluster(session.get(Cluster, cluster_id))

    def _open(self, home: Home, project: str) -> CurveStore:
        return self.homes.store(home, project=project)

    def _wait(self, move_id: int, target: Home) -> bool:
        if target.reachable and target.status == ClusterStatus.RUNNING:
            self._record(move_id, MoveState.COPYING, "target running")
            return True
        if target.status in (ClusterStatus.FAILED, ClusterStatus.DELETING, ClusterStatus.DELETED):
            self._fail(move_id, f"{target.label.capitalize()} is {target.status}.")
            return True
        return False  # still starting or provisioning: ask again next cycle

    def _copy(self, move_id: int, project: str, source: Home, target: Home) -> None:
        old, new = self._open(source, project), self._open(target, project)
        try:
            sides = tally(old, project)
            whole = totals(sides)
            there = set(committed(new, project))
            done = [d for d in sides if d in there]
            counted = {
                "datasets_done": len(done),
                "curves_done": sum(sides[d].curves for d in done),
                "samples_done": sum(sides[d].samples for d in done),
            }
            self._checkpoint(
                move_id,
                datasets_total=whole["datasets"],
                curves_total=whole["curves"],
                samples_total=whole["samples"],
                **counted,
            )
            for dataset_id in committed(old, project):
                if dataset_id in there or dataset_id not in sides:
                    continue
                base = dict(counted)

                def progress(curves: int, samples: int, base=base) -> None:
                    self._checkpoint(
                        move_id,
                        curves_done=base["curves_done"] + curves,
                        samples_done=base["samples_done"] + samples,
                    )
                    if self.between_batches is not None:
                        self.between_batches()

                copy_dataset(
                    old,
                    new,
                    project,
                    dataset_id,
                    batch_bytes=self.batch_bytes,
                    progress=progress,
                )
                counted = {
                    "datasets_done": base["datasets_done"] + 1,
                    "curves_done": base["curves_done"] + sides[dataset_id].curves,
                    "samples_done": base["samples_done"] + sides[dataset_id].samples,
                }
                self._checkpoint(move_id, **counted)
        finally:
            old.client.close()
            new.client.close()
        self._record(move_id, MoveState.CHECKING, "copied")

    def _check(self, move_id: int, project: str, source: Home, target: Home) -> None:
        old, new = self._open(source, project), self._open(target, project)
        labels = (f"on {source.label}", f"on {target.label}")
        try:
            for attempt in (1, 2):
                # Writes are refused now; what arrived before the freeze is copied, what the
                # source no longer holds (deleted meanwhile) is removed from the copy.
                copy_project(old, new, project, batch_bytes=self.batch_bytes)
                delete_extra(new, project, keep=set(committed(old, project)))
                here, there = tally(old, project), tally(new, project)
                wrong = compare(here, there, labels=labels)
                if not wrong:
                    break
                if attempt == 2:
                    said = "; ".join(m.words for m in wrong)
                    self._fail(move_id, f"The copy differs from the original: {said}.")
                    return
                new.delete_datasets([m.dataset_id for m in wrong])
                self._checkpoint(move_id)
        finally:
            old.client.close()
            new.client.close()
        self._switch(move_id, {"source": totals(here), "target": totals(there)})

    def _switch(self, move_id: int, checks: dict) -> None:
        """Record the check and move the project's home, in one transaction."""
        with self.store.sessions() as session:
            move = session.get(ProjectMove, move_id)
            if move.lease_owner != self.owner or move.state is not MoveState.CHECKING:
                raise LeaseLost
            project = session.get(Project, move.project_id)
            project.home_cluster_id = move.to_cluster_id
            move.state, move.switched_at, move.checks = MoveState.SWITCHED, utcnow(), checks
            move.lease_owner = move.lease_until = None
            audit(
                session, ACTOR, "project.move.check", "project", project.id, move=move_id, **checks
            )
            audit(
                session,
                ACTOR,
                "project.move.switch",
                "project",
                project.id,
                move=move_id,
                home=move.to_cluster_id,
            )
            session.commit()

    def _clean(self, move_id: int, project: str, source: Home, target: Home) -> None:
        """Delete the old copy, after copying any import that reached it during the switch."""
        old, new = self._open(source, project), self._open(target, project)
        try:
            late = copy_project(old, new, project, batch_bytes=self.batch_bytes)
            deleted = delete_extra(old, project, keep=set())
        finally:
            old.client.close()
            new.client.close()
        self._record(move_id, MoveState.DONE, "old copy deleted", late=late, deleted=len(deleted))

    def _drop(self, move_id: int, project: str, target: Home) -> None:
        """A cancelled move: delete what it copied to the target (the project never lived
        there), then mark it finished."""
        new = self._open(target, project)
        try:
            dropped = delete_extra(new, project, keep=set())
        finally:
            new.client.close()
        with self.store.sessions() as session:
            move = session.get(ProjectMove, move_id)
            move.finished_at = utcnow()
            move.lease_owner = move.lease_until = None
            audit(
                session,
                ACTOR,
                "project.move.dropped",
                "project",
                move.project_id,
                move=move_id,
                datasets=len(dropped),
            )
            session.commit()

    # Recording --------------------------------------------------------------------------

    def _record(self, move_id: int, to: MoveState, said: str, **detail: object) -> None:
        with self.store.sessions() as session:
            move = session.get(ProjectMove, move_id)
            if move.lease_owner != self.owner or not mover_may(move.state, to):
                raise LeaseLost
            before, move.state = move.state, to
            if to is MoveState.FAILED:
                move.detail = said
            if to in (MoveState.DONE, MoveState.FAILED):
                move.finished_at = utcnow() if to is MoveState.DONE else None
                move.lease_owner = move.lease_until = None
            action = {
                MoveState.DONE: "project.move.cleanup",
                MoveState.FAILED: "project.move.fail",
            }.get(to, "project.move.step")
            audit(
                session,
                ACTOR,
                action,
                "project",
                move.project_id,
                move=move_id,
                before=str(before),
                after=str(to),
                said=said,
                **detail,
            )
            session.commit()

    def _fail(self, move_id: int, why: str) -> None:
        """Record the failure in words; a cancelled move, or one past its switch (cleaning is
        retried), stays as it is."""
        with contextlib.suppress(LeaseLost):
            self._record(move_id, MoveState.FAILED, why[:2000])
