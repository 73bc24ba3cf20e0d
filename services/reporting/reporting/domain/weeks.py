"""ISO weeks with a Friday cut-off. Pure.

The weekly report for ISO week W covers the seven days that end at the end of W's Friday
(local time): from the end of the previous Friday (exclusive) to the end of this Friday
(inclusive). Figures "as of" the report are those at the cut-off."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Week:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> Week:
        m = WEEK.match(text)
        if not m:
            raise ValueError("expected an ISO week as YYYY-Www, e.g. 2026-W47")
        year, week = int(m[1]), int(m[2])
        try:
            date.fromisocalendar(year, week, 5)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}") from None
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def friday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 5)

    def previous(self) -> Week:
        y, w, _ = (self.friday - timedelta(days=7)).isocalendar()
        return Week(y, w)

    def window(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """(start, cut-off] in UTC: the end of the previous Friday to the end of this one."""
        cutoff = end_of_day(self.friday, tz)
        return cutoff - timedelta(days=7), cutoff


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The first instant after ``day`` in local time, in UTC: "as of D" includes all of D."""
    return datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)


def week_of(day: date) -> Week:
    y, w, _ = day.isocalendar()
    return Week(y, w)
