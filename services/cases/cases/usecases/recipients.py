"""Naming the recipient offices of an area's two lines (government, education); reading them is
``cases.queries.recipients``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from cases.adapters.tables import orgs, recipient_offices
from cases.domain.model import LINES, NamedOffice, Recipient, derived_office
from cases.queries.recipients import get_recipients, visible_area
from shared.auth import Principal
from shared.errors import Invalid
from shared.sql import upsert
from shared.uow import UnitOfWork


async def put_recipients(uow: UnitOfWork, area_code: str, caller: Principal,
                         offices: Mapping[Recipient, NamedOffice]) -> dict[str, Any]:
    """Name the area's two offices. They must be two different offices, neither the area itself;
    an office the registry knows must be registered under this area, for that line."""
    await visible_area(uow, area_code, caller)
    known = {r["code"]: r for r in (await uow.session.execute(select(orgs).where(
        orgs.c.code.in_([o.code for o in offices.values()])))).mappings()}
    errors = []
    for line in LINES:
        code = offices[line].code
        org = known.get(code)
        problem = None
        if code == area_code:
            problem = "an office of the area, not the area itself"
        elif line is Recipient.education and code == offices[Recipient.government].code:
            problem = "the education line's office must differ from the government line's"
        elif code == derived_office(area_code, Recipient.education if line is Recipient.government
                                    else Recipient.government):
            problem = "that is the other line's derived office"
        elif org is not None and (org["kind"] != "office" or org["parent_code"] != area_code
                                  or org["line"] != line.value):
            problem = f"{code} is not a {line.value} office registered under {area_code}"
        if problem:
            errors.append({"field": f"{line.value}.code", "pointer": f"/{line.value}/code", "message": problem})
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
    now = uow.clock.now()
    for line in LINES:
        office = offices[line]
        name = office.name or (known[office.code]["name"] if office.code in known else office.code)
        await upsert(uow.session, recipient_offices, {"area_code": area_code, "line": line.value},
                     {"office_code": office.code, "office_name": name, "named_by": caller.subject,
                      "named_at": now})
    await uow.commit()
    return await get_recipients(uow, area_code, caller)
