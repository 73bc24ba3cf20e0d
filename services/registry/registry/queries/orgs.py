"""Reads of the org tree: one org (optionally scope-checked), its chain of names, a school's classes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from registry.adapters.tables import classes, orgs
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.uow import UnitOfWork


async def get_org(uow: UnitOfWork, code: str, *, within: Principal | None = None) -> dict[str, Any]:
    """The org; with ``within``, only if it lies in the caller's scope (else the same 404)."""
    row = (await uow.session.execute(select(orgs).where(orgs.c.code == code))).mappings().first()
    if row is None or (within is not None and not within.sees_org(row["path"])):
        raise NotFound(f"no organisation with code {code}")
    if within is not None:
        audit.note_place(row["path"])
    return dict(row)


async def org_chain(uow: UnitOfWork, path: list[str]) -> list[dict[str, str]]:
    """The school's ancestors with their kinds and names, province first: consumers need to know
    which code is the township and which the county without asking this service."""
    rows = {r.code: r for r in (await uow.session.execute(
        select(orgs.c.code, orgs.c.kind, orgs.c.name).where(orgs.c.code.in_(path)))).all()}
    return [{"code": c, "kind": rows[c].kind, "name": rows[c].name} for c in path]


async def list_classes(uow: UnitOfWork, school_code: str, caller: Principal) -> list[dict[str, Any]]:
    await get_org(uow, school_code, within=caller)  # 404 for an unknown school, not an empty list
    rows = (await uow.session.execute(
        select(classes.c.id, classes.c.school_code, classes.c.grade, classes.c.name, classes.c.school_year)
        .where(classes.c.school_code == school_code).order_by(classes.c.grade, classes.c.name))).mappings().all()
    return [dict(r) for r in rows]
