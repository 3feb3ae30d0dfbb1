"""Deployments for provider tests."""

from __future__ import annotations

from dataclasses import replace

from providers.clusters import Deployment


def resized(deployment: Deployment, **sizes: int) -> Deployment:
    """The same deployment with some sizes changed (``nodes=3``)."""
    return replace(deployment, size=replace(deployment.size, **sizes))
