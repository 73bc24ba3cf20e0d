"""The recipient offices of an area's two lines (government, education), as they stand:
named, registered, or derived."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.adapters.tables import orgs, recipient_offices
from cases.domain.model import AREA_KINDS, LINES, office_for
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.uow import UnitOfWork


async def visible_area(uow: UnitOfWork, area_code: str, caller: Principal) -> Any:
    """An area (township, county, city, province) the caller is an official of, or above."""
    area = (await uow.session.execute(select(orgs).where(orgs.c.code == area_code))).mappings().first()
    if area is None or area["kind"] not in AREA_KINDS or not caller.sees_org(area["path"]):
        raise NotFound(f"no area with code {area_code}")
    audit.note_place(area["path"])
    return area


async def get_recipients(uow: UnitOfWork, area_code: str, caller: Principal) -> dict[str, Any]:
    """The area's two offices: as named, as registered, or the derived ``<area>-GOV``/``-EDU``."""
    area = await visible_area(uow, area_code, caller)
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
