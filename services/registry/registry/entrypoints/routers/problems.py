"""Registry routes: problem records (问题学籍): possible duplicates to merge or dismiss."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from registry.domain.problems import ProblemKind
from registry.entrypoints import commands
from registry.entrypoints.schemas.problems import (
    DismissalPublic,
    DismissIn,
    ProblemMergedPublic,
    ProblemMergeIn,
    ProblemRecordPublic,
)
from registry.queries import problems as problem_reads
from registry.usecases import problems
from shared.auth import OFFICIALS, PrincipalDep, access
from shared.pagination import Page, PageDep
from shared.service import UoWDep

router = APIRouter(prefix="/v1")


@router.get("/problem-records", response_model=Page[ProblemRecordPublic], tags=["problem records"],
            **access(OFFICIALS, scope="list"))
async def list_problem_records(
    uow: UoWDep, page: PageDep, caller: PrincipalDep,
    org_code: Annotated[str | None, Query(max_length=32, description="any org in the caller's region")] = None,
    kind: ProblemKind | None = None,
):
    """Suspected duplicates whose records all lie in the caller's region: the same name, gender
    and birth date within a county, or one ID on records that are not the child's successive
    stages. Merge them (one child) or dismiss them (two children)."""
    items, total = await problem_reads.list_problems(uow, page, caller, org_code=org_code, kind=kind)
    return Page.of(items, total, page)


@router.post("/problem-records/{problem_id}/merge", response_model=ProblemMergedPublic, tags=["problem records"],
             **access(OFFICIALS, scope="object"))
async def merge_problem_record(problem_id: str, body: ProblemMergeIn, uow: UoWDep, caller: PrincipalDep):
    """One child: the other records merge into `kept_id` (history moved, `student.merged` each).
    Records with two different ID numbers are a 409: correct the number, or dismiss."""
    return await problems.merge(uow, problem_id, commands.problem_merge(body), caller)


@router.post("/problem-records/{problem_id}/dismiss", status_code=status.HTTP_201_CREATED,
             response_model=DismissalPublic, tags=["problem records"], **access(OFFICIALS, scope="object"))
async def dismiss_problem_record(problem_id: str, body: DismissIn, uow: UoWDep, caller: PrincipalDep):
    """Two children after all: the group leaves the queue, with who and why. A record joining the
    group later makes it a new problem."""
    return await problems.dismiss(uow, problem_id, body.reason, caller)
