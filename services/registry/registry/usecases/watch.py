"""The watchdog over children off the roll by a status: the sweep that announces each missing
receipt or return once (``boarding.overdue``, ``suspension.overdue``). The watch list is
``registry.queries.watch``; overdue transfers are swept by ``registry.usecases.transfers``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select, update

from registry.adapters.tables import off_roll_periods, students
from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import Cutoffs, Missing
from registry.usecases.records import placement
from shared.envelope import stable_id
from shared.events.registry import BoardingOverdue, SuspensionOverdue
from shared.uow import UnitOfWork

P = off_roll_periods


def _still_in_status():
    # A period is watched while the record is in its status; transferred out from it, the pending
    # transfer is what is watched (transfer.overdue), and a cancelled transfer brings it back.
    return select(students.c.id).where(students.c.id == P.c.student_id, students.c.status == P.c.kind).exists()


async def flag_overdue_off_roll(uow: UnitOfWork, *, overdue_after_days: int) -> int:
    """Two set-based claims (missing receipts, missing returns), then one event per claimed row,
    all in one transaction. ``*_overdue_at IS NULL`` in each UPDATE's WHERE is what makes
    replicas racing here claim disjoint rows: on PostgreSQL the second waits for the first's row
    lock and re-checks the condition; SQLite runs one writer at a time. Should two passes ever
    deadlock over the two claims, PostgreSQL aborts one, which claimed nothing: the next retries."""
    now = uow.clock.now()
    cut = Cutoffs.on(now.date(), overdue_after_days)
    returning = (P.c.id, P.c.student_id, P.c.kind, P.c.started_on, P.c.expected_end, P.c.reason,
                 P.c.host_school_code, P.c.host_school_name, P.c.host_region)
    no_receipt = (await uow.session.execute(
        update(P).where(P.c.closed_at.is_(None), P.c.kind == S.boarding_elsewhere.value, P.c.received_on.is_(None),
                        P.c.receipt_overdue_at.is_(None), P.c.started_on <= cut.started_by, _still_in_status())
        .values(receipt_overdue_at=now).returning(*returning))).all()
    not_back = (await uow.session.execute(
        update(P).where(P.c.closed_at.is_(None), P.c.return_overdue_at.is_(None), _still_in_status(),
                        or_(P.c.expected_end < cut.ended_before,
                            and_(P.c.expected_end.is_(None), P.c.started_on <= cut.started_by)))
        .values(return_overdue_at=now).returning(*returning))).all()
    claims = [(p, Missing.receipt) for p in no_receipt] + [(p, Missing.return_) for p in not_back]
    for p, what in claims:
        student = (await uow.session.execute(select(students.c.school_code, students.c.class_id)
                                             .where(students.c.id == p.student_id))).one()
        where = await placement(uow, student.school_code, student.class_id)
        event, event_id = _overdue(p, what, where, today=now.date(), overdue_after_days=overdue_after_days)
        uow.emit(event, subject=p.student_id, key=p.student_id, event_id=event_id)
    await uow.commit()
    return len(claims)


def _overdue(p: Any, what: Missing, where: dict[str, Any], *, today: date,
             overdue_after_days: int) -> tuple[BoardingOverdue | SuspensionOverdue, str]:
    """The event a claimed period announces, and its id. The id names the period, what is missing
    and the end promised: a new end date (PATCH) that passes too is a new fact; a replay or a
    racing replica is not. A suspension is only ever missing its return."""
    common: dict[str, Any] = {
        "period_id": p.id, "student_id": p.student_id, "started_on": p.started_on, "expected_end": p.expected_end,
        "days_off": (today - p.started_on).days, "overdue_after_days": overdue_after_days, **_placed(where)}
    if p.kind == S.boarding_elsewhere.value:
        return (BoardingOverdue(missing=what.value, host_school_code=p.host_school_code,
                                host_school_name=p.host_school_name, host_region=p.host_region, **common),
                stable_id("boarding-overdue", p.id, what.value, str(p.expected_end)))
    return SuspensionOverdue(reason=p.reason, **common), stable_id("suspension-overdue", p.id, str(p.expected_end))


def _placed(where: dict[str, Any]) -> dict[str, Any]:
    """The home school's placement, which every registry event about a student carries."""
    return {"school_code": where["school_code"], "class_id": where["class_id"], "grade": where["grade"],
            "org_path": where["org_path"], "org_chain": where["org_chain"]}
