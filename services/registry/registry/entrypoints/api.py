"""Registry HTTP routes: parse, call a handler, map the result."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, StreamingResponse

from shared import audit
from shared.auth import EVERYONE, OFFICIALS, PEOPLE, Role, PrincipalDep, access
from shared.envelope import dumps
from shared.errors import Problem
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep
from shared.types import Day

from registry.usecases import (bulk_import, flags, merges, off_roll, population, poverty, problems, promotion, records,
                               registration)
from registry.queries import watch
from registry.adapters.spreadsheet import read_upload
from registry.domain import roster_import
from registry.domain.problems import ProblemKind
from registry.entrypoints.schemas import (
    ClassCreate,
    ClassPublic,
    DismissalPublic,
    DismissIn,
    FlagChangePublic,
    FlagsPatch,
    IdentifiedPublic,
    ImportReport,
    NationalIdIn,
    OffRollPublic,
    OffRollUpdate,
    OrgCreate,
    OrgPublic,
    OrgUpdate,
    PopulationCheckPublic,
    PopulationFinding,
    PovertyListReport,
    ProblemMergedPublic,
    ProblemMergeIn,
    ProblemRecordPublic,
    PromotionIn,
    PromotionPublic,
    ReceiptIn,
    StatusChangeIn,
    StatusChangePublic,
    StudentCreate,
    StudentPublic,
    StudentSearch,
    TransferConfirmIn,
    TransferIn,
    TransferPublic,
    TransferRequestIn,
    WatchItem,
)

STAFF = (Role.school_staff, OFFICIALS)
NDJSON = "application/x-ndjson"

router = APIRouter(prefix="/v1")


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=OrgPublic, tags=["organisations"],
             **access(OFFICIALS, scope="create"))
async def create_org(body: OrgCreate, uow: UoWDep, caller: PrincipalDep):
    """Register an administrative unit or a school under a parent in the caller's region (a
    province by its own province officials)."""
    return await registration.create_org(uow, body, caller)


@router.patch("/orgs/{code}", response_model=OrgPublic, tags=["organisations"], **access(OFFICIALS, scope="object"))
async def update_org(code: str, body: OrgUpdate, uow: UoWDep, caller: PrincipalDep):
    """Rename an org below the caller's own, or correct a school's system (6+3, 5+4, nine_year,
    twelve_year). Moving an org under another parent (行政区划调整) is refused (409): register
    the new unit and transfer the students instead (README, "The org tree")."""
    return await registration.update_org(uow, code, body, caller)


@router.get("/orgs/{code}", response_model=OrgPublic, tags=["organisations"], **access(EVERYONE, scope="none"))
async def get_org(code: str, uow: UoWDep):
    """Names and places in the org tree are public to every signed-in caller."""
    return await registration.get_org(uow, code)


@router.post("/schools/{school_code}/classes", status_code=status.HTTP_201_CREATED, response_model=ClassPublic,
             tags=["classes"], **access(Role.school_staff, OFFICIALS, scope="create"))
async def create_class(school_code: str, body: ClassCreate, uow: UoWDep, caller: PrincipalDep):
    return await registration.create_class(uow, school_code, body, caller)


@router.get("/schools/{school_code}/classes", response_model=list[ClassPublic], tags=["classes"],
            **access(PEOPLE, scope="object"))
async def list_classes(school_code: str, uow: UoWDep, caller: PrincipalDep):
    """A school's classes by grade (a school has dozens, so the list is not paginated)."""
    return await registration.list_classes(uow, school_code, caller)


@router.post("/students", status_code=status.HTTP_201_CREATED, response_model=StudentPublic, tags=["students"],
             **access(Role.school_staff, OFFICIALS, scope="create"))
async def enroll_student(body: StudentCreate, uow: UoWDep, caller: PrincipalDep):
    """Enroll a child. Refused (nothing written) if the ID is invalid, disagrees with the birth
    date or gender, or the child already has an active record anywhere."""
    return await registration.enroll_student(uow, body, caller)


@router.post("/schools/{school_code}/promotions", status_code=status.HTTP_201_CREATED, response_model=PromotionPublic,
             tags=["classes"], **access(*STAFF, scope="create"))
async def promote_school(school_code: str, body: PromotionIn, uow: UoWDep, caller: PrincipalDep):
    """Year end: every class of the ending school year moves up a grade ("七年级(1)班" becomes
    "八年级(1)班"); the top grade's attending students graduate. One transaction."""
    return await promotion.promote_school(uow, school_code, body, caller)


# --- transfers (declared before /students/{student_id}, which would swallow "transfers") -------

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
    items, total = await records.list_transfers(uow, page, caller, overdue_after_days=days, status=status,
                                                overdue=overdue, school_code=school_code)
    return Page.of(items, total, page)


@router.post("/students/transfer-requests", status_code=status.HTTP_201_CREATED, response_model=TransferPublic,
             tags=["transfers"], **access(*STAFF, scope="create"))
async def request_transfer_in(body: TransferRequestIn, uow: UoWDep, caller: PrincipalDep):
    """Transfer in (转入申请), started by the receiving school as in the national system: it names
    the child (ID number and name) and the class they join. The record stays at the sending
    school until that school confirms (POST .../confirm); the receiving school may withdraw it
    (.../cancel). Both see it pending, and it is overdue like any transfer."""
    return await records.request_transfer_in(uow, body, caller)


@router.get("/students/transfers/{transfer_id}", response_model=TransferPublic, tags=["transfers"],
            **access(*STAFF, scope="object"))
async def get_transfer(transfer_id: str, uow: UoWDep, caller: PrincipalDep):
    return await records.get_transfer(uow, transfer_id, caller)


@router.post("/students/transfers/{transfer_id}/confirm", response_model=TransferPublic, tags=["transfers"],
             **access(*STAFF, scope="object"))
async def confirm_transfer(transfer_id: str, body: TransferConfirmIn, uow: UoWDep, caller: PrincipalDep):
    """The other side's receipt (回执): the record moves to the receiving school, status
    transferred_in. A transfer the sending school filed is confirmed by the receiving one, into
    the class it names (`class_id` required); one the receiving school asked for is confirmed by
    the sending one. Only that side may confirm; a settled transfer is a 409."""
    return await records.confirm_transfer(uow, transfer_id, body, caller)


@router.post("/students/transfers/{transfer_id}/cancel", response_model=TransferPublic, tags=["transfers"],
             **access(*STAFF, scope="object"))
async def cancel_transfer(transfer_id: str, uow: UoWDep, caller: PrincipalDep):
    """The school that started a transfer withdraws it: a transfer out returns the record to the
    status it had; a request to transfer in never moved it."""
    return await records.cancel_transfer(uow, transfer_id, caller)


# --- children off the roll by a status (declared before /students/{student_id}) ---------------

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
    return await off_roll.get_period(uow, period_id, caller, overdue_days=runtime.settings.transfer_overdue_days)


@router.patch("/students/off-roll/{period_id}", response_model=OffRollPublic, tags=["watch"],
              **access(*STAFF, scope="object"))
async def update_off_roll(period_id: str, body: OffRollUpdate, uow: UoWDep, caller: PrincipalDep,
                          runtime: RuntimeDep):
    """The home school supplies what the status change left out (the host, the end date) or moves
    the end. A new end that passes too is announced again."""
    return await off_roll.update_period(uow, period_id, body, caller,
                                        overdue_days=runtime.settings.transfer_overdue_days)


@router.post("/students/off-roll/{period_id}/receipt", response_model=OffRollPublic, tags=["watch"],
             **access(*STAFF, scope="object"))
async def record_receipt(period_id: str, body: ReceiptIn, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep):
    """The host's receipt (回执) for a child boarding elsewhere: confirmed by the host school when it
    is in this system, or recorded by the home school with its `evidence` (a receipt from the host
    or the family). Recorded once; a second is a 409."""
    return await off_roll.record_receipt(uow, period_id, body, caller,
                                         overdue_days=runtime.settings.transfer_overdue_days)


# --- bulk import ------------------------------------------------------------------------------

@router.post("/students/imports", response_model=ImportReport, tags=["students"], **access(*STAFF, scope="create", responses={
                 200: {"content": {NDJSON: {}}, "description": "the report; with Accept: application/x-ndjson, "
                                                                "progress lines then the report"},
                 201: {"description": "the rows were imported: the report"},
                 422: {"description": "invalid rows: every one listed, nothing imported"}}))
async def import_students(
    request: Request, runtime: RuntimeDep, caller: PrincipalDep,
    school_code: Annotated[str, Form(min_length=1, max_length=32)],
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or XLSX, first sheet; headings in "
                                                 "Chinese (身份证号, 姓名, 班级...) or English")],
    dry_run: Annotated[bool, Query(description="check every row and report, write nothing "
                                                    "(BAOXUE_IMPORT_DRY_RUNS_PER_DAY a caller and day)")] = False,
    skip_invalid: Annotated[bool, Query(description="import the valid rows even if others are invalid")] = False,
):
    """Enroll a school's students from a spreadsheet. Every row is checked (ID checksum and
    birth date, gender, class name, duplicates in the file, an active record elsewhere); the
    valid rows are written in one transaction. By default one invalid row refuses the whole
    file with a 422 listing every bad row and field."""
    async with runtime.uow() as uow:
        await bulk_import.school_for(uow, school_code, caller)  # scope first: nobody else's file is parsed
    table = await read_upload(await file.read(), file.filename or "", roster_import.HEADINGS,
                              required=roster_import.REQUIRED, limits=runtime.settings.upload_limits)

    async def run(progress) -> dict[str, Any]:
        async with runtime.uow() as uow:
            return await bulk_import.import_students(uow, school_code, table, caller, dry_run=dry_run,
                                                     skip_invalid=skip_invalid, progress=progress,
                                                     dry_runs_per_day=runtime.settings.import_dry_runs_per_day)

    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(_with_progress(run), media_type=NDJSON)
    # The audit row commits with the import: it carries the status this answer will have.
    audit.answering(200 if dry_run else 201)
    report = await run(_log_progress(school_code))
    return JSONResponse(json.loads(dumps(report)), status_code=200 if dry_run else 201)


def _log_progress(school_code: str):
    def progress(phase: str, done: int, total: int) -> None:
        bulk_import.log.info("import.progress", school=school_code, phase=phase, done=done, total=total)
    return progress


async def _with_progress(run):
    """Progress lines as the import goes ({"phase", "done", "total"}), then the report line
    ({"report": ...}) or the problem ({"problem": ...}): a slow connection sees it moving."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def progress(phase: str, done: int, total: int) -> None:
        queue.put_nowait(dumps({"phase": phase, "done": done, "total": total}) + b"\n")

    async def work() -> None:
        try:
            queue.put_nowait(dumps({"report": await run(progress)}) + b"\n")
        except Problem as exc:
            queue.put_nowait(dumps({"problem": {"status": exc.status, "title": exc.title, "detail": exc.detail,
                                                "errors": exc.errors, **exc.extensions}}) + b"\n")
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(work())
    try:
        while (line := await queue.get()) is not None:
            yield line
    finally:
        await task


@router.get("/students/{student_id}", response_model=StudentPublic, tags=["students"],
            **access(PEOPLE, scope="object", audit=True))
async def get_student(student_id: str, uow: UoWDep, caller: PrincipalDep):
    """The record. A record merged into another is a 404 whose `merged_into` names the kept one."""
    return await merges.get_student_or_merged(uow, student_id, caller)


@router.get("/students", response_model=Page[StudentPublic], tags=["students"], **access(PEOPLE, scope="list"))
async def list_students(uow: UoWDep, page: PageDep, caller: PrincipalDep, search: Annotated[StudentSearch, Query()]):
    """Search the records in the caller's scope: by org at any level, school, class, grade,
    status, risk flag, household region, or part of the name."""
    items, total = await registration.list_students(uow, page, caller, search)
    return Page.of(items, total, page)


@router.post("/students/{student_id}/status-changes", status_code=status.HTTP_201_CREATED,
             response_model=StatusChangePublic, tags=["students"], **access(*STAFF, scope="object"))
async def change_status(student_id: str, body: StatusChangeIn, uow: UoWDep, caller: PrincipalDep):
    """Change a record's status (学籍异动) along the lifecycle table in the README. An illegal
    change is a 409 naming the allowed ones; transfers have their own routes. Boarding elsewhere
    names its host and `expected_end`, a suspension its `expected_end`; left out, the change is
    still accepted and the answer's `missing` lists what the watchdog will ask for."""
    return await records.change_student_status(uow, student_id, body, caller)


@router.get("/students/{student_id}/status-changes", response_model=list[StatusChangePublic], tags=["students"],
            **access(PEOPLE, scope="object"))
async def status_history(student_id: str, uow: UoWDep, caller: PrincipalDep):
    """Every status change of the record, oldest first."""
    return await records.status_history_of(uow, student_id, caller)


@router.post("/students/{student_id}/national-id", response_model=IdentifiedPublic, tags=["students"],
             **access(*STAFF, scope="object"))
async def add_national_id(student_id: str, body: NationalIdIn, uow: UoWDep, caller: PrincipalDep):
    """The ID of a child enrolled without one: checked against the birth date and gender on the
    record, and the temporary student number becomes the G number. If the child has another
    active record under this ID, it is merged into this one (`merged`; `student.merged` event);
    one at a school outside the caller's region is a 409 for the county to merge."""
    return await merges.add_national_id(uow, student_id, body, caller)


@router.patch("/students/{student_id}/flags", response_model=StudentPublic, tags=["students"],
              **access(*STAFF, scope="object"))
async def patch_flags(student_id: str, body: FlagsPatch, uow: UoWDep, caller: PrincipalDep):
    """Add or remove risk flags (留守儿童, 建档立卡...) with the reason and the day it took effect:
    a history row per flag and a `student.flags_changed` event. Asking for what is already so
    changes nothing."""
    return await flags.patch_flags(uow, student_id, body, caller)


@router.get("/students/{student_id}/flag-changes", response_model=list[FlagChangePublic], tags=["students"],
            **access(PEOPLE, scope="object"))
async def flag_history(student_id: str, uow: UoWDep, caller: PrincipalDep):
    """Every flag added or removed, oldest first: by hand, or from a poverty office's list."""
    return await flags.flag_history_of(uow, student_id, caller)


@router.post("/students/{student_id}/transfers", status_code=status.HTTP_201_CREATED, response_model=TransferPublic,
             tags=["transfers"], **access(*STAFF, scope="object"))
async def request_transfer(student_id: str, body: TransferIn, uow: UoWDep, caller: PrincipalDep):
    """Transfer out (转出): the record waits in transferred_out until the receiving school
    confirms (回执). Unconfirmed past BAOXUE_TRANSFER_OVERDUE_DAYS it is announced as overdue."""
    return await records.request_transfer(uow, student_id, body, caller)


# --- population cross-check -------------------------------------------------------------------

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
    return await population.get_check(uow, check_id, caller)


@router.get("/population-checks/{check_id}/findings", response_model=Page[PopulationFinding],
            tags=["population checks"], **access(OFFICIALS, scope="object", audit=True))
async def population_findings(
    check_id: str, uow: UoWDep, page: PageDep, caller: PrincipalDep,
    kind: Literal["suspected_out_of_school", "outside_compulsory_age"] | None = None,
):
    """The children the check found, oldest first within each kind."""
    items, total = await population.list_findings(uow, check_id, page, caller, kind=kind)
    return Page.of(items, total, page)


# --- the problem-record queue (问题学籍) --------------------------------------------------------

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
    items, total = await problems.list_problems(uow, page, caller, org_code=org_code, kind=kind)
    return Page.of(items, total, page)


@router.post("/problem-records/{problem_id}/merge", response_model=ProblemMergedPublic, tags=["problem records"],
             **access(OFFICIALS, scope="object"))
async def merge_problem_record(problem_id: str, body: ProblemMergeIn, uow: UoWDep, caller: PrincipalDep):
    """One child: the other records merge into `kept_id` (history moved, `student.merged` each).
    Records with two different ID numbers are a 409: correct the number, or dismiss."""
    return await problems.merge(uow, problem_id, body, caller)


@router.post("/problem-records/{problem_id}/dismiss", status_code=status.HTTP_201_CREATED,
             response_model=DismissalPublic, tags=["problem records"], **access(OFFICIALS, scope="object"))
async def dismiss_problem_record(problem_id: str, body: DismissIn, uow: UoWDep, caller: PrincipalDep):
    """Two children after all: the group leaves the queue, with who and why. A record joining the
    group later makes it a new problem."""
    return await problems.dismiss(uow, problem_id, body, caller)
