"""Two records of one child made one (the registry's student.merged)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from cases.adapters.tables import cases, students
from cases.domain.lifecycle import CaseStatus
from cases.usecases.common import SYSTEM, add_timeline, open_case_of
from shared.events.cases import CaseClosed
from shared.events.registry import StudentMerged
from shared.routes import Received
from shared.uow import UnitOfWork


async def on_student_merged(uow: UnitOfWork, event: Received[StudentMerged]) -> None:
    """Two records of one child made one: every case of the merged id becomes the kept id's. One
    child, one case: if both had an open case, the merged record's is closed with the outcome
    `merged`, each timeline naming the other, so nothing done on either is lost."""
    d = event.data
    kept, merged = d.kept_id, d.merged_id
    kept_open, merged_open = await open_case_of(uow, kept), await open_case_of(uow, merged)
    now = uow.clock.now()
    if kept_open and merged_open:
        before = (await uow.session.execute(select(cases.c.status).where(cases.c.id == merged_open))).scalar_one()
        await uow.session.execute(update(cases).where(cases.c.id == merged_open).values(
            status=CaseStatus.closed.value, outcome="merged", closed_at=now, updated_at=now))
        await add_timeline(uow, merged_open, "merged_into", {"case_id": kept_open, "student_id": kept}, at=now)
        await add_timeline(uow, kept_open, "case_merged", {"case_id": merged_open, "student_id": merged}, at=now)
        uow.emit(CaseClosed(case_id=merged_open, student_id=kept, status=CaseStatus.closed.value,
                            previous_status=before, outcome="merged",
                            evidence={"merged_into_case_id": kept_open, "kept_student_id": kept}, at=now,
                            actor=SYSTEM), subject=kept)
    await uow.session.execute(update(cases).where(cases.c.child_id == merged).values(child_id=kept))
    await uow.session.execute(delete(students).where(students.c.student_id == merged))
    still_open = kept_open or merged_open
    if still_open:
        await add_timeline(uow, still_open, "student_merged", {"kept_id": kept, "merged_id": merged,
                                                                "reason": d.reason}, at=now)
