"""A school's calendar: which local dates are school days, its terms and its session times.

Pure data, no I/O. A school's calendar is the county default overlaid with the school's own
entries (`layered`). China moves working days around public holidays (调休), so weekdays are
only the default: a dated entry (`holiday` or `school_day`) always wins over the weekday rule,
and outside every term (vacation) no day is a school day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

DayKind = Literal["holiday", "school_day"]
SESSIONS = ("am", "pm")


@dataclass(frozen=True)
class Term:
    name: str
    start: date
    end: date  # inclusive

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Calendar:
    timezone: str = "Asia/Shanghai"
    weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays that are school days
    terms: tuple[Term, ...] = ()  # none known: every date is in term
    days: Mapping[date, DayKind] = field(default_factory=dict)  # holidays and make-up days (调休)
    sessions: Mapping[str, time] = field(default_factory=lambda: {"am": time(8, 0), "pm": time(14, 0)})
    # Roll calls are expected from this date (null: from the school's first roster day), so a
    # county adopting the system is not buried in missing history.
    roll_calls_from: date | None = None
    # A teaching point that syncs its tablet weekly: its sessions are judged missing this many
    # days later than the others.
    sync_interval_days: int = 0
    # The national layer (public holidays and 调休 working days), under every stored layer.
    national: Mapping[date, DayKind] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def term_of(self, day: date) -> Term | None:
        return next((t for t in self.terms if day in t), None)

    def term_for_counting(self, day: date) -> Term:
        """The term a date belongs to for per-term figures; without stored terms, the school
        year's halves (autumn: 1 Sep to 31 Jan, spring: 1 Feb to 31 Aug)."""
        term = self.term_of(day)
        if term is not None:
            return term
        if day.month >= 9:
            return Term(f"{day.year}-autumn", date(day.year, 9, 1), date(day.year + 1, 1, 31))
        if day.month == 1:
            return Term(f"{day.year - 1}-autumn", date(day.year - 1, 9, 1), date(day.year, 1, 31))
        return Term(f"{day.year}-spring", date(day.year, 2, 1), date(day.year, 8, 31))

    def in_term(self, day: date) -> bool:
        return not self.terms or self.term_of(day) is not None

    def is_school_day(self, day: date) -> bool:
        if not self.in_term(day):
            return False
        kind = self.days.get(day) or self.national.get(day)
        if kind is not None:
            return kind == "school_day"
        return day.isoweekday() in self.weekdays

    def local_midnight(self, day: date) -> datetime:
        """The instant (UTC) a local date begins."""
        return datetime.combine(day, time(0, 0), tzinfo=self.tz).astimezone(UTC)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def session_at(self, day: date, session: str) -> datetime:
        """The instant (UTC) a roll-call session of a local date starts: the mark's time."""
        return datetime.combine(day, self.sessions[session], tzinfo=self.tz).astimezone(UTC)

    def school_days(self, start: date, end: date) -> Iterable[date]:
        day = start
        while day <= end:
            if self.is_school_day(day):
                yield day
            day += timedelta(days=1)


# --- stored documents ------------------------------------------------------------------------
# A calendar is stored per org code (a county's default, a school's own) as a JSON document with
# only the fields that org set; `layered` overlays them from the county down to the school.

def _terms(doc: Mapping[str, Any]) -> tuple[Term, ...] | None:
    if doc.get("terms"):
        return tuple(Term(t.get("name") or f"{t['start']}..{t['end']}", date.fromisoformat(t["start"]),
                          date.fromisoformat(t["end"])) for t in doc["terms"])
    if doc.get("term_start") and doc.get("term_end"):  # the first calendar shape: one term
        start, end = doc["term_start"], doc["term_end"]
        return (Term(f"{start}..{end}", date.fromisoformat(start), date.fromisoformat(end)),)
    return None


def _days(doc: Mapping[str, Any]) -> dict[date, DayKind]:
    days: dict[date, DayKind] = {date.fromisoformat(d): "holiday" for d in doc.get("holidays") or ()}
    days.update({date.fromisoformat(d): "school_day" for d in doc.get("make_up_days") or ()})
    return days


def layered(docs: Iterable[Mapping[str, Any]], *, timezone_name: str, am: time, pm: time,
            national: Mapping[date, DayKind] | None = None) -> Calendar:
    """The effective calendar from stored documents, most general first (county, then school),
    over the national layer (public holidays and 调休 working days) when one is given.

    A later document replaces the earlier's weekdays, terms and session times when it sets them;
    dated entries merge per date, the later (the school's) winning: a school may teach on a county
    holiday or close on a county school day."""
    weekdays = frozenset({1, 2, 3, 4, 5})
    terms: tuple[Term, ...] = ()
    days: dict[date, DayKind] = {}
    sessions = {"am": am, "pm": pm}
    roll_calls_from: date | None = None
    sync_interval_days = 0
    for doc in docs:
        if doc.get("roll_calls_from"):
            roll_calls_from = date.fromisoformat(doc["roll_calls_from"])
        if doc.get("sync_interval_days") is not None:
            sync_interval_days = int(doc["sync_interval_days"])
        if doc.get("weekdays") is not None:
            weekdays = frozenset(doc["weekdays"])
        terms = _terms(doc) or terms
        days.update(_days(doc))
        for name, value in (doc.get("sessions") or {}).items():
            sessions[name] = time.fromisoformat(value)
    return Calendar(timezone=timezone_name, weekdays=weekdays, terms=terms, days=days, sessions=sessions,
                    roll_calls_from=roll_calls_from, sync_interval_days=sync_interval_days,
                    national=national if national is not None else {})
