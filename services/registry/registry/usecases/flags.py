"""Changing a record's risk flags, with history and a ``student.flags_changed`` event.

Every change (by hand, or from a poverty office's list) goes through ``write_flag_change``, so
the history row, the flags and the event are written together in the caller's transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select

from registry.adapters.tables import flag_history, student_flags
from registry.domain.flags import FlagChange, FlagChangeRequest, change_flags
from registry.queries.students import get_student, visible_student, with_derived_flags
from registry.usecases.records import placement
from shared.auth import Principal
from shared.events.registry import StudentFlagsChanged
from shared.uow import UnitOfWork


async def current_flags(uow: UnitOfWork, student_id: str) -> set[str]:
    return set((await uow.session.execute(
        select(student_flags.c.flag).where(student_flags.c.student_id == student_id))).scalars())


async def last_changed_on(uow: UnitOfWork, student_ids: list[str], flag: str) -> dict[str, date]:
    """Student id -> the effective date of the flag's last change, for those that have one."""
    rows = (await uow.session.execute(
        select(flag_history.c.student_id, func.max(flag_history.c.effective_on))
        .where(flag_history.c.student_id.in_(student_ids), flag_history.c.flag == flag)
        .group_by(flag_history.c.student_id))).all()
    return {sid: on for sid, on in rows}


async def write_flag_change(uow: UnitOfWork, student: dict[str, Any], change: FlagChange, *, effective_on: date,
                            reason: str, actor: str, source: str = "manual", source_ref: str | None = None,
                            category: str | None = None, where: dict[str, Any] | None = None) -> None:
    """The flag rows, one history row per flag added or removed, and the event. ``category`` is
    the poverty office's category (脱贫户, 防返贫监测对象, 低保...) of a poor_household flag;
    ``where`` the record's placement, when the caller has it already (a list changes many)."""
    now = uow.clock.now()
    sid = student["id"]
    if change.removed:
        await uow.session.execute(delete(student_flags).where(student_flags.c.student_id == sid,
                                                              student_flags.c.flag.in_(change.removed)))
    if change.added:
        await uow.session.execute(insert(student_flags), [
            {"student_id": sid, "flag": f, "category": category if f == "poor_household" else None}
            for f in change.added])
    recategorised: tuple[str, ...] = ()
    if category is not None and "poor_household" in change.flags and "poor_household" not in change.added:
        # Still poor, in another category (a 脱贫户 now under monitoring): the category follows.
        await uow.session.execute(student_flags.update().where(
            student_flags.c.student_id == sid, student_flags.c.flag == "poor_household").values(category=category))
        recategorised = ("poor_household",)
    history = [{"student_id": sid, "flag": f, "action": action, "category": category if f == "poor_household" else None,
                "effective_on": effective_on, "reason": reason, "source": source, "source_ref": source_ref,
                "actor": actor, "recorded_at": now}
               for action, flags in (("added", change.added), ("removed", change.removed),
                                     ("category", recategorised)) for f in flags]
    if history:
        await uow.session.execute(insert(flag_history), history)
    where = where or await placement(uow, student["school_code"], student["class_id"])
    uow.emit(StudentFlagsChanged(
        student_id=sid,
        flags=with_derived_flags(list(change.flags)),
        added=list(change.added),
        removed=list(change.removed),
        category=category,
        effective_on=effective_on,
        reason=reason,
        source=source,
        source_ref=source_ref,
        actor=actor,
        school_code=where["school_code"],
        class_id=where["class_id"],
        grade=where["grade"],
        org_path=where["org_path"],
    ), subject=sid)


async def patch_flags(uow: UnitOfWork, student_id: str, cmd: FlagChangeRequest, caller: Principal) -> dict[str, Any]:
    student = await visible_student(uow, student_id, caller)
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    change = change_flags(await current_flags(uow, student_id), add=set(cmd.add), remove=set(cmd.remove),
                          effective_on=effective_on, today=today)
    if change.changes_anything:  # by hand: no category (only a poverty list names one)
        await write_flag_change(uow, student, change, effective_on=effective_on, reason=cmd.reason,
                                actor=caller.subject)
        await uow.commit()
    return await get_student(uow, student_id, caller)
