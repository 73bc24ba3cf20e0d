"""Roll calls that should have been taken: which sessions a class expects, when one that has not
come counts as missing, and when a class's missing days are escalated to its township.

Pure, no I/O. A missing roll call is its own problem (the monitoring system, 动态监测), never a
mark about any child: nothing here touches episodes.

* A class expects an ``am`` and a ``pm`` roll call on each school day inside a **stored** term,
  from the calendar's ``roll_calls_from`` (else the school's first roster day). With no term
  stored nothing is expected: the clock's "every date is in term" default would make every
  vacation day a missing roll call.
* A session is missing ``due`` after it starts, plus the school's ``sync_interval_days`` (a
  teaching point whose tablet syncs weekly is not chased the same evening).
* A class that missed every expected session of ``alert_days`` consecutive school days is
  escalated once per such run, named by the run's first day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from attendance.domain.calendar import SESSIONS, Calendar


@dataclass(frozen=True, order=True)
class Session:
    day: date
    session: str
    starts_at: datetime  # UTC


def expects(calendar: Calendar, day: date) -> bool:
    """Whether a roll call is expected on ``day``: a school day inside a stored term."""
    return calendar.term_of(day) is not None and calendar.is_school_day(day)


def first_expected_day(calendar: Calendar, first_roster_day: date) -> date:
    return calendar.roll_calls_from or first_roster_day


def missing_since(calendar: Calendar, starts_at: datetime, due: timedelta) -> datetime:
    """The instant a session with no roll call becomes missing."""
    return starts_at + due + timedelta(days=calendar.sync_interval_days)


def expected_sessions(calendar: Calendar, start: date, end: date) -> list[Session]:
    """The sessions expected from ``start`` to ``end`` (local dates, inclusive), in order."""
    found: list[Session] = []
    day = start
    while day <= end:
        if expects(calendar, day):
            found.extend(Session(day, s, calendar.session_at(day, s)) for s in SESSIONS)
        day += timedelta(days=1)
    return found


def missing_by(calendar: Calendar, start: date, now: datetime, due: timedelta) -> list[Session]:
    """The expected sessions from ``start`` that are missing by ``now`` if no roll call came."""
    end = calendar.local_date(now)
    return [s for s in expected_sessions(calendar, start, end) if missing_since(calendar, s.starts_at, due) <= now]


def missed_runs(expected: Sequence[Session], missing: Iterable[tuple[date, str]], alert_days: int) -> list[date]:
    """The first day of each run of at least ``alert_days`` consecutive expected school days on
    which every expected session is missing. Consecutive is in school days: a weekend or a
    holiday between two missed days does not break the run."""
    gone = set(missing)
    days: dict[date, bool] = {}
    for s in expected:
        days[s.day] = days.get(s.day, True) and (s.day, s.session) in gone
    runs: list[date] = []
    start: date | None = None
    length = 0
    for day in sorted(days):
        if days[day]:
            start, length = (day, 1) if length == 0 else (start, length + 1)
            if length == alert_days:
                runs.append(start)  # type: ignore[arg-type]
        else:
            length = 0
    return runs
