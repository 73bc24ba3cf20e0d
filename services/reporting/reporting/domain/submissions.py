"""Frozen submissions of a report: canonical JSON and its digest, what changed since, and the
weekly deadline. Pure.

What a county submits is the report's JSON as the API answers it, written canonically (keys
sorted, no insignificant whitespace, UTF-8, non-ASCII as is), so anyone holding the figures can
recompute the SHA-256. XLSX bytes are not reproducible (they carry timestamps), JSON is."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Literal

# Not figures: the newest event time moves with any event, even one that changes nothing here.
NOT_FIGURES = frozenset({"as_of"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEADLINE = re.compile(r"^\s*([a-zA-Z]+)\s+(\d{1,2}):(\d{2})\s*$")
Standing = Literal["on_time", "late", "missing", "pending"]


def canonical(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def digest(body: Any) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every scalar with its path; list items that carry a ``code`` (or ``class_id``) are keyed
    by it, so a school added to the list shows as that school, not as every later index moved."""
    if isinstance(value, dict):
        for k in sorted(value):
            if not path and k in NOT_FIGURES:
                continue
            yield from _leaves(value[k], f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            key = item.get("code") or item.get("class_id") if isinstance(item, dict) else None
            yield from _leaves(item, f"{path}[{key if key is not None else i}]")
    else:
        yield path, value


@dataclass(frozen=True)
class Change:
    path: str
    submitted: Any
    now: Any


def changes(submitted: Any, now: Any) -> list[Change]:
    """The figures that differ between the submitted report and the same report computed now
    (a figure present on one side only shows None on the other)."""
    before, after = dict(_leaves(submitted, "")), dict(_leaves(now, ""))
    return [Change(p, before.get(p), after.get(p)) for p in sorted(before.keys() | after.keys())
            if before.get(p) != after.get(p)]


@dataclass(frozen=True)
class Deadline:
    """A weekday and a local time in the report's ISO week: "friday 18:00" (the seed's 每周五)."""

    weekday: int  # ISO: Monday 1 .. Sunday 7
    at: time

    @classmethod
    def parse(cls, text: str) -> Deadline:
        m = DEADLINE.match(text)
        names = {n: i for i, n in enumerate(WEEKDAYS, start=1)} | {n[:3]: i for i, n in enumerate(WEEKDAYS, start=1)}
        if not m or m[1].lower() not in names or int(m[2]) > 23 or int(m[3]) > 59:
            raise ValueError(f"expected a weekday and a local time, e.g. 'friday 18:00', not {text!r}")
        return cls(names[m[1].lower()], time(int(m[2]), int(m[3])))

    def instant(self, year: int, week: int, tz: tzinfo) -> datetime:
        """The deadline of ISO week ``year-Wweek`` in UTC."""
        day = date.fromisocalendar(year, week, self.weekday)
        return datetime.combine(day, self.at, tz).astimezone(UTC)


def standing(first_submitted_at: datetime | None, deadline: datetime, now: datetime) -> Standing:
    """A county's weekly standing: its first submission by the deadline (on_time), after it
    (late), none yet while the deadline has not passed (pending), none after it (missing). A
    later correction does not make an on-time county late, nor a late one on time."""
    if first_submitted_at is None:
        return "pending" if now <= deadline else "missing"
    return "on_time" if first_submitted_at <= deadline else "late"

