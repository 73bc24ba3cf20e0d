"""The people responsible for a case (七长/五级)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update

from cases.adapters.tables import cases
from cases.domain.responsibility import Person, named_roles
from cases.queries.case import get_case
from cases.usecases.common import add_timeline
from shared.auth import Principal, path_codes
from shared.events.cases import ResponsibilityAssigned
from shared.uow import UnitOfWork


async def assign_responsibility(uow: UnitOfWork, case: Mapping[str, Any], caller: Principal,
                                chain: Mapping[str, Person]) -> dict[str, Any]:
    """Replace the named people of the chain (role → person); levels not given keep what they had."""
    case_id = case["id"]
    now = uow.clock.now()
    merged = {**(case["responsibility"] or {}), **{role: person.stored() for role, person in chain.items()}}
    values: dict[str, Any] = {"responsibility": merged, "updated_at": now}
    responsible = (merged.get("responsible_person") or {}).get("name")
    if responsible and case["responsible_assigned_at"] is None:
        values["responsible_assigned_at"] = now
    await uow.session.execute(update(cases).where(cases.c.id == case_id).values(**values))
    named = {role: person.name for role, person in chain.items() if person.name}
    await add_timeline(uow, case_id, "responsibility_assigned", named, actor=caller.subject)
    # Reporting's weekly 责任落实 counts cases with a 劝返责任人 and a plan from this and plan_item.added.
    # Keyed by the place (the school), as a standing assignment is: one place's chain stays ordered.
    uow.emit(ResponsibilityAssigned(
        scope="case", case_id=case_id, student_id=case["child_id"], org_code=case["school_code"],
        org_path=path_codes(case["org_path"]), class_id=case["class_id"], level=None, roles=named_roles(merged),
        village_heads=_village_of(merged.get("village_head")), responsible_person=responsible, assigned_at=now,
        actor=caller.subject), subject=case["child_id"], key=case["school_code"])
    await uow.commit()
    return await get_case(uow, case_id, caller)




def _village_of(person: Any) -> dict[str, str]:
    if isinstance(person, dict) and person.get("village") and person.get("name"):
        return {person["village"]: person["name"]}
    return {}
