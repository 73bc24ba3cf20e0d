"""Year-end promotion of a school's classes: one transaction for the whole school."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from registry.adapters.tables import classes, students
from registry.domain.lifecycle import TRANSITIONS
from registry.domain.model import OrgKind, StudentStatus
from registry.domain.promotion import Promotion, graduated_name, promoted_name
from registry.queries.orgs import get_org
from registry.usecases.records import write_change
from shared.auth import Principal
from shared.errors import Conflict, Invalid
from shared.events.registry import ClassPromoted
from shared.orgs import graduating_grade
from shared.uow import UnitOfWork

# Children in these statuses finish with their class; a suspended or dropped-out child does not.
GRADUATES = frozenset(s.value for s, targets in TRANSITIONS.items() if StudentStatus.graduated in targets)


async def promote_school(uow: UnitOfWork, school_code: str, cmd: Promotion, caller: Principal) -> dict[str, Any]:
    school = await get_org(uow, school_code, within=caller)
    if school["kind"] != OrgKind.school.value:
        raise Invalid(f"{school_code} is a {school['kind']}, not a school")
    today = uow.clock.now().date()
    effective_on = cmd.effective_on or today
    if effective_on > today:
        raise Invalid("effective_on is in the future",
                      errors=[{"field": "effective_on", "pointer": "/effective_on", "message": "in the future"}])
    rows = (await uow.session.execute(
        select(classes).where(classes.c.school_code == school_code, classes.c.school_year == cmd.school_year,
                              classes.c.graduated_on.is_(None))
        .order_by(classes.c.grade.desc(), classes.c.name))).mappings().all()
    if not rows:
        raise Conflict(f"school {school_code} has no classes of school year {cmd.school_year} "
                       "(already promoted, or the year is wrong)")
    # A nine-year school's grade 6 (5 in five-four) moves up and stays enrolled; a primary-only
    # school graduates its top primary grade.
    top = cmd.graduating_grade or graduating_grade(school["system"], {r["grade"] for r in rows})
    promoted = graduated_classes = graduated_students = 0
    # Highest grade first, so "八年级(1)班" is free by the time "七年级(1)班" is renamed to it.
    for klass in rows:
        if klass["grade"] >= top:
            await uow.session.execute(update(classes).where(classes.c.id == klass["id"]).values(
                name=graduated_name(klass["name"], cmd.school_year), graduated_on=effective_on))
            leaving = (await uow.session.execute(select(students).where(
                students.c.class_id == klass["id"], students.c.status.in_(GRADUATES)))).mappings().all()
            for student in leaving:
                await write_change(uow, dict(student), status=StudentStatus.graduated.value,
                                    effective_on=effective_on, reason=f"graduated from grade {klass['grade']}",
                                    actor=caller.subject, school_code=school_code, class_id=klass["id"])
            graduated_classes += 1
            graduated_students += len(leaving)
            continue
        name = promoted_name(klass["name"], klass["grade"])
        await uow.session.execute(update(classes).where(classes.c.id == klass["id"]).values(
            grade=klass["grade"] + 1, school_year=cmd.school_year + 1, name=name))
        uow.emit(ClassPromoted(
            class_id=klass["id"],
            school_code=school_code,
            name=name,
            grade=klass["grade"] + 1,
            previous_grade=klass["grade"],
            school_year=cmd.school_year + 1,
        ), subject=klass["id"])
        promoted += 1
    await uow.commit()
    return {"school_code": school_code, "school_year": cmd.school_year, "promoted_classes": promoted,
            "graduated_classes": graduated_classes, "graduated_students": graduated_students}
