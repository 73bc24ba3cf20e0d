"""The 48-hour clock: how many hours of an episode count, and when they reach the threshold.

Pure: a function of (episode start, now, calendar, approved leave). Two counting modes:

* ``school_hours`` (the default): only time on school days counts, and a school day counts in
  full, 24 hours from local midnight to midnight. Weekends, public holidays and vacations count
  nothing; a make-up working day (调休) counts like any school day.
* ``wall_clock``: every hour counts.

In both modes time covered by approved leave does not count: the rule is 48 hours absent
*without leave*. Absent from Thursday 08:00: wall clock reaches 48 h on Saturday 08:00; school
hours count Thursday 16 h + Friday 24 h, skip the weekend, and reach 48 h on Monday 08:00.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Literal

from attendance.domain.calendar import Calendar
from attendance.domain.episodes import LeaveSpan

Counting = Literal["school_hours", "wall_clock"]
HOUR = timedelta(hours=1)
# How far ahead a due instant is looked for. An episode that cannot reach the threshold within
# a year of school days (a calendar with no school day left) has no due instant until the
# calendar changes.
HORIZON = timedelta(days=400)


def _school_spans(start: datetime, calendar: Calendar, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    day = calendar.local_date(start)
    while (begin := calendar.local_midnight(day)) < until:
        end = calendar.local_midnight(day + timedelta(days=1))
        if calendar.is_school_day(day) and end > start:
            yield max(begin, start), min(end, until)
        day += timedelta(days=1)


def _minus(spans: Iterable[tuple[datetime, datetime]], excused: list[LeaveSpan]) -> Iterator[tuple[datetime, datetime]]:
    """The spans with the leave taken out, in order."""
    for a, b in spans:
        cuts = sorted((max(a, leave.start), min(b, leave.end)) for leave in excused if leave.start < b and leave.end > a)
        for ca, cb in cuts:
            if ca > a:
                yield a, ca
            a = max(a, cb)
        if a < b:
            yield a, b


def counted_spans(start: datetime, calendar: Calendar, counting: Counting, leaves: Iterable[LeaveSpan] = (),
                  until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
    """The spans of time that count, from the episode's start, in order."""
    until = until if until is not None else start + HORIZON
    if until <= start:
        return iter(())
    spans = [(start, until)] if counting == "wall_clock" else _school_spans(start, calendar, until)
    return _minus(spans, list(leaves))


def counted_hours(start: datetime, now: datetime, calendar: Calendar, counting: Counting,
                  leaves: Iterable[LeaveSpan] = ()) -> float:
    """Hours of the episode that count, from its start until ``now`` (or until it ended)."""
    return sum(((b - a) for a, b in counted_spans(start, calendar, counting, leaves, until=now)),
               timedelta()) / HOUR


def due_at(start: datetime, calendar: Calendar, counting: Counting, threshold_hours: float,
           leaves: Iterable[LeaveSpan] = ()) -> datetime | None:
    """The instant the counted hours reach the threshold, or None if not within the horizon."""
    left = timedelta(hours=threshold_hours)
    for a, b in counted_spans(start, calendar, counting, leaves):
        if b - a >= left:
            return a + left
        left -= b - a
    return None
