"""Setting standing responsibility (七长/五级) per county, township, school or class: set once,
kept current, read when a case opens (``cases.usecases.opening._standing_chain``). Reading it,
and finding the place a code names, is ``cases.queries.standing``."""

from __future__ import annotations

from typing import Any

from cases.adapters.tables import standing_responsibility
from cases.domain.responsibility import Assignments, WrongLevel, check_roles, named_roles
from cases.queries.standing import standing_place
from shared.auth import Principal, path_key
from shared.errors import Invalid
from shared.events.cases import ResponsibilityAssigned
from shared.sql import upsert
from shared.uow import UnitOfWork


async def set_standing(uow: UnitOfWork, org_code: str, caller: Principal, given: Assignments) -> dict[str, Any]:
    """Replace the place's assignments with ``given`` (a PUT: roles left out are cleared)."""
    level, path, class_id = await standing_place(uow, org_code, caller)
    present = given.stored()
    try:
        check_roles(level, present)
    except WrongLevel as exc:
        raise Invalid(str(exc), errors=exc.errors) from None
    now = uow.clock.now()
    row = {"level": level.value, "org_path": path_key(path), "assignments": present, "updated_by": caller.subject,
           "updated_at": now}
    await upsert(uow.session, standing_responsibility, {"org_code": org_code}, row)
    roles = named_roles(present)
    villages = {v.village: v.person.name for v in given.village_heads}
    # Keyed by the place, not a student: reporting counts the places whose chain is set.
    uow.emit(ResponsibilityAssigned(
        scope="org", case_id=None, student_id=None, org_code=org_code, org_path=path, class_id=class_id,
        level=level.value, roles=roles, village_heads=villages, responsible_person=None, assigned_at=now,
        actor=caller.subject), subject=org_code, key=org_code)
    await uow.commit()
    return {"org_code": org_code, **row, "org_path": path, "class_id": class_id}
