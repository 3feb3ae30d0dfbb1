"""Cluster names from the pages (no API request model in front): the whole name must match,
so a trailing line break or a NUL cannot slip through."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.clusters.lifecycle import ClusterRequestError, create_cluster
from models.tables import Cluster
from tests.app.clusters.test_lifecycle import ACTOR, request, world  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["press-dev\n", "press-dev\r\n", "press\x00dev", "press-dev\x1b"])
def test_cluster_names_with_control_characters_are_refused(world, name):  # noqa: F811
    store, settings, project = world
    with pytest.raises(ClusterRequestError, match="lower-case letters"):
        create_cluster(
            store=store, settings=settings, request=request(project, name=name), actor=ACTOR
        )
    with store.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Cluster)) == 0
