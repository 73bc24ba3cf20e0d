"""Registry routes: organisations, a school's classes and the year-end promotion."""

from __future__ import annotations

from fastapi import APIRouter, status

from registry.entrypoints import commands
from registry.entrypoints.deps import STAFF
from registry.entrypoints.schemas.orgs import (
    ClassCreate,
    ClassPublic,
    OrgCreate,
    OrgPublic,
    OrgUpdate,
    PromotionIn,
    PromotionPublic,
)
from registry.queries import orgs as org_reads
from registry.usecases import promotion, registration
from shared.auth import EVERYONE, OFFICIALS, PEOPLE, PrincipalDep, Role, access
from shared.service import UoWDep

router = APIRouter(prefix="/v1")


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=OrgPublic, tags=["organisations"],
             **access(OFFICIALS, scope="create"))
async def create_org(body: OrgCreate, uow: UoWDep, caller: PrincipalDep):
    """Register an administrative unit or a school under a parent in the caller's region (a
    province by its own province officials)."""
    return await registration.create_org(uow, commands.org_registration(body), caller)


@router.patch("/orgs/{code}", response_model=OrgPublic, tags=["organisations"], **access(OFFICIALS, scope="object"))
async def update_org(code: str, body: OrgUpdate, uow: UoWDep, caller: PrincipalDep):
    """Rename an org below the caller's own, or correct a school's system (6+3, 5+4, nine_year,
    twelve_year). Moving an org under another parent (行政区划调整) is refused (409): register
    the new unit and transfer the students instead (README, "The org tree")."""
    return await registration.update_org(uow, code, commands.org_change(body), caller)


@router.get("/orgs/{code}", response_model=OrgPublic, tags=["organisations"], **access(EVERYONE, scope="none"))
async def get_org(code: str, uow: UoWDep):
    """Names and places in the org tree are public to every signed-in caller."""
    return await org_reads.get_org(uow, code)


@router.post("/schools/{school_code}/classes", status_code=status.HTTP_201_CREATED, response_model=ClassPublic,
             tags=["classes"], **access(Role.school_staff, OFFICIALS, scope="create"))
async def create_class(school_code: str, body: ClassCreate, uow: UoWDep, caller: PrincipalDep):
    return await registration.create_class(uow, school_code, commands.new_class(body), caller)


@router.get("/schools/{school_code}/classes", response_model=list[ClassPublic], tags=["classes"],
            **access(PEOPLE, scope="object"))
async def list_classes(school_code: str, uow: UoWDep, caller: PrincipalDep):
    """A school's classes by grade (a school has dozens, so the list is not paginated)."""
    return await org_reads.list_classes(uow, school_code, caller)


@router.post("/schools/{school_code}/promotions", status_code=status.HTTP_201_CREATED, response_model=PromotionPublic,
             tags=["classes"], **access(*STAFF, scope="create"))
async def promote_school(school_code: str, body: PromotionIn, uow: UoWDep, caller: PrincipalDep):
    """Year end: every class of the ending school year moves up a grade ("七年级(1)班" becomes
    "八年级(1)班"); the top grade's attending students graduate. One transaction."""
    return await promotion.promote_school(uow, school_code, commands.promotion(body), caller)


# --- transfers (declared before /students/{student_id}, which would swallow "transfers") -------
