"""The recipient offices of an area's two lines (government, education)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.adapters.tables import orgs, recipient_offices
from cases.domain.model import AREA_KINDS, LINES, Recipient, derived_office, office_for
from shared import audit
from shared.auth import Principal
from shared.errors import Invalid, NotFound
from shared.sql import upsert
from shared.uow import UnitOfWork


async def _area(uow: UnitOfWork, area_code: str, caller: Principal) -> Any:
    """An area (township, county, city, province) the caller is an official of, or above."""
    area = (await uow.session.execute(select(orgs).where(orgs.c.code == area_code))).mappings().first()
    if area is None or area["kind"] not in AREA_KINDS or not caller.sees_org(area["path"]):
        raise NotFound(f"no area with code {area_code}")
    audit.note_place(area["path"])
    return area


async def get_recipients(uow: UnitOfWork, area_code: str, caller: Principal) -> dict[str, Any]:
    """The area's two offices: as named, as registered, or the derived ``<area>-GOV``/``-EDU``."""
    area = await _area(uow, area_code, caller)
    rows = {r["line"]: r for r in (await uow.session.execute(select(recipient_offices).where(
        recipient_offices.c.area_code == area_code))).mappings()}
    out: dict[str, Any] = {"area_code": area_code, "area_name": area["name"], "area_kind": area["kind"]}
    for line in LINES:
        row = rows.get(line.value)
        office = office_for(area_code, area["name"], line)
        out[line.value] = ({"code": row["office_code"], "name": row["office_name"], "named_by": row["named_by"],
                            "named_at": row["named_at"], "derived": False} if row else
                           {"code": office.org_code, "name": office.org_name, "named_by": None, "named_at": None,
                            "derived": True})
    return out


async def put_recipients(uow: UnitOfWork, area_code: str, caller: Principal,
                         offices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Name the area's two offices. They must be two different offices, neither the area itself;
    an office the registry knows must be registered under this area, for that line."""
    await _area(uow, area_code, caller)
    known = {r["code"]: r for r in (await uow.session.execute(select(orgs).where(
        orgs.c.code.in_([o["code"] for o in offices.values()])))).mappings()}
    errors = []
    for line in LINES:
        code = offices[line.value]["code"]
        org = known.get(code)
        problem = None
        if code == area_code:
            problem = "an office of the area, not the area itself"
        elif line is Recipient.education and code == offices[Recipient.government.value]["code"]:
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
        office = offices[line.value]
        name = office.get("name") or (known[office["code"]]["name"] if office["code"] in known else office["code"])
        await upsert(uow.session, recipient_offices, {"area_code": area_code, "line": line.value},
                     {"office_code": office["code"], "office_name": name, "named_by": caller.subject,
                      "named_at": now})
    await uow.commit()
    return await get_recipients(uow, area_code, caller)
