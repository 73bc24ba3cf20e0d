"""The plan of persuasion, care and assistance: its items."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update

from cases.adapters.tables import plan_items
from cases.domain.work import PlanItem
from cases.usecases.common import add_timeline
from shared.auth import Principal
from shared.errors import NotFound
from shared.events.cases import PlanItemAdded
from shared.uow import UnitOfWork


async def add_plan_item(uow: UnitOfWork, case: Mapping[str, Any], caller: Principal,
                        item: PlanItem) -> dict[str, Any]:
    case_id = case["id"]
    now, item_id = uow.clock.now(), str(uuid.uuid4())
    row = {"id": item_id, "case_id": case_id, "kind": item.kind, "description": item.description,
           "owner": item.owner, "due_on": item.due_on, "done_at": None, "created_by": caller.subject, "created_at": now}
    await uow.session.execute(insert(plan_items).values(**row))
    await add_timeline(uow, case_id, "plan_item_added",
                        {"item_id": item_id, "kind": item.kind, "owner": item.owner, "due_on": item.due_on},
                        actor=caller.subject)
    uow.emit(PlanItemAdded(case_id=case_id, student_id=case["child_id"], item_id=item_id, kind=item.kind,
                           owner=item.owner, due_on=item.due_on, added_at=now, actor=caller.subject),
             subject=case["child_id"])
    await uow.commit()
    return row


async def set_plan_item_done(uow: UnitOfWork, case: Mapping[str, Any], item_id: str, caller: Principal,
                             done: bool) -> dict[str, Any]:
    case_id = case["id"]
    item = (await uow.session.execute(select(plan_items).where(
        plan_items.c.id == item_id, plan_items.c.case_id == case_id))).mappings().first()
    if item is None:
        raise NotFound(f"case {case_id} has no plan item {item_id}")
    if (item["done_at"] is not None) != done:
        done_at = uow.clock.now() if done else None
        await uow.session.execute(update(plan_items).where(plan_items.c.id == item_id).values(done_at=done_at))
        await add_timeline(uow, case_id, "plan_item_done" if done else "plan_item_reopened", {"item_id": item_id},
                            actor=caller.subject)
        await uow.commit()
        item = {**item, "done_at": done_at}
    return dict(item)
