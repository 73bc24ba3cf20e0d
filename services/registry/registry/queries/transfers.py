"""Reads of transfers: one transfer (either side sees it) and the list of the caller's."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from registry.adapters.tables import orgs, transfers
from registry.queries.orgs import get_org
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import PageParams
from shared.sql import fetch_page
from shared.uow import UnitOfWork


async def get_transfer(uow: UnitOfWork, transfer_id: str, caller: Principal | None = None) -> dict[str, Any]:
    row = (await uow.session.execute(select(transfers).where(transfers.c.id == transfer_id))).mappings().first()
    place = row and caller and await visible_side(uow, dict(row), caller)
    if row is None or (caller is not None and place is None):
        raise NotFound(f"no transfer with id {transfer_id}")
    if place:
        audit.note_place(place)
    return present_transfer(dict(row), uow.clock.now().date(), None)


async def visible_side(uow: UnitOfWork, transfer: dict[str, Any], caller: Principal) -> list[str] | None:
    """The place of the first side of the transfer the caller sees (the sending side and the
    receiving side both see it), or None."""
    for code in (transfer["from_school_code"], transfer["to_school_code"]):
        if code and caller.sees_org(path := (await get_org(uow, code))["path"]):
            return path
    return None


async def list_transfers(uow: UnitOfWork, page: PageParams, caller: Principal, *, overdue_after_days: int,
                         status: str | None, overdue: bool | None, school_code: str | None,
                         ) -> tuple[list[dict[str, Any]], int]:
    today = uow.clock.now().date()
    cutoff = today - timedelta(days=overdue_after_days)
    sender = orgs.alias("sender")
    receiver = orgs.alias("receiver")
    conditions = [or_(caller.within(sender.c.path), caller.within(receiver.c.path))]
    if status:
        conditions.append(transfers.c.status == status)
    if overdue is not None:
        is_overdue = and_(transfers.c.status == "pending", transfers.c.requested_on <= cutoff)
        conditions.append(is_overdue if overdue else ~is_overdue)
    if school_code:
        conditions.append(or_(transfers.c.from_school_code == school_code, transfers.c.to_school_code == school_code))
    stmt = (select(transfers).join(sender, sender.c.code == transfers.c.from_school_code)
            .outerjoin(receiver, receiver.c.code == transfers.c.to_school_code)
            .where(*conditions).order_by(transfers.c.requested_on, transfers.c.id))
    rows, total = await fetch_page(uow.session, stmt, limit=page.limit, offset=page.offset)
    return [present_transfer(dict(r), today, overdue_after_days) for r in rows], total


def present_transfer(row: dict[str, Any], today: date, overdue_after_days: int | None) -> dict[str, Any]:
    pending = row["status"] == "pending"
    days = (today - row["requested_on"]).days if pending else None
    overdue = bool(pending and overdue_after_days is not None and days >= overdue_after_days) or \
        row.get("overdue_at") is not None and pending
    return {**row, "days_pending": days, "overdue": overdue}
