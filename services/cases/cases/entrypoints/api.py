"""Cases HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shared.auth import PEOPLE, PrincipalDep, Role, access
from shared.pagination import Page, PageDep
from shared.service import UoWDep

from cases import handlers
from cases.domain.model import CaseStatus, Recipient
from cases.entrypoints.schemas import CaseDetail, CaseOut, DualReportOut

router = APIRouter(prefix="/v1", tags=["cases"])


@router.get("/cases", response_model=Page[CaseOut], **access(PEOPLE, scope="list"))
async def list_cases(
    uow: UoWDep,
    page: PageDep,
    caller: PrincipalDep,
    student_id: Annotated[str | None, Query(max_length=36)] = None,
    status: CaseStatus | None = None,
    org_code: Annotated[str | None, Query(max_length=32, description="any level: school, township, county...")] = None,
):
    items, total = await handlers.list_cases(uow, page, caller, student_id=student_id,
                                             status=status.value if status else None, org_code=org_code)
    return Page.of(items, total, page)


@router.get("/cases/{case_id}", response_model=CaseDetail, **access(PEOPLE, scope="object", audit=True))
async def get_case(case_id: str, uow: UoWDep, caller: PrincipalDep):
    """The case with its dual reports and its timeline, oldest entry first."""
    return await handlers.get_case(uow, case_id, caller)


@router.post("/cases/{case_id}/reports/{recipient}/ack", response_model=DualReportOut,
             **access(Role.recipient, Role.township_official, Role.county_official, scope="own"))
async def acknowledge_report(case_id: str, recipient: Recipient, uow: UoWDep, caller: PrincipalDep):
    """The recipient (the township government or county education department the report was
    sent to: a token whose org is that recipient) confirms it received the report. Idempotent."""
    return await handlers.acknowledge(uow, case_id, recipient, caller)
