"""Registry HTTP routes: parse, call a handler, map the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from shared.pagination import Page, PageDep
from shared.service import UoWDep

from registry import handlers
from registry.domain.model import StudentStatus
from registry.entrypoints.schemas import (
    ClassCreate,
    ClassPublic,
    Flag,
    OrgCreate,
    OrgPublic,
    StudentCreate,
    StudentPublic,
)

router = APIRouter(prefix="/v1")


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=OrgPublic, tags=["organisations"])
async def create_org(body: OrgCreate, uow: UoWDep):
    """Register an administrative unit or a school under its parent."""
    return await handlers.create_org(uow, body)


@router.get("/orgs/{code}", response_model=OrgPublic, tags=["organisations"])
async def get_org(code: str, uow: UoWDep):
    return await handlers.get_org(uow, code)


@router.post("/schools/{school_code}/classes", status_code=status.HTTP_201_CREATED, response_model=ClassPublic,
             tags=["classes"])
async def create_class(school_code: str, body: ClassCreate, uow: UoWDep):
    return await handlers.create_class(uow, school_code, body)


@router.get("/schools/{school_code}/classes", response_model=list[ClassPublic], tags=["classes"])
async def list_classes(school_code: str, uow: UoWDep):
    """A school's classes by grade (a school has dozens, so the list is not paginated)."""
    return await handlers.list_classes(uow, school_code)


@router.post("/students", status_code=status.HTTP_201_CREATED, response_model=StudentPublic, tags=["students"])
async def enroll_student(body: StudentCreate, uow: UoWDep):
    """Enroll a child. Refused (nothing written) if the ID is invalid, disagrees with the birth
    date or gender, or the child already has an active record anywhere."""
    return await handlers.enroll_student(uow, body)


@router.get("/students/{student_id}", response_model=StudentPublic, tags=["students"])
async def get_student(student_id: str, uow: UoWDep):
    return await handlers.get_student(uow, student_id)


@router.get("/students", response_model=Page[StudentPublic], tags=["students"])
async def list_students(
    uow: UoWDep,
    page: PageDep,
    school_code: Annotated[str | None, Query(max_length=32)] = None,
    status: StudentStatus | None = None,
    flag: Flag | None = None,
):
    items, total = await handlers.list_students(
        uow, page, school_code=school_code, status=status.value if status else None, flag=flag
    )
    return Page.of(items, total, page)
