"""Roster upkeep from registry events: enrolments, status changes (dated placements), class
promotions and merged records."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, select, update

from attendance.adapters.tables import chronic_flags, episodes, leaves, marks, placements, roster
from attendance.settings import AttendanceSettings
from attendance.usecases import completeness
from attendance.usecases.episodes import emit_ended, sync_episodes
from shared.events.registry import ClassPromoted, StudentEnrolled, StudentMerged, StudentStatusChanged
from shared.routes import Received
from shared.sql import upsert
from shared.statuses import ATTENDING
from shared.uow import UnitOfWork

SINCE_EVER = date(1900, 1, 1)


async def on_student_enrolled(uow: UnitOfWork, event: Received[StudentEnrolled], *,
                              settings: AttendanceSettings | None = None) -> None:
    d = event.data
    chain = d.org_chain or []
    values = {
        "school_code": d.school_code, "class_id": d.class_id, "grade": d.grade,
        "org_path": d.org_path, "org_chain": chain, "active": d.status in ATTENDING,
        "status": d.status, "updated_at": uow.clock.now(),
    }
    await upsert(uow.session, roster, {"student_id": d.student_id}, values)
    # Wired with the settings (bootstrap); a caller without them gets the service's default zone.
    zone = settings.timezone if settings is not None else AttendanceSettings.model_fields["timezone"].default
    await completeness.school_heard_of(uow, zone, d.school_code, d.org_path, chain)
    # The first placement stands for every date before it, so its date matters only to a record
    # enrolled again; an event without `enrolled_on` (an older producer's) is placed since ever.
    await _place(uow, d.student_id, d.enrolled_on or SINCE_EVER,
                 school_code=d.school_code, class_id=d.class_id, org_path=d.org_path, status=d.status)


async def on_class_promoted(uow: UnitOfWork, event: Received[ClassPromoted]) -> None:
    """A class moved up a grade at year end: the roster's grade follows (threshold events carry it)."""
    d = event.data
    await uow.session.execute(update(roster).where(roster.c.class_id == d.class_id).values(
        grade=d.grade, updated_at=uow.clock.now()))


async def on_student_status_changed(uow: UnitOfWork, event: Received[StudentStatusChanged], *,
                                    settings: AttendanceSettings) -> None:
    """The change takes effect as of its ``effective_on`` (the date on the paperwork), not when
    the event is processed: the child's episodes are recomputed with the new placement dated,
    so an episode ends on the day the child left the roll, and one observed before that day
    still fires (the detector claims ended episodes too)."""
    d = event.data
    active = d.status in ATTENDING
    now = uow.clock.now()
    # An event without `effective_on` (an older producer's) takes effect on the day it was sent.
    effective_on = d.effective_on or event.time.date()
    before = (await uow.session.execute(
        select(roster.c.active).where(roster.c.student_id == d.student_id))).scalar_one_or_none()
    values: dict[str, Any] = {"status": d.status, "active": active, "updated_at": now}
    for field in ("school_code", "class_id", "grade", "org_path", "org_chain"):
        if field in d.model_fields_set:  # only the placement the event carries
            values[field] = getattr(d, field)
    if active and before is False:
        # Kept for readers of the roster; episodes take the dated placements below. The date
        # begins first at UTC+14, so no session of it is cut off.
        values["attending_since"] = datetime.combine(effective_on, time.min, tzinfo=timezone(timedelta(hours=14)))
    await uow.session.execute(update(roster).where(roster.c.student_id == d.student_id).values(**values))
    now_placed = (await uow.session.execute(
        select(roster.c.school_code, roster.c.class_id, roster.c.org_path)
        .where(roster.c.student_id == d.student_id))).first()
    if now_placed is None:
        return  # a child this service never heard enrolled: nothing to check marks against
    await _place(uow, d.student_id, effective_on, school_code=now_placed.school_code,
                 class_id=now_placed.class_id, org_path=now_placed.org_path, status=d.status)
    await sync_episodes(uow, settings, [d.student_id])


async def _place(uow: UnitOfWork, student_id: str, effective_on: date, *, school_code: str, class_id: str,
                 org_path: list[str], status: str) -> None:
    """Where the child is from ``effective_on`` on; a second change on the same date replaces the
    first (the registry orders a child's events)."""
    await upsert(uow.session, placements, {"student_id": student_id, "effective_on": effective_on},
                 {"school_code": school_code, "class_id": class_id, "org_path": org_path, "status": status,
                  "active": status in ATTENDING})


async def on_student_merged(uow: UnitOfWork, event: Received[StudentMerged]) -> None:
    """Two records of one child made one: the merged id's marks, leave, episodes and chronic flags
    become the kept id's. A mark or flag the kept record already has for the same roll call or
    term wins. The merged record's open episodes end (it is not attending: the kept record says
    where the child is), announced once if they had fired, and its roster row goes. The kept
    record's episodes are recomputed from all its marks at its next roll call."""
    d = event.data
    kept, merged = d.kept_id, d.merged_id
    now = uow.clock.now()
    fired = (await uow.session.execute(
        update(episodes).where(episodes.c.student_id == merged, episodes.c.ended_at.is_(None))
        .values(ended_at=now, end_reason="not_attending")
        .returning(episodes.c.id, episodes.c.started_at, episodes.c.threshold_fired_at))).all()
    for table, key in ((marks, marks.c.roll_call_id), (chronic_flags, chronic_flags.c.term)):
        theirs = table.alias("kept_rows")
        clash = select(theirs.c.student_id).where(theirs.c.student_id == kept, theirs.c[key.name] == key).exists()
        await uow.session.execute(update(table).where(table.c.student_id == merged, ~clash).values(student_id=kept))
        await uow.session.execute(delete(table).where(table.c.student_id == merged))
    await uow.session.execute(update(leaves).where(leaves.c.student_id == merged).values(student_id=kept))
    live = episodes.alias("kept_live")
    clash = select(live.c.id).where(live.c.student_id == kept, live.c.started_at == episodes.c.started_at,
                                    live.c.end_reason.is_(None) | (live.c.end_reason == "returned")).exists()
    await uow.session.execute(update(episodes).where(episodes.c.student_id == merged, ~clash).values(student_id=kept))
    await uow.session.execute(delete(roster).where(roster.c.student_id == merged))
    # The dated placements are the child's history of where they were: the merged record's
    # dates before the kept record's first one say where the marks just moved were taken, so
    # they join the kept record's history; later ones describe a record that no longer exists.
    first_kept = select(func.min(placements.c.effective_on)).where(placements.c.student_id == kept).scalar_subquery()
    await uow.session.execute(update(placements).where(
        placements.c.student_id == merged,
        (placements.c.effective_on < first_kept) | first_kept.is_(None)).values(student_id=kept))
    await uow.session.execute(delete(placements).where(placements.c.student_id == merged))
    for row in fired:
        if row.threshold_fired_at is not None:
            emit_ended(uow, _Ended(row.id, kept, row.started_at), now, "not_attending")


class _Ended:
    """The fields ``emit_ended`` reads, for an episode now under the kept id."""

    def __init__(self, id: str, student_id: str, started_at: datetime) -> None:
        self.id, self.student_id, self.started_at = id, student_id, started_at
