"""Dates and times people type: one strict reader for the explorer and the API alike.

Only ISO 8601 is read (``2026-12-11``, ``2026-12-11 06:00``, ``2026-12-11T06:00:00Z``,
``2026-12-11T06:00+01:00``), because a day-first or month-first date (``11.12.2026``) means
11 December in Leipzig and 12 November in Greenville: a general parser guesses one of them without
a word. Anything else is refused with a message that shows the accepted form. A time without an
offset is read in the zone given (UTC unless said otherwise); a local time that a DST change skips
or repeats is refused too, with the offsets to choose from. Every time comes back as an aware
``datetime`` in UTC, within the years the store's ``DateTime64`` holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The form a date field shows while empty: a pattern, so it never looks like a typed value.
PATTERN = "YYYY-MM-DD HH:MM"
ACCEPTED = f"Type dates as {PATTERN}, e.g. 2026-12-11 06:00"
# The years the engine's DateTime64 holds.
YEARS = (1900, 2261)
# Quick choices of a time window, by the token a page or a test passes.
WINDOWS = {"last-8h": "Last 8 h", "shift": "This shift", "yesterday": "Yesterday"}

_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r" ?(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
# Day and month first, in either order: what ISO 8601 is there to prevent.
_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})\b.*")
# A '+' offset that a URL decoded to a space: ``...06:00:00 01:00``.
_LOST_PLUS = re.compile(r".*\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}(:?\d{2})?")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class TimeInputError(ValueError):
    """A date and time that is not read: the message shows the accepted form."""


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``, ``UTC``), or :class:`TimeInputError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeInputError(
            f"{name!r} is not a time zone; name one as the IANA database does, e.g. Europe/Berlin"
        ) from None


def parse_time(text: str, zone: str = "UTC") -> datetime:
    """``text`` (ISO 8601) as an aware UTC datetime; a time without an offset is read in
    ``zone``. Raises :class:`TimeInputError` for anything else, naming what was typed."""
    text = text.strip()
    found = _ISO.fullmatch(text)
    if found is None:
        raise TimeInputError(f"{_why_not(text)}. {ACCEPTED}.")
    try:
        day = date.fromisoformat(found["date"])
        clock = time(
            int(found["hour"] or 0),
            int(found["minute"] or 0),
            int(found["second"] or 0),
            int((found["fraction"] or "0")[:6].ljust(6, "0")),
        )
    except ValueError as exc:
        raise TimeInputError(f"{text!r} is not a date and time ({exc}). {ACCEPTED}.") from None
    naive = datetime.combine(day, clock)
    if found["offset"]:
        moment = naive.replace(tzinfo=_offset(found["offset"], text))
    else:
        moment = _localise(naive, zone_of(zone), text)
    try:
        return check_years(moment)
    except TimeInputError as exc:
        raise TimeInputError(f"{text!r} {exc}") from None


def check_years(moment: datetime) -> datetime:
    """``moment`` if the store can hold it; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not YEARS[0] <= moment.astimezone(UTC).year <= YEARS[1]:
        raise TimeInputError(f"must lie between the years {YEARS[0]} and {YEARS[1]}")
    return moment.astimezone(UTC)


def _why_not(text: str) -> str:
    dmy = _DMY.fullmatch(text)
    if dmy:
        first, second = int(dmy[1]), int(dmy[2])
        if 1 <= first <= 12 and 1 <= second <= 12 and first != second:
            return (
                f"{text!r} is ambiguous ({first} {_MONTHS[second - 1]} or "
                f"{second} {_MONTHS[first - 1]}?)"
            )
        return f"{text!r} is not in year-month-day order"
    if _LOST_PLUS.fullmatch(text):
        return f"{text!r} has lost the '+' of its offset (send it as %2B in a URL)"
    return f"{text!r} is not a date and time"


def _offset(text: str, typed: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise TimeInputError(f"{typed!r} has no valid offset ({text}). {ACCEPTED}.")
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _localise(naive: datetime, zone: ZoneInfo, typed: str) -> datetime:
    """``naive`` as a time on the clocks of ``zone``; refused when those clocks skip it (spring
    forward) or show it twice (fall back), since then it names no single moment."""
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise TimeInputError(
            f"{typed!r} does not exist in {zone.key}: the clocks skip it that day. {ACCEPTED}."
        )
    offsets = " or ".join(_offset_text(m) for m in (first, second))
    raise TimeInputError(
        f"{typed!r} happens twice in {zone.key} (the clocks go back that night); add its offset, "
        f"{offsets}"
    )


def _offset_text(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}{_suffix(moment)}"


def _suffix(moment: datetime) -> str:
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _clock(moment: datetime) -> str:
    if moment.microsecond:
        return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"
    return f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"


def utc_text(moment: datetime) -> str:
    """``moment`` in UTC as unambiguous ISO 8601 (``2026-12-11T05:00Z``): what links store."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d}T{_clock(moment)}Z"


def local_text(moment: datetime, zone: str) -> str:
    """``moment`` on the clocks of ``zone`` (``2026-12-11 06:00``), as a person types it; with
    its offset when those clocks show that time twice, so it reads back as the same moment."""
    tz = zone_of(zone)
    local = moment.astimezone(tz)
    naive = local.replace(tzinfo=None)
    shown = f"{local:%Y-%m-%d} {_clock(local)}"
    if naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset():
        return shown + _suffix(local)
    return shown


def _wall(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``clock`` on ``day`` in ``zone``: the first such moment when clocks show it twice, the
    moment the clocks jump to when they skip it."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def relative_window(
    token: str,
    *,
    now: datetime,
    zone: str,
    shift_starts: Mapping[str, time],
    shift_zone: str,
) -> tuple[datetime, datetime]:
    """The window ``token`` (a key of :data:`WINDOWS`) stands for at ``now``, in UTC.

    ``last-8h`` ends now; ``yesterday`` is the calendar day before today on the clocks of
    ``zone`` (23 or 25 hours across a DST change); ``shift`` runs from the latest shift start
    at or before now to the next one, on the clocks of ``shift_zone``.
    """
    now = now.astimezone(UTC)
    if token == "last-8h":
        return now - timedelta(hours=8), now
    if token == "yesterday":
        tz = zone_of(zone)
        today = now.astimezone(tz).date()
        midnight = time(0, 0)
        return _wall(today - timedelta(days=1), midnight, tz), _wall(today, midnight, tz)
    if token == "shift":
        if not shift_starts:
            raise TimeInputError("no shifts are defined")
        tz = zone_of(shift_zone)
        today = now.astimezone(tz).date()
        starts = sorted(
            _wall(today + timedelta(days=d), clock, tz)
            for d in (-1, 0, 1)
            for clock in shift_starts.values()
        )
        begun = max(s for s in starts if s <= now)
        return begun, min(s for s in starts if s > begun)
    raise TimeInputError(f"no time window {token!r}; choose one of {', '.join(WINDOWS)}")
