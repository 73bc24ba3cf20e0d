"""The watch list: children off the roll or between schools whom nobody has accounted for yet,
for the home school, the host and the receiving school. The sweep that flags them is
``registry.usecases.watch``."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, null, or_, select, union_all

from registry.adapters.tables import classes, off_roll_periods, orgs, students, transfers
from registry.domain.lifecycle import Side
from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import Missing, OverdueReason, Period, missing, overdue, receipt_due_on
from shared.auth import Principal, Role
from shared.pagination import PageParams
from shared.paths import naming
from shared.sql import fetch_page
from shared.uow import UnitOfWork

P = off_roll_periods


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
