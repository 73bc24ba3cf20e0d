"""Recording a roll call: checked against the class, placements and calendar of its date,
stored (replacing an earlier send, kept as a revision), announced, and the named students'
episodes and chronic-absence flags recomputed."""

from __future__ import annotations

import json
from collections import namedtuple
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, null, select, union_all
from sqlalchemy.dialects import postgresql

from attendance.adapters.inputs import calendar_of, calendar_on_path, placement_on, roster_and_placements
from attendance.adapters.tables import LIVE, episodes, marks, roll_call_revisions, roll_calls
from attendance.domain import episodes as rule
from attendance.domain.roll_calls import Placed, RollCall, rejection
from attendance.queries.scope import class_in_scope
from attendance.settings import AttendanceSettings
from attendance.usecases import completeness
from attendance.usecases.chronic import flag_chronic
from attendance.usecases.episodes import sync_episodes
from shared import audit
from shared.auth import Principal
from shared.errors import Invalid
from shared.sql import any_of, built_once, dialect_of, ignoring_conflicts, insert_many
from shared.uow import UnitOfWork

# A roll call's statements are built once (see `built_once`): every roll call runs them.
_LIVE_EPISODES = built_once(lambda d: select(episodes).where(any_of(d, episodes.c.student_id, "ids"), LIVE))
_NEW_ROLL_CALL = built_once(lambda d: ignoring_conflicts(d, roll_calls).returning(roll_calls.c.id))


def _stored_at_once() -> Any:
    """PostgreSQL: a new roll call, its marks and the filling of its class-session's gap, in one
    statement (three round trips were a fifth of a roll call's), which also reads the live
    episodes of the students named (another round trip). Data-modifying CTEs all run once: the
    marks are inserted only when the roll call was (a taken class-session inserts neither, and is
    replaced as before), the gap is filled either way; the episodes are read from the snapshot
    the statement started on, so as before the roll call (none of it writes episodes). Rows: the
    new roll call's id (none when taken), the gap it filled, if any, and each live episode
    (``ep_*``, its columns), the other columns NULL."""
    names = [c.name for c in roll_calls.c if c.name != "id"]
    new = (ignoring_conflicts("postgresql", roll_calls)
           .values({n: bindparam(f"rc_{n}", type_=roll_calls.c[n].type) for n in names})
           .returning(roll_calls.c.id).cte("new_roll_call"))
    students = bindparam("mark_students", type_=postgresql.ARRAY(marks.c.student_id.type))
    stored = insert(marks).from_select(["roll_call_id", "student_id", "at", "status"], select(
        new.c.id, func.unnest(students), bindparam("mark_at", type_=marks.c.at.type),
        func.unnest(bindparam("mark_statuses", type_=postgresql.ARRAY(marks.c.status.type))))).cte("new_marks")
    filled = completeness.fill_gap("rc_class_id", "rc_date", "rc_session", "rc_received_at").cte("filled_gap")

    def nulls(*columns: Any) -> list[Any]:
        return [null().cast(c.type).label(c.name) for c in columns]

    no_episode = [null().cast(c.type).label(f"ep_{c.name}") for c in episodes.c]
    return union_all(
        select(new.c.id, *nulls(filled.c.missing_since, filled.c.org_path), *no_episode),
        select(null().cast(roll_calls.c.id.type), filled.c.missing_since, filled.c.org_path, *no_episode),
        select(*nulls(roll_calls.c.id, filled.c.missing_since, filled.c.org_path),
               *(c.label(f"ep_{c.name}") for c in episodes.c))
        .where(episodes.c.student_id == func.any(students), LIVE),
    ).add_cte(stored)


# A live episode read by _STORED_AT_ONCE, like a row of episodes.
_Episode = namedtuple("_Episode", [c.name for c in episodes.c])  # type: ignore[misc]
_STORED_AT_ONCE = _stored_at_once()


async def record_roll_call(uow: UnitOfWork, settings: AttendanceSettings, cmd: RollCall,
                           caller: Principal) -> dict[str, Any]:
    stored = await store_roll_call(uow, settings, cmd, caller)
    await uow.commit()
    return stored


async def store_roll_call(uow: UnitOfWork, settings: AttendanceSettings, cmd: RollCall, caller: Principal, *,
                          client_id: str | None = None, fingerprint: str | None = None) -> dict[str, Any]:
    """A roll call for a class-session, replacing the one received before (the last received
    wins, whatever the devices' clocks say); the send it replaces is kept as a revision. Not committed."""
    ids = [m.student_id for m in cmd.marks]
    # The roster rows and dated placements of the students named, and the calendar layers on
    # their org paths, in one round trip.
    known, dated, layers = await roster_and_placements(uow, ids)
    # A student of the class named in it tells where the class is, saving a query; when none is
    # (a wrong list), the class is looked up on its own.
    place = next((r for r in known.values() if r.class_id == cmd.class_id), None)
    on_roster = place is not None and caller.sees(place.org_path, cmd.class_id)
    if place is None or not on_roster:
        place = await class_in_scope(uow, cmd.class_id, caller)  # answers 404, or notes its place
    else:
        audit.note_place(place.org_path)
    # Checked against the class and status on the roll call's own date (the placement then).
    placed = {}
    for sid, r in known.items():
        then = placement_on(dated[sid], cmd.date) if sid in dated else r
        placed[sid] = Placed(then.class_id, then.active)
    today_local = uow.clock.now().astimezone(ZoneInfo(settings.timezone)).date()
    if refused := rejection(cmd, class_school=place.school_code, placed=placed, today=today_local):
        raise Invalid(refused.detail, errors=refused.errors)
    # A named student's path was read with its calendar layers; a class looked up on its own was not.
    calendar = calendar_on_path(settings, layers, place.org_path) if on_roster \
        else await calendar_of(uow, settings, place.org_path)
    at = calendar.session_at(cmd.date, cmd.session)
    roll_call = {"school_code": cmd.school_code, "class_id": cmd.class_id, "date": cmd.date, "session": cmd.session,
                 "session_at": at, "received_at": uow.clock.now(), "device_recorded_at": cmd.recorded_at,
                 "sender": caller.subject, "client_id": client_id, "fingerprint": fingerprint}
    # Most roll calls are new: try the insert first, and look for the one to replace only when the
    # (class, date, session) is taken.
    gap: Any = completeness.NOT_CHECKED
    if dialect_of(uow.session) == "postgresql":
        # One round trip stores a new roll call, its marks, fills its gap and reads the live
        # episodes of the students named (see _STORED_AT_ONCE).
        rows = (await uow.session.execute(_STORED_AT_ONCE, {
            **{f"rc_{k}": v for k, v in roll_call.items()}, "mark_students": ids, "mark_at": at,
            "mark_statuses": [m.status for m in cmd.marks]})).all()
        roll_call_id = next((r.id for r in rows if r.id is not None), None)
        live: dict[str, list[Any]] | None = {sid: [] for sid in ids}
        for r in rows:
            if r.ep_id is not None:
                live[r.ep_student_id].append(_Episode(*(getattr(r, f"ep_{c.name}") for c in episodes.c)))
        gap = next((completeness.FilledGap(r.missing_since, r.org_path, roll_call["received_at"])
                    for r in rows if r.id is None and r.ep_id is None), None)
        marks_stored = roll_call_id is not None
    else:
        roll_call_id = (await uow.session.execute(_NEW_ROLL_CALL(uow.session), roll_call)).scalar_one_or_none()
        live = await _live_episodes(uow, ids) if roll_call_id is not None else None
        marks_stored = False
    replaced = roll_call_id is None
    if replaced:
        live = None
        before = (await uow.session.execute(
            select(roll_calls).where(roll_calls.c.class_id == cmd.class_id, roll_calls.c.date == cmd.date,
                                     roll_calls.c.session == cmd.session))).one()
        existing = before.id
        earlier = (await uow.session.execute(
            select(marks.c.student_id, marks.c.status).where(marks.c.roll_call_id == existing))).all()
        # Re-posting replaces the roll call: every student named before or now is recomputed.
        affected = set(ids) | {m.student_id for m in earlier}
        # The replaced send is kept, with who sent it and when (the last received wins).
        await uow.session.execute(insert(roll_call_revisions).values(
            client_id=before.client_id, class_id=before.class_id, date=before.date, session=before.session,
            sender=before.sender, device_recorded_at=before.device_recorded_at, received_at=before.received_at,
            fingerprint=before.fingerprint, replaced_at=roll_call["received_at"],
            marks=json.dumps([{"student_id": m.student_id, "status": m.status} for m in earlier])))
        await uow.session.execute(delete(marks).where(marks.c.roll_call_id == existing))
        await uow.session.execute(delete(roll_calls).where(roll_calls.c.id == existing))
        roll_call_id = (await uow.session.execute(
            insert(roll_calls).values(**roll_call).returning(roll_calls.c.id))).scalar_one()
    else:
        assert live is not None
        affected = _changed_by(cmd, at, live)
    if not marks_stored:
        # One statement for the whole class, not one per student.
        await insert_many(uow.session, marks, [{"roll_call_id": roll_call_id, "student_id": m.student_id, "at": at,
                                                "status": m.status} for m in cmd.marks])
    await completeness.roll_call_stored(
        uow, settings, calendar, roll_call_id=roll_call_id, school_code=cmd.school_code, org_path=place.org_path,
        class_id=cmd.class_id,
        day=cmd.date, session=cmd.session, at=at, statuses=[m.status for m in cmd.marks], replaced=replaced,
        filled=gap)
    # What was read above is handed on (placements; the live episodes of a new roll call's
    # students): a roll call's clock recomputation reads marks and leave only.
    await sync_episodes(uow, settings, sorted(affected), calendar=calendar, places=known, dated=dated,
                        live=live)
    # Every student named: a present mark can bring a student to the minimum number of sessions.
    await flag_chronic(uow, settings, sorted(set(ids) | affected), calendar, cmd.date)
    return {"school_code": cmd.school_code, "class_id": cmd.class_id, "date": cmd.date, "session": cmd.session,
            "marks": len(cmd.marks), "replaced": replaced}


async def _live_episodes(uow: UnitOfWork, ids: list[str]) -> dict[str, list[Any]]:
    """The live episodes of the students named, in one query (most have none)."""
    found: dict[str, list[Any]] = {sid: [] for sid in ids}
    for row in (await uow.session.execute(_LIVE_EPISODES(uow.session), {"ids": ids})).all():
        found[row.student_id].append(row)
    return found


def _changed_by(cmd: RollCall, at: datetime, live: dict[str, list[Any]]) -> set[str]:
    """The students whose episodes a new roll call at ``at`` can change; most of a class is
    present with no episode, and recomputing them would only find what is stored.

    An absent mark can start or extend an episode. A present or late mark matters only inside an
    episode (open, or ended after ``at``: a roll call posted late splits it). A leave mark neither
    starts nor ends one (`rule.episodes`)."""
    absent = {m.student_id for m in cmd.marks if m.status == "absent"}
    inside = {m.student_id for m in cmd.marks if m.status in rule.SEEN and any(
        e.started_at < at and (e.ended_at is None or e.ended_at > at) for e in live[m.student_id])}
    return absent | inside
