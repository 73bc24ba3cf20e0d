"""Calendar reads: an org's own layer and the effective calendar, described."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from attendance.adapters.inputs import calendar_of
from attendance.adapters.tables import calendars
from attendance.domain import national
from attendance.domain.calendar import Calendar
from attendance.settings import AttendanceSettings
from shared.uow import UnitOfWork


async def get_calendar(uow: UnitOfWork, settings: AttendanceSettings, code: str, path: list[str]) -> dict[str, Any]:
    """The org's layer and effective calendar; ``path`` is the org's, checked visible (``VisibleOrg``)."""
    doc = (await uow.session.execute(
        select(calendars.c.body).where(calendars.c.org_code == code))).scalar_one_or_none()
    return {"code": code, "school_code": code, "layer": doc or {},
            "effective": describe(await calendar_of(uow, settings, path))}


def describe(cal: Calendar) -> dict[str, Any]:
    return {"timezone": cal.timezone, "weekdays": sorted(cal.weekdays),
            "terms": [{"name": t.name, "start": t.start.isoformat(), "end": t.end.isoformat()} for t in cal.terms],
            "holidays": sorted(d.isoformat() for d, k in cal.days.items() if k == "holiday"),
            "make_up_days": sorted(d.isoformat() for d, k in cal.days.items() if k == "school_day"),
            "sessions": {k: v.strftime("%H:%M") for k, v in cal.sessions.items()},
            "roll_calls": _roll_calls_expected(cal), "national": _national(cal)}


def _national(cal: Calendar) -> dict[str, Any]:
    """The national layer as it applies inside the stored terms, and until when it is known:
    a term reaching past that date gets a warning (weekdays are the only rule there) until the
    library is updated or the county enters the year's days itself."""
    if not cal.national:
        return {"source": None, "known_until": None, "holidays": [], "make_up_days": [], "warnings": []}
    in_terms = sorted(d for d in cal.national if cal.term_of(d) is not None)
    past = [t for t in cal.terms if t.end > national.KNOWN_UNTIL]
    return {"source": national.SOURCE, "known_until": national.KNOWN_UNTIL.isoformat(),
            "holidays": [d.isoformat() for d in in_terms if cal.national[d] == "holiday"],
            "make_up_days": [d.isoformat() for d in in_terms if cal.national[d] == "school_day"],
            "warnings": [f"national holidays and make-up days are known only until {national.KNOWN_UNTIL.isoformat()}; "
                         f"term {t.name} runs to {t.end.isoformat()}: enter that year's days in the county calendar"
                         for t in past]}


def _roll_calls_expected(cal: Calendar) -> dict[str, Any]:
    """Whether this calendar expects roll calls at all, and from when: without a stored term
    nothing is expected (a vacation would otherwise be a flood of missing roll calls)."""
    return {"expected": bool(cal.terms),
            "reason": None if cal.terms else "no term stored: no roll call is expected until a term is",
            "from": cal.roll_calls_from.isoformat() if cal.roll_calls_from else None,
            "from_default": "the school's first roster day", "sync_interval_days": cal.sync_interval_days}
