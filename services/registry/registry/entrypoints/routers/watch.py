"""Registry routes: the watch list and the periods off the roll (boarding, suspension) with their receipts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from registry.entrypoints import commands
from registry.entrypoints.deps import STAFF
from registry.entrypoints.schemas.watch import OffRollPublic, OffRollUpdate, ReceiptIn, WatchItem
from registry.queries import off_roll as off_roll_reads
from registry.queries import watch
from registry.usecases import off_roll
from shared.auth import PEOPLE, PrincipalDep, access
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep

router = APIRouter(prefix="/v1")


@router.get("/students/watch", response_model=Page[WatchItem], tags=["watch"], **access(PEOPLE, scope="list"))
async def watch_list(
    uow: UoWDep, page: PageDep, caller: PrincipalDep, runtime: RuntimeDep,
    org_code: Annotated[str | None, Query(max_length=32, description="any org: school, township, county...")] = None,
):
    """Every child off the roll by a status (boarding elsewhere, suspended, transferred out and
    not yet received), longest off first, with how long and what is missing: the host, an end
    date, a receipt (回执), a return. `overdue` says what the watchdog has (or will have) announced.
    The host school of a boarding child and the receiving school of a transfer see it too."""
    items, total = await watch.watch_list(uow, page, caller, org_code=org_code,
                                          overdue_after_days=runtime.settings.transfer_overdue_days)
    return Page.of(items, total, page)


@router.get("/students/off-roll/{period_id}", response_model=OffRollPublic, tags=["watch"],
            **access(PEOPLE, scope="object"))
async def get_off_roll(period_id: str, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep):
    """One period of boarding elsewhere or suspension (the home school and the host see it)."""
    return await off_roll_reads.get_period(uow, period_id, caller, overdue_days=runtime.settings.transfer_overdue_days)


@router.patch("/students/off-roll/{period_id}", response_model=OffRollPublic, tags=["watch"],
              **access(*STAFF, scope="object"))
async def update_off_roll(period_id: str, body: OffRollUpdate, uow: UoWDep, caller: PrincipalDep,
                          runtime: RuntimeDep):
    """The home school supplies what the status change left out (the host, the end date) or moves
    the end. A new end that passes too is announced again."""
    return await off_roll.update_period(uow, period_id, commands.off_roll_change(body), caller,
                                        overdue_days=runtime.settings.transfer_overdue_days)


@router.post("/students/off-roll/{period_id}/receipt", response_model=OffRollPublic, tags=["watch"],
             **access(*STAFF, scope="object"))
async def record_receipt(period_id: str, body: ReceiptIn, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep):
    """The host's receipt (回执) for a child boarding elsewhere: confirmed by the host school when it
    is in this system, or recorded by the home school with its `evidence` (a receipt from the host
    or the family). Recorded once; a second is a 409."""
    return await off_roll.record_receipt(uow, period_id, commands.receipt(body), caller,
                                         overdue_days=runtime.settings.transfer_overdue_days)


# --- bulk import ------------------------------------------------------------------------------
