"""Registry routes: population checks (人口比对) and poverty lists."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse

from registry.adapters.spreadsheet import read_upload
from registry.entrypoints.schemas.checks import PopulationCheckPublic, PopulationFinding, PovertyListReport
from registry.queries import population as population_reads
from registry.usecases import population, poverty
from shared.auth import OFFICIALS, PrincipalDep, access
from shared.envelope import dumps
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep
from shared.types import Day

router = APIRouter(prefix="/v1")


@router.post("/population-checks", response_model=PopulationCheckPublic, tags=["population checks"],
             **access(OFFICIALS, scope="create", responses={
                 201: {"description": "a new check"},
                 200: {"description": "the same list again: the earlier check, nothing emitted"}}))
async def run_population_check(
    runtime: RuntimeDep, uow: UoWDep, caller: PrincipalDep,
    region_code: Annotated[str, Form(min_length=1, max_length=32, description="township, county, city or province")],
    file: Annotated[UploadFile, File(description="the household list: 身份证号, 姓名, 出生日期, 住址 (CSV or XLSX)")],
    as_of: Annotated[Day | None, Form(description="the day ages are counted for; defaults to today")] = None,
    skip_invalid: Annotated[bool, Query(description="check the valid rows even if others are invalid")] = False,
):
    """Compare the school-age children living in a region with the registry (排查比对). Each
    school-age child with no record accounting for them is a suspected out-of-school child; each
    attending record in the region outside the compulsory age (6-15 on 31 August) is listed too."""
    await population.region_for(uow, region_code, caller)  # scope first: nobody else's file is parsed
    table = await read_upload(await file.read(), file.filename or "", population.HEADINGS,
                              required=population.REQUIRED, limits=runtime.settings.upload_limits)
    check, created = await population.run_check(uow, region_code, table, caller, as_of=as_of,
                                                skip_invalid=skip_invalid)
    return JSONResponse(json.loads(dumps(PopulationCheckPublic.model_validate(check).model_dump())),
                        status_code=201 if created else 200)


@router.post("/poverty-lists", response_model=PovertyListReport, tags=["population checks"],
             **access(OFFICIALS, scope="create", responses={
                 201: {"description": "applied"},
                 200: {"description": "a dry run, or the same list again (its first report, nothing written)"},
                 422: {"description": "invalid rows: every one listed, nothing applied"}}))
async def import_poverty_list(
    runtime: RuntimeDep, uow: UoWDep, caller: PrincipalDep,
    region_code: Annotated[str, Form(min_length=1, max_length=32, description="the county (or township) it covers")],
    category: Annotated[str, Form(min_length=1, max_length=32,
                                  description="脱贫户, 防返贫监测对象, 低保, or a category the county names")],
    file: Annotated[UploadFile, File(description="CSV or XLSX: 身份证号, 姓名 (出生日期, 住址 optional)")],
    list_date: Annotated[Day | None, Form(description="the day the list speaks for; defaults to today")] = None,
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
    skip_invalid: Annotated[bool, Query(description="apply the valid rows even if others are invalid")] = False,
):
    """A poverty-relief office's list (扶贫部门提供建档立卡贫困家庭基本信息). Rows are checked as the
    student import checks them. Applied, it flags poor_household (with the category) every listed
    child with a record in the caller's region, clears it from records flagged from this category
    and no longer listed, both as of `list_date` (a flag changed later is left alone), and makes each
    school-age child on it whom no record accounts for a suspected out-of-school child."""
    await poverty.region_for(uow, region_code, caller)  # scope first: nobody else's file is parsed
    table = await read_upload(await file.read(), file.filename or "", poverty.HEADINGS, required=poverty.REQUIRED,
                              limits=runtime.settings.upload_limits)
    report, created = await poverty.import_list(uow, region_code, category.strip(), list_date, table, caller,
                                                dry_run=dry_run, skip_invalid=skip_invalid)
    return JSONResponse(json.loads(dumps(PovertyListReport.model_validate(report).model_dump())),
                        status_code=201 if created and not dry_run else 200)


@router.get("/population-checks/{check_id}", response_model=PopulationCheckPublic, tags=["population checks"],
            **access(OFFICIALS, scope="object"))
async def get_population_check(check_id: str, uow: UoWDep, caller: PrincipalDep):
    return await population_reads.get_check(uow, check_id, caller)


@router.get("/population-checks/{check_id}/findings", response_model=Page[PopulationFinding],
            tags=["population checks"], **access(OFFICIALS, scope="object", audit=True))
async def population_findings(
    check_id: str, uow: UoWDep, page: PageDep, caller: PrincipalDep,
    kind: Literal["suspected_out_of_school", "outside_compulsory_age"] | None = None,
):
    """The children the check found, oldest first within each kind."""
    items, total = await population_reads.list_findings(uow, check_id, page, caller, kind=kind)
    return Page.of(items, total, page)


# --- the problem-record queue (问题学籍) --------------------------------------------------------
