"""Chronic absence: flag, once per term, a student whose missed share of the term reached the
threshold."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from attendance.adapters.tables import chronic_flags, roster
from attendance.domain import chronic
from attendance.domain.calendar import Calendar
from attendance.queries.attendance import term_counts
from attendance.settings import AttendanceSettings
from shared.envelope import stable_id
from shared.events.attendance import ChronicAbsenceFlagged
from shared.sql import insert_ignoring_conflicts
from shared.uow import UnitOfWork


async def flag_chronic(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str],
                        calendar: Calendar, day: date) -> None:
    """Flag (once per student per term, by the flags' primary key) students whose missed share
    of the term holding ``day`` reached the threshold, and emit `chronic_absence.flagged` for the
    new flags only."""
    if not student_ids:
        return
    term = calendar.term_for_counting(day)
    counts = (await uow.session.execute(*term_counts(uow.session, student_ids, calendar, term))).all()
    crossed = {c.student_id: chronic.Share(c.sessions, int(c.missed or 0)) for c in counts
               if chronic.Share(c.sessions, int(c.missed or 0)).flagged(settings.chronic_absence_threshold,
                                                                         settings.chronic_absence_min_sessions)}
    if not crossed:
        return
    now = uow.clock.now()
    new = (await uow.session.execute(
        insert_ignoring_conflicts(uow.session, chronic_flags)
        .values([{"student_id": sid, "term": term.name, "sessions": sh.sessions, "missed": sh.missed,
                  "flagged_at": now} for sid, sh in crossed.items()])
        .returning(chronic_flags.c.student_id)
    )).scalars().all()
    places = {r.student_id: r for r in (await uow.session.execute(
        select(roster).where(roster.c.student_id.in_(new)))).all()} if new else {}
    for sid in new:
        share, place = crossed[sid], places[sid]
        uow.emit(
            ChronicAbsenceFlagged(
                student_id=sid, term=term.name, term_start=term.start, term_end=term.end,
                sessions=share.sessions, missed=share.missed, rate=round(share.rate, 4),
                threshold=settings.chronic_absence_threshold, school_code=place.school_code,
                class_id=place.class_id, grade=place.grade, org_path=place.org_path),
            subject=sid, event_id=stable_id("chronic", sid, term.name),
        )
