"""Registry routes: student records: enrolment (one, or a spreadsheet), reads, status changes, IDs, flags,
a transfer out."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse, StreamingResponse

from registry.adapters.spreadsheet import read_upload
from registry.domain import roster_import
from registry.entrypoints import commands
from registry.entrypoints.deps import STAFF, VisibleStudent
from registry.entrypoints.schemas.students import (
    FlagChangePublic,
    FlagsPatch,
    IdentifiedPublic,
    ImportReport,
    NationalIdIn,
    StatusChangeIn,
    StatusChangePublic,
    StudentCreate,
    StudentPublic,
    StudentSearch,
)
from registry.entrypoints.schemas.transfers import TransferIn, TransferPublic
from registry.queries import merges as merge_reads
from registry.queries import students as student_reads
from registry.usecases import bulk_import, flags, merges, records, registration, transfers
from shared import audit
from shared.auth import OFFICIALS, PEOPLE, PrincipalDep, Role, access
from shared.envelope import dumps
from shared.errors import Problem
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep

NDJSON = "application/x-ndjson"

router = APIRouter(prefix="/v1")


@router.post("/students", status_code=status.HTTP_201_CREATED, response_model=StudentPublic, tags=["students"],
             **access(Role.school_staff, OFFICIALS, scope="create"))
async def enroll_student(body: StudentCreate, uow: UoWDep, caller: PrincipalDep):
    """Enroll a child. Refused (nothing written) if the ID is invalid, disagrees with the birth
    date or gender, or the child already has an active record anywhere."""
    return await registration.enroll_student(uow, commands.enrollment(body), caller)


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
    return await merge_reads.get_student_or_merged(uow, student_id, caller)


@router.get("/students", response_model=Page[StudentPublic], tags=["students"], **access(PEOPLE, scope="list"))
async def list_students(uow: UoWDep, page: PageDep, caller: PrincipalDep, search: Annotated[StudentSearch, Query()]):
    """Search the records in the caller's scope: by org at any level, school, class, grade,
    status, risk flag, household region, or part of the name."""
    items, total = await student_reads.list_students(uow, page, caller, commands.student_query(search))
    return Page.of(items, total, page)


@router.post("/students/{student_id}/status-changes", status_code=status.HTTP_201_CREATED,
             response_model=StatusChangePublic, tags=["students"], **access(*STAFF, scope="object"))
async def change_status(student_id: str, body: StatusChangeIn, uow: UoWDep, caller: PrincipalDep):
    """Change a record's status (学籍异动) along the lifecycle table in the README. An illegal
    change is a 409 naming the allowed ones; transfers have their own routes. Boarding elsewhere
    names its host and `expected_end`, a suspension its `expected_end`; left out, the change is
    still accepted and the answer's `missing` lists what the watchdog will ask for."""
    return await records.change_student_status(uow, student_id, commands.status_change(body), caller)


@router.get("/students/{student_id}/status-changes", response_model=list[StatusChangePublic], tags=["students"],
            **access(PEOPLE, scope="object"))
async def status_history(student: VisibleStudent, uow: UoWDep):
    """Every status change of the record, oldest first."""
    return await student_reads.status_history_of(uow, student["id"])


@router.post("/students/{student_id}/national-id", response_model=IdentifiedPublic, tags=["students"],
             **access(*STAFF, scope="object"))
async def add_national_id(student_id: str, body: NationalIdIn, uow: UoWDep, caller: PrincipalDep):
    """The ID of a child enrolled without one: checked against the birth date and gender on the
    record, and the temporary student number becomes the G number. If the child has another
    active record under this ID, it is merged into this one (`merged`; `student.merged` event);
    one at a school outside the caller's region is a 409 for the county to merge."""
    return await merges.add_national_id(uow, student_id, body.national_id, caller)


@router.patch("/students/{student_id}/flags", response_model=StudentPublic, tags=["students"],
              **access(*STAFF, scope="object"))
async def patch_flags(student_id: str, body: FlagsPatch, uow: UoWDep, caller: PrincipalDep):
    """Add or remove risk flags (留守儿童, 建档立卡...) with the reason and the day it took effect:
    a history row per flag and a `student.flags_changed` event. Asking for what is already so
    changes nothing."""
    return await flags.patch_flags(uow, student_id, commands.flag_change(body), caller)


@router.get("/students/{student_id}/flag-changes", response_model=list[FlagChangePublic], tags=["students"],
            **access(PEOPLE, scope="object"))
async def flag_history(student: VisibleStudent, uow: UoWDep):
    """Every flag added or removed, oldest first: by hand, or from a poverty office's list."""
    return await student_reads.flag_history_of(uow, student["id"])


@router.post("/students/{student_id}/transfers", status_code=status.HTTP_201_CREATED, response_model=TransferPublic,
             tags=["transfers"], **access(*STAFF, scope="object"))
async def request_transfer(student_id: str, body: TransferIn, uow: UoWDep, caller: PrincipalDep):
    """Transfer out (转出): the record waits in transferred_out until the receiving school
    confirms (回执). Unconfirmed past BAOXUE_TRANSFER_OVERDUE_DAYS it is announced as overdue."""
    return await transfers.request_transfer(uow, student_id, commands.transfer_request(body), caller)


# --- population cross-check -------------------------------------------------------------------
