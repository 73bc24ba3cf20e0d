"""Standing responsibility (七长/五级) per county, township, school and class: set once, kept
current, read when a case opens (``cases.usecases.opening._standing_chain``). The place is found in the
cases service's own student directory, which the registry's events fill: an org no student
of which has been read yet is unknown here (404), like any object outside the caller's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.adapters.tables import standing_responsibility, students
from cases.domain.responsibility import Level, WrongLevel, check_roles, level_of_kind, named_roles
from shared import audit
from shared.auth import Principal, path_key
from shared.errors import Invalid, NotFound
from shared.events.cases import ResponsibilityAssigned
from shared.paths import naming
from shared.sql import upsert
from shared.uow import UnitOfWork


async def locate_org(uow: UnitOfWork, org_code: str, caller: Principal) -> tuple[list[str], str | None]:
    """(the org's path, its kind) from the student directory, or 404 outside the caller's scope."""
    row = (await uow.session.execute(select(students.c.org_path, students.c.org_chain).where(
        naming(students.c.org_path, org_code)).limit(1))).first()
    if row is None or org_code not in row.org_path:
        raise NotFound(f"no organisation or class with code {org_code} in the cases directory")
    path = list(row.org_path[: row.org_path.index(org_code) + 1])
    if not caller.sees_org(path):
        raise NotFound(f"no organisation or class with code {org_code} in the cases directory")
    audit.note_place(path)
    return path, next((o.get("kind") for o in row.org_chain or [] if o.get("code") == org_code), None)


async def _place(uow: UnitOfWork, org_code: str, caller: Principal) -> tuple[Level, list[str], str | None]:
    """(level, the path of the place, the class id for a class) or 404."""
    by_class = (await uow.session.execute(select(students.c.org_path).where(
        students.c.class_id == org_code).limit(1))).scalar_one_or_none()
    if by_class is not None:
        if not caller.sees(by_class, org_code):
            raise NotFound(f"no organisation or class with code {org_code} in the cases directory")
        audit.note_place(by_class)
        return Level.klass, list(by_class), org_code
    path, kind = await locate_org(uow, org_code, caller)
    level = level_of_kind(kind)
    if level is None:
        raise Invalid(f"{org_code} is a {kind or 'place of unknown kind'}: standing responsibility is set on a "
                      "county, a township, a school or a class",
                      errors=[{"field": "org_code", "pointer": "/org_code",
                               "message": "not a county, township, school or class"}])
    return level, path, None


async def set_standing(uow: UnitOfWork, org_code: str, caller: Principal, given: dict[str, Any]) -> dict[str, Any]:
    """Replace the place's assignments with ``given`` (a PUT: roles left out are cleared)."""
    level, path, class_id = await _place(uow, org_code, caller)
    present = {k: v for k, v in given.items() if v not in (None, [])}
    try:
        check_roles(level, present)
    except WrongLevel as exc:
        raise Invalid(str(exc), errors=exc.errors) from None
    now = uow.clock.now()
    row = {"level": level.value, "org_path": path_key(path), "assignments": present, "updated_by": caller.subject,
           "updated_at": now}
    await upsert(uow.session, standing_responsibility, {"org_code": org_code}, row)
    roles = named_roles(present)
    villages = {e["village"]: e["person"]["name"] for e in present.get("village_heads") or []}
    # Keyed by the place, not a student: reporting counts the places whose chain is set.
    uow.emit(ResponsibilityAssigned(
        scope="org", case_id=None, student_id=None, org_code=org_code, org_path=path, class_id=class_id,
        level=level.value, roles=roles, village_heads=villages, responsible_person=None, assigned_at=now,
        actor=caller.subject), subject=org_code, key=org_code)
    await uow.commit()
    return {"org_code": org_code, **row, "org_path": path, "class_id": class_id}


async def get_standing(uow: UnitOfWork, org_code: str, caller: Principal) -> dict[str, Any]:
    level, path, class_id = await _place(uow, org_code, caller)
    row = (await uow.session.execute(select(standing_responsibility).where(
        standing_responsibility.c.org_code == org_code))).mappings().first()
    if row is None:
        return {"org_code": org_code, "level": level.value, "org_path": path, "class_id": class_id,
                "assignments": {}, "updated_by": None, "updated_at": None}
    return {**dict(row), "org_path": path, "class_id": class_id}
