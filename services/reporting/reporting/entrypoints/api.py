"""Reporting HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shared.service import UoWDep

from reporting import handlers
from reporting.entrypoints.schemas import Summary

router = APIRouter(prefix="/v1", tags=["reports"])


@router.get("/reports/summary", response_model=Summary)
async def get_summary(uow: UoWDep, org_code: Annotated[str, Query(min_length=1, max_length=32)]):
    """Enrolment, dropout and open cases for any org level, primary and junior middle apart.
    `as_of` is the time of the newest event the figures include."""
    return await handlers.summary(uow, org_code)
