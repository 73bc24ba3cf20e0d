"""Reads of student records: one (with the scope check every student route shares), the list, a
school's classes, a record's status and flag history; and how a record is shown to a caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from registry.adapters.tables import classes, flag_history, orgs, status_history, student_flags, students
from registry.domain.model import StudentStatus, region_prefix
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import PageParams
from shared.paths import naming
from shared.privacy import FULL_NATIONAL_ID, guardians_for, mask_national_id
from shared.text import name_key
from shared.uow import UnitOfWork


@dataclass(frozen=True)
class StudentQuery:
    """Filters of the student list, combined with AND, always within the caller's scope."""

    org_code: str | None = None  # any level: a school, township, county, city or province
    school_code: str | None = None
    class_id: str | None = None
    grade: int | None = None
    status: StudentStatus | None = None
    flag: str | None = None
    household_region: str | None = None  # a city or province code matches every county in it
    name: str | None = None  # part of the name


async def visible_student(uow: UnitOfWork, student_id: str, caller: Principal) -> dict[str, Any]:
    """The record with its school's path, if the caller may see it; else 404 (one answer for
    \"absent\" and \"not yours\")."""
    row = (await uow.session.execute(
        select(students, orgs.c.path.label("school_path"))
        .join(orgs, orgs.c.code == students.c.school_code)
        .where(students.c.id == student_id))).mappings().first()
    if row is None or not caller.sees(row["school_path"], row["class_id"]):
        raise NotFound(f"no student with id {student_id}")
    audit.note_place(row["school_path"])
    return dict(row)


async def status_history_of(uow: UnitOfWork, student_id: str) -> list[dict[str, Any]]:
    rows = (await uow.session.execute(
        select(status_history).where(status_history.c.student_id == student_id)
        .order_by(status_history.c.id))).mappings().all()
    return [dict(r) for r in rows]


async def flag_history_of(uow: UnitOfWork, student_id: str) -> list[dict[str, Any]]:
    rows = (await uow.session.execute(select(flag_history).where(flag_history.c.student_id == student_id)
                                      .order_by(flag_history.c.id))).mappings().all()
    return [dict(r) for r in rows]


def with_derived_flags(flags: list[str]) -> list[str]:
    # "Double difficulty" (双困生): a poor household and learning difficulty together.
    if "poor_household" in flags and "learning_difficulty" in flags:
        return [*flags, "double_difficulty"]
    return flags


def _student_select():
    return (select(students, classes.c.grade, orgs.c.path.label("school_path"))
            .join(classes, classes.c.id == students.c.class_id).join(orgs, orgs.c.code == students.c.school_code))


async def _with_flags(uow: UnitOfWork, rows) -> list[dict[str, Any]]:
    out = [dict(r) for r in rows]
    if out:
        stmt = (select(student_flags.c.student_id, student_flags.c.flag, student_flags.c.category)
                .where(student_flags.c.student_id.in_([r["id"] for r in out])))
        by_student: dict[str, list[str]] = {}
        categories: dict[str, str] = {}
        for sid, flag, category in (await uow.session.execute(stmt)).all():
            by_student.setdefault(sid, []).append(flag)
            if category:
                categories[sid] = category
        for r in out:
            r["flags"] = with_derived_flags(sorted(by_student.get(r["id"], [])))
            r["poverty_category"] = categories.get(r["id"])
    return out


async def get_student(uow: UnitOfWork, student_id: str, caller: Principal) -> dict[str, Any]:
    row = (await uow.session.execute(_student_select().where(students.c.id == student_id))).mappings().first()
    if row is None or not caller.sees(row["school_path"], row["class_id"]):
        raise NotFound(f"no student with id {student_id}")
    audit.note_place(row["school_path"])
    return present_student((await _with_flags(uow, [row]))[0], caller)


async def list_students(uow: UnitOfWork, page: PageParams, caller: Principal, search: StudentQuery,
                        ) -> tuple[list[dict[str, Any]], int]:
    # Scope first: the caller's region (and a head teacher's classes), whatever the filters say.
    conditions = caller.scope_filter(orgs.c.path, students.c.class_id)
    if search.org_code:  # any level: a township's or a county's schools
        conditions.append(naming(orgs.c.path, search.org_code))
    if search.school_code:
        conditions.append(students.c.school_code == search.school_code)
    if search.class_id:
        conditions.append(students.c.class_id == search.class_id)
    if search.grade:
        conditions.append(classes.c.grade == search.grade)
    if search.status:
        conditions.append(students.c.status == search.status.value)
    if search.household_region:
        conditions.append(students.c.household_region.startswith(region_prefix(search.household_region),
                                                                  autoescape=True))
    if search.name:
        conditions.append(students.c.name_key.contains(name_key(search.name), autoescape=True))
    flag = search.flag
    if flag:
        conditions.append(
            select(student_flags.c.student_id)
            .where(student_flags.c.student_id == students.c.id, student_flags.c.flag == flag)
            .exists()
        )
    # The page's ids first, from the students and their schools' paths alone (the class is joined
    # only to filter by grade), then the page's rows in full: a township's count and page read the
    # index of its schools' paths and their pupils, never every pupil's class row.
    scoped = select(students.c.id).join(orgs, orgs.c.code == students.c.school_code)
    if search.grade:
        scoped = scoped.join(classes, classes.c.id == students.c.class_id)
    scoped = scoped.where(*conditions)
    order = (students.c.created_at, students.c.id)
    total = (await uow.session.execute(select(func.count()).select_from(scoped.subquery()))).scalar_one()
    ids = list((await uow.session.execute(
        scoped.order_by(*order).limit(page.limit).offset(page.offset))).scalars())
    rows = (await uow.session.execute(
        _student_select().where(students.c.id.in_(ids)).order_by(*order))).mappings().all() if ids else []
    return [present_student(r, caller) for r in await _with_flags(uow, rows)], total


def present_student(row: dict[str, Any], caller: Principal) -> dict[str, Any]:
    """The record as this caller may see it: the ID number (and the student number, which
    contains it) and guardians' phones masked unless the caller's role needs them."""
    out = {**row, "guardians": guardians_for(row["guardians"], caller)}
    if caller.role not in FULL_NATIONAL_ID and row["national_id"] is not None:
        out["national_id"] = mask_national_id(row["national_id"])
        out["student_number"] = "G" + out["national_id"]
    return out
