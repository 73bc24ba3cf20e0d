"""Standing responsibility (七长/五级) as it stands for a county, township, school or class, and
the place a code names. The place is found in the cases service's own student directory, which
the registry's events fill: an org no student of which has been read yet is unknown here (404),
like any object outside the caller's scope."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.adapters.tables import standing_responsibility, students
from cases.domain.responsibility import Level, level_of_kind
from cases.queries.scope import locate_org
from shared import audit
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.uow import UnitOfWork


async def standing_place(uow: UnitOfWork, org_code: str, caller: Principal) -> tuple[Level, list[str], str | None]:
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


async def get_standing(uow: UnitOfWork, org_code: str, caller: Principal) -> dict[str, Any]:
    level, path, class_id = await standing_place(uow, org_code, caller)
    row = (await uow.session.execute(select(standing_responsibility).where(
        standing_responsibility.c.org_code == org_code))).mappings().first()
    if row is None:
        return {"org_code": org_code, "level": level.value, "org_path": path, "class_id": class_id,
                "assignments": {}, "updated_by": None, "updated_at": None}
    return {**dict(row), "org_path": path, "class_id": class_id}
