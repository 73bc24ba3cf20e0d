"""Case handling figures: open cases by age, durations. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

# Open cases by age in whole days since opening (the buckets the weekly report shows).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("90+", 91, None))


def age_bucket(opened_at: datetime, at: datetime) -> str:
    days = max((at - opened_at).days, 0)
    for name, low, high in AGE_BUCKETS:
        if days >= low and (high is None or days <= high):
            return name
    raise AssertionError("buckets cover every age")  # pragma: no cover


def ages(opened: Iterable[datetime], at: datetime) -> dict[str, int]:
    counts = {name: 0 for name, _, _ in AGE_BUCKETS}
    for o in opened:
        counts[age_bucket(o, at)] += 1
    return counts


def mean_hours(spans: Iterable[tuple[datetime, datetime | None]]) -> float | None:
    """The mean of (end - start) in hours over the spans that have ended; None if none has."""
    hours = [(end - start).total_seconds() / 3600 for start, end in spans if end is not None]
    return round(sum(hours) / len(hours), 2) if hours else None


def ranked(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Standard competition ranking (1, 2, 2, 4), lowest value first; units without a value come
    last, unranked (a township with no case has no time to first visit)."""
    with_value = sorted((r for r in rows if r[key] is not None), key=lambda r: (r[key], r["code"]))
    out: list[dict[str, Any]] = []
    rank, previous = 0, object()
    for i, row in enumerate(with_value, start=1):
        if row[key] != previous:
            rank, previous = i, row[key]
        out.append({**row, "rank": rank})
    out += [{**r, "rank": None} for r in sorted((r for r in rows if r[key] is None), key=lambda r: r["code"])]
    return out


def open_at(spans: Iterable[tuple[datetime, datetime | None]], instants: list[datetime]) -> list[int]:
    """How many cases were open at each instant: opened before it and not closed by then."""
    spans = list(spans)
    return [sum(1 for opened, closed in spans if opened < at and (closed is None or closed >= at))
            for at in instants]
