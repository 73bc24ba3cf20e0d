"""Reads of periods off the roll (寄读 boarding elsewhere, 休学 suspended): one period, seen from
the home school or the host, with what it still lacks. The receipt and the later facts that
change a period are ``registry.usecases.off_roll``; the list of them is ``registry.queries.watch``."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from registry.adapters.tables import off_roll_periods, students
from registry.domain.model import StudentStatus as S
from registry.domain.off_roll import Period, missing, overdue
from registry.queries.orgs import get_org
from shared import audit
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.uow import UnitOfWork


def as_period(row: dict[str, Any]) -> Period:
    return Period(kind=S(row["kind"]), started_on=row["started_on"], expected_end=row["expected_end"],
                  names_host=row["host_school_code"] is not None or row["host_school_name"] is not None,
                  received_on=row["received_on"])


def present(row: dict[str, Any], today: date, overdue_days: int) -> dict[str, Any]:
    period = as_period(row)
    open_ = row["closed_at"] is None
    return {**row, "missing": missing(period, today) if open_ else [],
            "overdue": overdue(period, today, overdue_days) if open_ else []}


async def period_paths(uow: UnitOfWork, row: dict[str, Any]) -> dict[str, list[str]]:
    """The org paths of the period's home school and, when it is in this system, its host."""
    out = {"home": (await get_org(uow, row["school_code"]))["path"]}
    if row["host_school_code"]:
        out["host"] = (await get_org(uow, row["host_school_code"]))["path"]
    return out


async def visible_period(uow: UnitOfWork, period_id: str, caller: Principal, *,
                         sides: tuple[str, ...]) -> dict[str, Any]:
    """The period if the caller sees one of the given sides of it: the child at the home school
    (a head teacher: in their classes), or the host school."""
    row = (await uow.session.execute(
        select(off_roll_periods, students.c.class_id).join(students, students.c.id == off_roll_periods.c.student_id)
        .where(off_roll_periods.c.id == period_id))).mappings().first()
    if row is not None:
        row = dict(row)
        class_id = row.pop("class_id")
        paths = await period_paths(uow, row)
        home = "home" in sides and caller.sees(paths["home"], class_id)
        host = "host" in sides and "host" in paths and caller.role is not Role.head_teacher \
            and caller.sees_org(paths["host"])
        if home or host:
            audit.note_place(paths["host"] if host else paths["home"])
            return row
    raise NotFound(f"no period off the roll with id {period_id}")


async def get_period(uow: UnitOfWork, period_id: str, caller: Principal, *, overdue_days: int) -> dict[str, Any]:
    row = await visible_period(uow, period_id, caller, sides=("home", "host"))
    return present(row, uow.clock.now().date(), overdue_days)
