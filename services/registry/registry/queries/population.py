"""Reads of population cross-checks (排查比对): a check, and its findings with each caller's view
of the ID number. Running one is ``registry.usecases.population``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from registry.adapters.tables import orgs, population_checks, population_findings
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import PageParams
from shared.privacy import FULL_NATIONAL_ID, mask_national_id
from shared.sql import fetch_page
from shared.uow import UnitOfWork


async def get_check(uow: UnitOfWork, check_id: str, caller: Principal) -> dict[str, Any]:
    row = (await uow.session.execute(
        select(population_checks, orgs.c.path).join(orgs, orgs.c.code == population_checks.c.region_code)
        .where(population_checks.c.id == check_id))).mappings().first()
    if row is None or not caller.sees_org(row["path"]):
        raise NotFound(f"no population check with id {check_id}")
    audit.note_place(row["path"])
    return {k: v for k, v in row.items() if k != "path"}


async def list_findings(uow: UnitOfWork, check_id: str, page: PageParams, caller: Principal, *,
                        kind: str | None) -> tuple[list[dict[str, Any]], int]:
    await get_check(uow, check_id, caller)
    conditions = [population_findings.c.check_id == check_id]
    if kind:
        conditions.append(population_findings.c.kind == kind)
    stmt = (select(population_findings).where(*conditions)
            .order_by(population_findings.c.kind, population_findings.c.birth_date, population_findings.c.person_id))
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    full = caller.role in FULL_NATIONAL_ID
    return [{**r, "national_id": r["national_id"] if full or r["national_id"] is None
             else mask_national_id(r["national_id"])} for r in rows], total
