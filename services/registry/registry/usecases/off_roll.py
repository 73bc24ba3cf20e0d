"""Periods off the roll (寄读 boarding elsewhere, 休学 suspended): opened and closed with the status,
the host's receipt (回执), and the facts supplied later (a host, an end date, an extension).

The rules (what is required, missing, overdue) are ``registry.domain.off_roll``; reading a period
(and finding one the caller may change) is ``registry.queries.off_roll``; the sweep and the watch
list are ``registry.usecases.watch`` and ``registry.queries.watch``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select, update

from registry.adapters.tables import off_roll_periods, orgs
from registry.domain.model import OrgKind, named
from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import WATCHED, OffRollChange, Receipt, Terms, check_terms
from registry.queries.off_roll import get_period, period_paths, visible_period
from shared.auth import Principal
from shared.errors import Conflict, Invalid
from shared.uow import UnitOfWork


async def check_host(uow: UnitOfWork, host_school_code: str | None, *, own_school: str) -> None:
    """A host in the system must be a school, and another one than the child's own."""
    if host_school_code is None:
        return
    row = (await uow.session.execute(select(orgs.c.kind).where(orgs.c.code == host_school_code))).first()
    problem = ("no such school" if row is None else f"a {row.kind}, not a school" if row.kind != OrgKind.school.value
               else "the student's own school" if host_school_code == own_school else None)
    if problem:
        raise Invalid(f"host_school_code {host_school_code}: {problem}",
                      errors=[{"field": "host_school_code", "pointer": "/host_school_code", "message": problem}])


async def open_period_of(uow: UnitOfWork, student_id: str) -> dict[str, Any] | None:
    row = (await uow.session.execute(select(off_roll_periods).where(
        off_roll_periods.c.student_id == student_id, off_roll_periods.c.closed_at.is_(None)))).mappings().first()
    return dict(row) if row else None


async def follow_status(uow: UnitOfWork, student: dict[str, Any], *, status: str, effective_on: date,
                        reason: str | None, actor: str, terms: Terms | None) -> str | None:
    """Keep the child's period in step with a status just written; returns the open period's id.

    A transfer out from boarding or suspension keeps the period open (a cancelled transfer comes
    back to it; a confirmed one closes it); coming back to the same status (a cancelled transfer)
    keeps it; any other status closes it on the change's effective date."""
    current = await open_period_of(uow, student["id"])
    if current is not None:
        if status in (current["kind"], S.transferred_out.value):
            return current["id"]
        await uow.session.execute(update(off_roll_periods).where(off_roll_periods.c.id == current["id"]).values(
            closed_on=effective_on, closed_at=uow.clock.now()))
    if S(status) not in WATCHED:
        return None
    terms = terms or Terms()
    period_id = str(uuid.uuid4())
    await uow.session.execute(off_roll_periods.insert().values(
        id=period_id, student_id=student["id"], kind=status, school_code=student["school_code"],
        started_on=effective_on, reason=reason, expected_end=terms.expected_end,
        host_school_code=terms.host_school_code, host_school_name=terms.host_school_name,
        host_region=terms.host_region, created_by=actor, created_at=uow.clock.now()))
    return period_id


def _still_open(row: dict[str, Any]) -> None:
    if row["closed_at"] is not None:
        raise Conflict(f"the {row['kind']} period {row['id']} ended on {row['closed_on']}",
                       closed_on=str(row["closed_on"]))


async def record_receipt(uow: UnitOfWork, period_id: str, cmd: Receipt, caller: Principal, *,
                         overdue_days: int) -> dict[str, Any]:
    """The host's receipt (回执). The host school, when it is in this system, confirms it itself;
    otherwise the home school records the paper receipt (from the host, or the family, as seed
    002 asks: 外寄的学生及家长或所在学校必须开回回执证明) and must say what it is."""
    row = await visible_period(uow, period_id, caller, sides=("home", "host"))
    _still_open(row)
    if row["kind"] != S.boarding_elsewhere.value:
        raise Conflict("only boarding elsewhere waits for a host's receipt", kind=row["kind"])
    if row["received_on"] is not None:
        raise Conflict(f"the receipt was recorded on {row['received_on']}", received_on=str(row["received_on"]))
    paths = await period_paths(uow, row)
    by_host = "host" in paths and caller.sees_org(paths["host"])
    if not by_host and cmd.evidence is None:
        raise Invalid("a receipt recorded by the home school needs its evidence (the host school in this "
                      "system may confirm it itself)",
                      errors=[{"field": "evidence", "pointer": "/evidence", "message": "required"}])
    today = uow.clock.now().date()
    received_on = cmd.received_on or today
    if received_on < row["started_on"] or received_on > today:
        raise Invalid(f"received_on must lie between {row['started_on']} and today ({today})",
                      errors=[{"field": "received_on", "pointer": "/received_on", "message": "out of range"}])
    await uow.session.execute(update(off_roll_periods).where(off_roll_periods.c.id == period_id).values(
        received_on=received_on, receipt_by=caller.subject, receipt_evidence=cmd.evidence))
    await uow.commit()
    return await get_period(uow, period_id, caller, overdue_days=overdue_days)


async def update_period(uow: UnitOfWork, period_id: str, cmd: OffRollChange, caller: Principal, *,
                        overdue_days: int) -> dict[str, Any]:
    """The home school supplies a host or an end date the status change left out, or moves the
    end (a suspension extended). A new end is a new promise: if it passes too, it is announced
    again."""
    row = await visible_period(uow, period_id, caller, sides=("home",))
    _still_open(row)
    given = named(cmd)
    merged = {k: row[k] for k in ("host_school_code", "host_school_name", "host_region", "expected_end")}
    if {"host_school_code", "host_school_name", "host_region"} & set(given):
        merged.update(host_school_code=None, host_school_name=None, host_region=None)  # a host replaces a host
    merged.update(given)
    check_terms(S(row["kind"]), Terms(**merged), effective_on=row["started_on"])
    await check_host(uow, merged["host_school_code"], own_school=row["school_code"])
    values = dict(merged)
    if merged["expected_end"] != row["expected_end"]:
        values["return_overdue_at"] = None
    await uow.session.execute(update(off_roll_periods).where(off_roll_periods.c.id == period_id).values(**values))
    await uow.commit()
    return await get_period(uow, period_id, caller, overdue_days=overdue_days)
