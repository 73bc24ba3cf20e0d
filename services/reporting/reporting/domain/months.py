"""Calendar months for the monthly report (学校辍学月报表). Pure.

A month's figures are flows between two instants: the state at its start is the state at the
end of the previous month's last day (local time), and a status change counts in the month its
effective date falls in, from the 1st to the last day inclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from reporting.domain.weeks import end_of_day

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = MONTH.match(text)
        if not m or not 1 <= int(m[2]) <= 12:
            raise ValueError("expected a month as YYYY-MM, e.g. 2026-11")
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        following = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return following - timedelta(days=1)

    def window(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of the 1st to local midnight after the last day."""
        return end_of_day(self.first - timedelta(days=1), tz), end_of_day(self.last, tz)
