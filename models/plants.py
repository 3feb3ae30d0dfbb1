"""Plants as data: each plant's time zone and shifts (``plants.json``).

The store keeps every time in UTC; a plant engineer reads and types times on the plant's clocks.
Which clocks those are is a fact about the plant, so it is data: a plant missing here is shown in
UTC. Shifts are listed on the clocks they are kept by (``zone``): the file's default ones are the
demo plant's, which its generator labels by the hour in UTC.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from models.data_files import DATA, load_data_file
from models.times import TimeInputError, zone_of

DATA_FILE = "plants.json"


class PlantDataError(ValueError):
    """``plants.json`` is malformed; the message names the file, the entry and the field."""


def _zone(name: str) -> str:
    try:
        zone_of(name)
    except TimeInputError as exc:
        raise ValueError(str(exc)) from None
    return name


class Shifts(BaseModel):
    """Shift names and the time each begins; a shift ends when the next one begins."""

    model_config = DATA

    zone: str
    starts: dict[str, str] = Field(min_length=1)
    note: str = ""

    _check_zone = field_validator("zone")(_zone)

    @field_validator("starts")
    @classmethod
    def _clock_times(cls, starts: dict[str, str]) -> dict[str, str]:
        for name, text in starts.items():
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
                raise ValueError(f"shift {name!r} starts at {text!r}, not at HH:MM")
        if len(set(starts.values())) != len(starts):
            raise ValueError("two shifts start at the same time")
        return starts

    @cached_property
    def clock(self) -> dict[str, time]:
        """Each shift's start as a ``time``."""
        return {name: time.fromisoformat(text) for name, text in self.starts.items()}


class Plant(BaseModel):
    model_config = DATA

    key: str = Field(min_length=1)  # as the curves' ``plant`` column spells it
    zone: str
    shifts: Shifts | None = None  # None: the file's default shifts

    _check_zone = field_validator("zone")(_zone)


class PlantBook(BaseModel):
    model_config = DATA

    shifts: Shifts
    plants: tuple[Plant, ...]

    @model_validator(mode="after")
    def _distinct_keys(self) -> PlantBook:
        keys = [p.key for p in self.plants]
        if len(set(keys)) != len(keys):
            raise ValueError("two plants share a key")
        return self

    @cached_property
    def by_key(self) -> dict[str, Plant]:
        return {p.key: p for p in self.plants}

    def zone(self, plant: str) -> str | None:
        """The IANA zone of ``plant``, or None when the file does not know it."""
        found = self.by_key.get(plant)
        return found.zone if found else None

    def shifts_of(self, plant: str | None) -> Shifts:
        """``plant``'s own shifts, or the default ones (also for None or an unknown plant)."""
        found = self.by_key.get(plant or "")
        return found.shifts if found and found.shifts else self.shifts


def load_plants(path: Path | None = None) -> PlantBook:
    """Read and check ``plants.json``; ``path`` is for tests, the default is the packaged file
    (read once)."""
    return _packaged() if path is None else _read(path)


@lru_cache(maxsize=1)
def _packaged() -> PlantBook:
    return _read(None)


def _read(path: Path | None) -> PlantBook:
    return load_data_file(PlantBook, DATA_FILE, path, PlantDataError)
