"""Registry HTTP routes: parse, call a handler, map the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from shared.auth import EVERYONE, OFFICIALS, PEOPLE, Role, PrincipalDep, access
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


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=OrgPublic, tags=["organisations"],
             **access(OFFICIALS, scope="create"))
async def create_org(body: OrgCreate, uow: UoWDep, caller: PrincipalDep):
    """Register an administrative unit or a school under a parent in the caller's region (a
    province by its own province officials)."""
    return await handlers.create_org(uow, body, caller)


@router.get("/orgs/{code}", response_model=OrgPublic, tags=["organisations"], **access(EVERYONE, scope="none"))
async def get_org(code: str, uow: UoWDep):
    """Names and places in the org tree are public to every signed-in caller."""
    return await handlers.get_org(uow, code)


@router.post("/schools/{school_code}/classes", status_code=status.HTTP_201_CREATED, response_model=ClassPublic,
             tags=["classes"], **access(Role.school_staff, OFFICIALS, scope="create"))
async def create_class(school_code: str, body: ClassCreate, uow: UoWDep, caller: PrincipalDep):
    return await handlers.create_class(uow, school_code, body, caller)


@router.get("/schools/{school_code}/classes", response_model=list[ClassPublic], tags=["classes"],
            **access(PEOPLE, scope="object"))
async def list_classes(school_code: str, uow: UoWDep, caller: PrincipalDep):
    """A school's classes by grade (a school has dozens, so the list is not paginated)."""
    return await handlers.list_classes(uow, school_code, caller)


@router.post("/students", status_code=status.HTTP_201_CREATED, response_model=StudentPublic, tags=["students"],
             **access(Role.school_staff, OFFICIALS, scope="create"))
async def enroll_student(body: StudentCreate, uow: UoWDep, caller: PrincipalDep):
    """Enroll a child. Refused (nothing written) if the ID is invalid, disagrees with the birth
    date or gender, or the child already has an active record anywhere."""
    return await handlers.enroll_student(uow, body, caller)


@router.get("/students/{student_id}", response_model=StudentPublic, tags=["students"],
            **access(PEOPLE, scope="object", audit=True))
async def get_student(student_id: str, uow: UoWDep, caller: PrincipalDep):
    return await handlers.get_student(uow, student_id, caller)


@router.get("/students", response_model=Page[StudentPublic], tags=["students"], **access(PEOPLE, scope="list"))
async def list_students(
    uow: UoWDep,
    page: PageDep,
    caller: PrincipalDep,
    school_code: Annotated[str | None, Query(max_length=32)] = None,
    status: StudentStatus | None = None,
    flag: Flag | None = None,
):
    items, total = await handlers.list_students(
        uow, page, caller, school_code=school_code, status=status.value if status else None, flag=flag
    )
    return Page.of(items, total, page)
