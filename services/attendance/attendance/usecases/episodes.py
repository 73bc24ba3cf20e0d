"""Episode sync: recompute a set of students' unexcused-absence episodes from all their marks,
approved leave, dated placements and calendar, and store (and announce) the difference."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from attendance.adapters.inputs import load_inputs
from attendance.adapters.tables import LIVE, episodes
from attendance.domain import clock
from attendance.domain import episodes as rule
from attendance.domain.calendar import Calendar
from attendance.settings import AttendanceSettings
from shared.envelope import stable_id
from shared.events.attendance import StudentReturned
from shared.sql import among, insert_many
from shared.uow import UnitOfWork


async def sync_episodes(uow: UnitOfWork, settings: AttendanceSettings, student_ids: list[str], *,
                        calendar: Calendar | None = None, places: dict[str, Any] | None = None,
                        dated: dict[str, list[Any]] | None = None, live: dict[str, list[Any]] | None = None) -> None:
    """Recompute the students' episodes, due instants and observations from all their marks,
    approved leave, dated placements and calendar, and store the difference (`rule.reconcile`
    keeps identities across corrections).

    A fired episode the recomputation no longer supports — no stored mark shows the child away
    at or after its due instant any more (leave approved after the fact, a corrected roll call, a
    calendar change, a present mark that arrived last) — is *withdrawn*: closed, and announced
    with `student.returned` (`reason: withdrawn`) so the case hears of the false alarm; what is
    left of the streak is a new episode with its own clock. A fired episode that ends is announced
    with its reason: `returned` (a present or late mark) or `not_attending` (off the roll from
    the registry's effective date).

    A caller that has read them passes the students' roster rows and calendar (``places``,
    ``calendar``), dated placements (``dated``, read for a superset of ``places``) and live episode
    rows (``live``, by student); each is used only where it covers every student."""
    if not student_ids:
        return
    now = uow.clock.now()
    got = await load_inputs(uow, settings, student_ids, calendar=calendar, places=places, dated=dated)
    if live is not None and live.keys() >= set(student_ids):
        stored_by = {s: live[s] for s in student_ids}
    else:
        stored_by = {s: [] for s in student_ids}
        for row in (await uow.session.execute(
            select(episodes).where(among(uow.session, episodes.c.student_id, student_ids), LIVE))).all():
            stored_by[row.student_id].append(row)

    # New and changed rows are written after the loop, a statement for each kind rather than one
    # per episode. Updates keep their order and go before inserts: every insert then meets its
    # student's rows in their final places (the live-start index allows one per start).
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for sid in student_ids:
        if sid not in got.places:
            continue  # never enrolled here: nothing to count against
        rows = {r.id: r for r in stored_by[sid]}
        cal, student_marks, excused = got.calendars[sid], got.marks[sid], got.leaves[sid]
        plan = rule.reconcile([rule.Stored(r.id, r.started_at, r.last_absent_at, r.ended_at,
                                           r.threshold_fired_at is not None) for r in rows.values()],
                              rule.episodes(student_marks, excused, got.attending[sid]))
        # Rows no longer supported go first: a kept row may take over the start one of them had.
        for gone in plan.retire:
            row = rows[gone.id]
            if gone.fired:
                await _withdraw(uow, row, now)
            else:
                await uow.session.execute(delete(episodes).where(episodes.c.id == row.id))
        for keeper, ep in plan.keep:
            due = clock.due_at(ep.started_at, cal, settings.absence_counting, settings.absence_threshold_hours,
                               excused)
            seen = rule.observed_at(ep, student_marks, excused, due)
            values = {"started_at": ep.started_at, "last_absent_at": ep.absent_sessions[-1],
                      "absent_sessions": len(ep.absent_sessions), "ended_at": ep.ended_at, "due_at": due,
                      "end_reason": ep.end_reason, "observed_at": seen}
            row = rows[keeper.id] if keeper else None
            if row is not None and keeper.fired and seen is None:
                await _withdraw(uow, row, now)
                row = None
            if row is None:
                inserts.append({"id": str(uuid.uuid4()), "student_id": sid, **values})
                continue
            if any(getattr(row, k) != v for k, v in values.items()):  # most of a term's episodes are settled
                updates.append({"episode_id": row.id, **values})
            if keeper.fired and row.ended_at is None and ep.ended_at is not None:
                emit_ended(uow, row, ep.ended_at, ep.end_reason or "returned")
    if updates:
        await uow.session.execute(update(episodes).where(episodes.c.id == bindparam("episode_id")), updates)
    await insert_many(uow.session, episodes, inserts)


async def _withdraw(uow: UnitOfWork, row: Any, now: datetime) -> None:
    """A fired episode the marks, leave or calendar no longer support: kept as history (the case it
    opened stays, people resolve it), closed, and announced once."""
    ended = row.ended_at or now
    await uow.session.execute(update(episodes).where(episodes.c.id == row.id)
                              .values(ended_at=ended, end_reason="withdrawn"))
    emit_ended(uow, row, ended, "withdrawn")


def emit_ended(uow: UnitOfWork, row: Any, at: datetime, reason: str) -> None:
    """`student.returned` for a fired episode that ended: seen again (`returned`), no longer
    supported (`withdrawn`), or taken off the roll by the registry (`not_attending`). The id is
    derived from the episode and the reason: each is announced once."""
    uow.emit(
        StudentReturned(student_id=row.student_id, episode_id=row.id, episode_started_at=row.started_at,
                        returned_at=at, reason=reason),
        subject=row.student_id,
        event_id=stable_id("returned", row.id) if reason == "returned" else stable_id(reason, row.id),
    )
