"""The 48-hour detector: claim every observed, unfired episode and announce it once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from attendance.adapters.inputs import load_inputs
from attendance.adapters.tables import LIVE, episodes, roster
from attendance.domain import clock
from attendance.settings import AttendanceSettings
from attendance.usecases.episodes import emit_ended
from shared.envelope import stable_id
from shared.events.attendance import AbsenceThresholdReached
from shared.uow import UnitOfWork


async def detect_overdue(uow: UnitOfWork, settings: AttendanceSettings) -> int:
    """One set-based pass: claim every observed, unfired episode — open, or ended already (the
    roll calls were typed in after the child came back) — and emit `threshold_reached` for
    each, in one transaction. An episode that had ended when claimed is `detected_late`, and
    its end is announced with it (`student.returned`), so the case opens knowing the child is back.

    Exactly once with any number of detectors: the UPDATE only matches rows whose
    threshold_fired_at is still NULL, so a concurrent pass (PostgreSQL re-checks the WHERE after
    the row lock; SQLite serialises writers) claims nothing twice. The event id is derived from
    the episode, so even a replayed outbox row is recognised downstream."""
    now = uow.clock.now()
    # observed_at is the session whose mark showed the child still away at or after the due
    # instant; the window leaves that roll call time to be corrected before anyone is told.
    cutoff = now - timedelta(minutes=settings.absence_roll_call_grace_minutes)
    # EXISTS, not IN (SELECT all students): both planners then walk the partial observed_at
    # index and look each candidate up on the roster, instead of scanning 100,000 students.
    known = select(roster.c.student_id).where(roster.c.student_id == episodes.c.student_id).exists()
    claimable = (episodes.c.observed_at.is_not(None), episodes.c.threshold_fired_at.is_(None),
                 episodes.c.observed_at <= cutoff, LIVE, known)
    # Skip rows a roll call is changing right now (the next pass gets them): a plain UPDATE
    # would lock the rows in scan order against the roll call's student order and deadlock
    # (seen under a burst of roll calls on PostgreSQL). SQLite ignores the clause; it has one writer.
    free = select(episodes.c.id).where(*claimable).with_for_update(skip_locked=True)
    claimed = (await uow.session.execute(
        update(episodes)
        .where(episodes.c.id.in_(free.scalar_subquery()), *claimable)
        .values(threshold_fired_at=now, detected_late=episodes.c.ended_at.is_not(None))
        .returning(episodes.c.id, episodes.c.student_id, episodes.c.started_at, episodes.c.last_absent_at,
                   episodes.c.absent_sessions, episodes.c.due_at, episodes.c.observed_at, episodes.c.ended_at,
                   episodes.c.end_reason)
    )).all()
    if not claimed:
        await uow.rollback()
        return 0
    got = await load_inputs(uow, settings, [c.student_id for c in claimed], with_marks=False)
    for ep in claimed:
        r = got.places[ep.student_id]
        late = ep.ended_at is not None
        # Counted until now, or until the child came back or left the roll.
        hours = clock.counted_hours(ep.started_at, min(now, ep.ended_at) if late else now, got.calendars[ep.student_id],
                                    settings.absence_counting, got.leaves[ep.student_id])
        uow.emit(
            AbsenceThresholdReached(
                student_id=ep.student_id, episode_id=ep.id, episode_started_at=ep.started_at,
                last_absent_at=ep.last_absent_at, absent_sessions=ep.absent_sessions,
                hours=round(hours, 2),
                threshold_hours=settings.absence_threshold_hours, counting=settings.absence_counting,
                due_at=ep.due_at, observed_at=ep.observed_at, detected_late=late,
                ended_at=ep.ended_at, end_reason=ep.end_reason,
                school_code=r.school_code, class_id=r.class_id, grade=r.grade, org_path=r.org_path,
                org_chain=r.org_chain,
            ),
            subject=ep.student_id,
            # The episode row's id: the same episode never gets a second id, whatever its start.
            event_id=stable_id("threshold", ep.id),
        )
        if late:
            # Same key, emitted after it: every fired episode that ends is announced once.
            emit_ended(uow, ep, ep.ended_at, ep.end_reason or "returned")
    await uow.commit()
    return len(claimed)
