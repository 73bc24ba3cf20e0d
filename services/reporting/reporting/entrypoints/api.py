"""Reporting HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shared.auth import OFFICIALS, PrincipalDep, Role, access
from shared.service import UoWDep

from reporting import handlers
from reporting.entrypoints.schemas import Summary

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get("/reports/summary", response_model=Summary, **access(Role.school_staff, OFFICIALS, scope="object"))
async def get_summary(uow: UoWDep, caller: PrincipalDep, org_code: Annotated[str, Query(min_length=1, max_length=32)]):
    """Enrolment, dropout and open cases for any org level in the caller's region, primary and
    junior middle apart. `as_of` is the time of the newest event the figures include."""
    return await handlers.summary(uow, org_code, caller)
