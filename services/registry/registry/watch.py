"""The watchdog over children off the roll by a status: the watch list, and the sweep that
announces each missing receipt or return once (``boarding.overdue``, ``suspension.overdue``).

Overdue transfers are swept by ``records.flag_overdue_transfers``; the watch list shows them too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, null, or_, select, union_all, update

from shared.auth import Principal, Role
from shared.envelope import stable_id
from shared.events.registry import BoardingOverdue, SuspensionOverdue
from shared.pagination import PageParams
from shared.paths import naming
from shared.sql import fetch_page
from shared.uow import UnitOfWork

from registry.adapters.tables import classes, off_roll_periods, orgs, students, transfers
from registry.domain.lifecycle import Side
from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import Cutoffs, Missing, OverdueReason, Period, missing, overdue, receipt_due_on
from registry.records import placement


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
        days_off = (now.date() - p.started_on).days
        if p.kind == S.boarding_elsewhere.value:
            # The id names the period, what is missing and the end promised: a new end date
            # (PATCH) that passes too is a new fact; a replay or a racing replica is not.
            uow.emit(BoardingOverdue(
                         period_id=p.id,
                         student_id=p.student_id,
                         missing=what.value,
                         started_on=p.started_on,
                         expected_end=p.expected_end,
                         host_school_code=p.host_school_code,
                         host_school_name=p.host_school_name,
                         host_region=p.host_region,
                         days_off=days_off,
                         overdue_after_days=overdue_after_days,
                         **_placed(where),
                     ), subject=p.student_id, key=p.student_id,
                     event_id=stable_id("boarding-overdue", p.id, what.value, str(p.expected_end)))
        else:
            uow.emit(SuspensionOverdue(
                         period_id=p.id,
                         student_id=p.student_id,
                         started_on=p.started_on,
                         expected_end=p.expected_end,
                         reason=p.reason,
                         days_off=days_off,
                         overdue_after_days=overdue_after_days,
                         **_placed(where),
                     ), subject=p.student_id, key=p.student_id,
                     event_id=stable_id("suspension-overdue", p.id, str(p.expected_end)))
    await uow.commit()
    return len(claims)


def _placed(where: dict[str, Any]) -> dict[str, Any]:
    """The home school's placement, which every registry event about a student carries."""
    return {"school_code": where["school_code"], "class_id": where["class_id"], "grade": where["grade"],
            "org_path": where["org_path"], "org_chain": where["org_chain"]}


# --- the watch list ---------------------------------------------------------------------------

def _visible(caller: Principal, org_code: str | None, home, other):
    """Scoped like every list: the home school in the caller's region (a head teacher: their
    classes); the host of a boarding child and the receiving school of a transfer see it too."""
    home_ok = and_(*caller.scope_filter(home.c.path, students.c.class_id))
    conditions = [home_ok if caller.role is Role.head_teacher else or_(home_ok, caller.within(other.c.path))]
    if org_code:
        conditions.append(or_(naming(home.c.path, org_code), naming(other.c.path, org_code)))
    return conditions


async def watch_list(uow: UnitOfWork, page: PageParams, caller: Principal, *, org_code: str | None,
                     overdue_after_days: int) -> tuple[list[dict[str, Any]], int]:
    home, host, receiver = orgs.alias("home"), orgs.alias("host"), orgs.alias("receiver")
    common = (students.c.id.label("student_id"), students.c.name, students.c.school_code, students.c.class_id,
              classes.c.grade, students.c.status)
    periods = (
        select(*common, P.c.started_on.label("since"), P.c.id.label("period_id"), null().label("transfer_id"),
               P.c.expected_end, P.c.host_school_code, P.c.host_school_name, P.c.host_region, P.c.received_on,
               null().label("to_school_code"), null().label("destination"))
        .select_from(P).join(students, students.c.id == P.c.student_id)
        .join(classes, classes.c.id == students.c.class_id).join(home, home.c.code == students.c.school_code)
        .outerjoin(host, host.c.code == P.c.host_school_code)
        .where(P.c.closed_at.is_(None), students.c.status == P.c.kind, *_visible(caller, org_code, home, host)))
    pending = (
        select(*common, transfers.c.requested_on.label("since"), null().label("period_id"),
               transfers.c.id.label("transfer_id"), null().label("expected_end"), null().label("host_school_code"),
               null().label("host_school_name"), null().label("host_region"), null().label("received_on"),
               transfers.c.to_school_code, transfers.c.destination)
        .select_from(transfers).join(students, students.c.id == transfers.c.student_id)
        .join(classes, classes.c.id == students.c.class_id).join(home, home.c.code == students.c.school_code)
        .outerjoin(receiver, receiver.c.code == transfers.c.to_school_code)
        .where(transfers.c.status == "pending", transfers.c.started_by == Side.sender.value,
               students.c.status == S.transferred_out.value, *_visible(caller, org_code, home, receiver)))
    both = union_all(periods, pending).subquery()
    stmt = select(both).order_by(both.c.since, both.c.student_id)
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    today = uow.clock.now().date()
    return [_present(dict(r), today, overdue_after_days) for r in rows], total


def _present(row: dict[str, Any], today: date, overdue_days: int) -> dict[str, Any]:
    since = row["since"] if isinstance(row["since"], date) else date.fromisoformat(str(row["since"]))
    row = {**row, "since": since, "days_off": (today - since).days}
    if row["transfer_id"] is not None:  # transferred out, waiting for the receiving school
        late = today >= receipt_due_on(since, overdue_days)
        return {**row, "missing": [Missing.receipt], "overdue": [OverdueReason.receipt] if late else []}
    period = Period(kind=S(row["status"]), started_on=since, expected_end=row["expected_end"],
                    names_host=row["host_school_code"] is not None or row["host_school_name"] is not None,
                    received_on=row["received_on"])
    return {**row, "missing": missing(period, today), "overdue": overdue(period, today, overdue_days)}
