"""A project's configured features as the store and the backfill compute them.

:class:`StoredFeatures` is the store's feature source (``CurveStore(configured=...)``): every
write of a project's home asks it for the configured features of the processes it stores, so
their values commit with the curves. :func:`fill_project` gives the curves stored before a
feature was defined (or moved in from another home) their values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from models.feature_definitions import working_features
from models.store import MetadataStore
from models.tables import FeatureDefinition
from pipelines.features import Configured, fill_configured
from pipelines.store import CurveStore


def as_configured(definition: FeatureDefinition) -> Configured:
    return Configured(
        definition.id,
        definition.process,
        definition.kind,
        definition.a,
        definition.b,
        definition.name,
    )


class StoredFeatures:
    """The working configured features of a project's processes, from the metadata store."""

    def __init__(self, metadata: MetadataStore) -> None:
        self.metadata = metadata

    def __call__(self, project: str, processes: Sequence[str]) -> list[Configured]:
        if not processes:
            return []
        with self.metadata.sessions() as session:
            return [as_configured(d) for _, d in working_features(session, project, processes)]

    def of(self, project: str, process: str | None = None) -> list[Configured]:
        """The project's working configured features (of ``process``)."""
        with self.metadata.sessions() as session:
            return [
                as_configured(d)
                for _, d in working_features(
                    session, project, None if process is None else [process]
                )
            ]

    def projects(self) -> dict[str, list[Configured]]:
        """Every project with a working configured feature, and its features."""
        found: dict[str, list[Configured]] = {}
        with self.metadata.sessions() as session:
            for project, definition in working_features(session):
                found.setdefault(project, []).append(as_configured(definition))
        return found


def fill_project(
    store: CurveStore,
    project: str,
    configured: Sequence[Configured],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Compute every missing value of ``configured`` for ``project``'s stored curves."""
    return fill_configured(
        store.client,
        store.database,
        project,
        configured,
        computed_at=pd.Timestamp.now(tz="UTC").floor("ms"),
        progress=progress,
    )
