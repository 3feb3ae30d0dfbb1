"""Data residency as data: named groups of regions a project's curves may live in.

A project pinned to a group (``projects.residency``) may only have a home whose region is in
that group. Regions are spelled as ``clusters.region`` spells them: a cloud region
(``aws/eu-central-1``, ``providers/clusters/cloud.py``), ``local`` (the built-in engine and
embedded clusters) or ``self-managed`` (a server cluster: the plant's own, see its group's note).
``rates.json`` also lists regions, but those are pricing data, not residency.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from models.data_files import DATA, load_data_file

DATA_FILE = "residency.json"


class ResidencyDataError(ValueError):
    """``residency.json`` is malformed; the message names the file, the entry and the field."""


class ResidencyError(ValueError):
    """A home outside the project's residency group, or an unknown group; said in words."""


class ResidencyGroup(BaseModel):
    model_config = DATA

    key: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")  # fits projects.residency
    label: str = Field(min_length=1)
    note: str = Field(min_length=1)
    regions: tuple[str, ...] = Field(min_length=1)

    @field_validator("regions")
    @classmethod
    def _distinct(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(regions)) != len(regions):
            raise ValueError("lists a region twice")
        return regions


class Residency(BaseModel):
    model_config = DATA

    groups: tuple[ResidencyGroup, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct_keys(self) -> Residency:
        keys = [g.key for g in self.groups]
        if len(set(keys)) != len(keys):
            raise ValueError("two groups share a key")
        return self

    @cached_property
    def by_key(self) -> Mapping[str, ResidencyGroup]:
        return {g.key: g for g in self.groups}

    def group(self, key: str) -> ResidencyGroup:
        """The group ``key``, or :class:`ResidencyError` naming the known ones."""
        try:
            return self.by_key[key]
        except KeyError:
            known = ", ".join(self.by_key)
            raise ResidencyError(f"No residency group {key!r}; the groups are {known}.") from None


def load_residency(path: Path | None = None) -> Residency:
    """Read and check ``residency.json``; ``path`` is for tests, the default is the packaged
    file."""
    return load_data_file(Residency, DATA_FILE, path, ResidencyDataError)


def check_home(group: ResidencyGroup | None, region: str, *, project: str, home_label: str) -> None:
    """Refuse a home for ``project`` whose ``region`` lies outside ``group`` (None: no pin).

    ``home_label`` names the home for the message ("cluster us-prod", "the built-in engine").
    """
    if group is None or region in group.regions:
        return
    regions = ", ".join(r.rsplit("/", 1)[-1] for r in group.regions)
    raise ResidencyError(
        f"Project {project} is pinned to {group.label} ({regions}); {home_label} runs in "
        f"{region}, outside it. Choose a cluster in {group.label}, or an owner changes the "
        "project's residency."
    )
