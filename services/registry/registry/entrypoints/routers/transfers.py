"""Registry routes: transfers between schools: the list, a request from the receiving side, confirm,
cancel."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from registry.entrypoints import commands
from registry.entrypoints.deps import STAFF
from registry.entrypoints.schemas.transfers import TransferConfirmIn, TransferPublic, TransferRequestIn
from registry.queries import transfers as transfer_reads
from registry.usecases import transfers
from shared.auth import PrincipalDep, access
from shared.pagination import Page, PageDep
from shared.service import UoWDep

router = APIRouter(prefix="/v1")


@router.get("/students/transfers", response_model=Page[TransferPublic], tags=["transfers"],
            **access(*STAFF, scope="list"))
async def list_transfers(
    uow: UoWDep, page: PageDep, caller: PrincipalDep, request: Request,
    status: Literal["pending", "confirmed", "cancelled"] | None = None,
    overdue: Annotated[bool | None, Query(description="pending longer than BAOXUE_TRANSFER_OVERDUE_DAYS")] = None,
    school_code: Annotated[str | None, Query(max_length=32, description="sending or receiving school")] = None,
):
    """Transfers the caller's region sends or receives, oldest first: the overdue ones are the
    children who may have vanished between schools."""
    days = request.app.state.runtime.settings.transfer_overdue_days
    items, total = await transfer_reads.list_transfers(uow, page, caller, overdue_after_days=days, status=status,
                                                overdue=overdue, school_code=school_code)
    return Page.of(items, total, page)


@router.post("/students/transfer-requests", status_code=status.HTTP_201_CREATED, response_model=TransferPublic,
             tags=["transfers"], **access(*STAFF, scope="create"))
async def request_transfer_in(body: TransferRequestIn, uow: UoWDep, caller: PrincipalDep):
    """Transfer in (转入申请), started by the receiving school as in the national system: it names
    the child (ID number and name) and the class they join. The record stays at the sending
    school until that school confirms (POST .../confirm); the receiving school may withdraw it
    (.../cancel). Both see it pending, and it is overdue like any transfer."""
    return await transfers.request_transfer_in(uow, commands.transfer_in_request(body), caller)


@router.get("/students/transfers/{transfer_id}", response_model=TransferPublic, tags=["transfers"],
            **access(*STAFF, scope="object"))
async def get_transfer(transfer_id: str, uow: UoWDep, caller: PrincipalDep):
    return await transfer_reads.get_transfer(uow, transfer_id, caller)


@router.post("/students/transfers/{transfer_id}/confirm", response_model=TransferPublic, tags=["transfers"],
             **access(*STAFF, scope="object"))
async def confirm_transfer(transfer_id: str, body: TransferConfirmIn, uow: UoWDep, caller: PrincipalDep):
    """The other side's receipt (回执): the record moves to the receiving school, status
    transferred_in. A transfer the sending school filed is confirmed by the receiving one, into
    the class it names (`class_id` required); one the receiving school asked for is confirmed by
    the sending one. Only that side may confirm; a settled transfer is a 409."""
    return await transfers.confirm_transfer(uow, transfer_id, commands.transfer_confirmation(body), caller)


@router.post("/students/transfers/{transfer_id}/cancel", response_model=TransferPublic, tags=["transfers"],
             **access(*STAFF, scope="object"))
async def cancel_transfer(transfer_id: str, uow: UoWDep, caller: PrincipalDep):
    """The school that started a transfer withdraws it: a transfer out returns the record to the
    status it had; a request to transfer in never moved it."""
    return await transfers.cancel_transfer(uow, transfer_id, caller)


# --- children off the roll by a status (declared before /students/{student_id}) ---------------
