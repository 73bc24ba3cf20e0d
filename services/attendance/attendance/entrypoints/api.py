"""Attendance HTTP routes."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import ValidationError

from attendance.domain.leave import LeaveStatus
from attendance.entrypoints import commands
from attendance.entrypoints.deps import VisibleOrg, VisibleStudent
from attendance.entrypoints.schemas import (
    AbsenceOut,
    AttendanceOut,
    CalendarEntriesIn,
    CalendarIn,
    DailyRate,
    LeaveDecisionIn,
    LeaveIn,
    LeaveOut,
    MissingRollCall,
    RollCallBatchIn,
    RollCallBatchOut,
    RollCallIn,
    RollCallOut,
    RollCallSummary,
)
from attendance.queries import attendance as views
from attendance.queries import calendars as calendar_reads
from attendance.queries import completeness
from attendance.usecases import batch, calendars, leave, roll_calls
from shared.auth import OFFICIALS, PEOPLE, SCHOOL, PrincipalDep, Role, access
from shared.errors import Invalid, field_errors
from shared.pagination import Page, PageDep
from shared.service import UoWDep
from shared.types import Day

router = APIRouter(prefix="/v1")


def _settings(request: Request):
    return request.app.state.runtime.settings


@router.put("/calendars/{code}", tags=["calendars"], **access(Role.school_staff, OFFICIALS, scope="create"))
async def put_calendar(code: str, body: CalendarIn, uow: UoWDep, request: Request, caller: PrincipalDep) -> dict:
    """Set one org's calendar layer: a school's own, or (a county or other region code) the default
    its schools inherit. Fields not sent are inherited. Open episodes below it are recomputed."""
    return await calendars.put_calendar(uow, _settings(request), code, body.model_dump(mode="json", exclude_unset=True),
                                        caller)


@router.get("/calendars/{code}", tags=["calendars"], **access(PEOPLE, scope="object"))
async def get_calendar(org: VisibleOrg, uow: UoWDep, request: Request) -> dict:
    """The org's own layer and the effective calendar (inherited values filled in)."""
    return await calendar_reads.get_calendar(uow, _settings(request), org.code, org.path)


def _entries(raw: bytes, content_type: str) -> CalendarEntriesIn:
    """JSON `{entries: [...]}`, or CSV with a header `date,kind[,note]` (one dated entry a line)."""
    try:
        if content_type.startswith("text/csv"):
            rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
            return CalendarEntriesIn(entries=[{k: v for k, v in r.items() if k and v} for r in rows])
        return CalendarEntriesIn.model_validate(json.loads(raw or b"null"))
    except (ValueError, UnicodeDecodeError, csv.Error, RecursionError) as exc:
        # csv.Error: a field over the csv module's 131,072 characters; RecursionError: JSON
        # nested deeper than the parser goes. Both are the sender's problem, not a 500.
        errors = exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": str(exc)}]
        raise Invalid(f"{len(errors)} calendar entr{'y' if len(errors) == 1 else 'ies'} rejected, nothing stored",
                      errors=field_errors([{**e, "loc": ("body", *e["loc"])} for e in errors])) from None


_IMPORT_RULE = access(Role.school_staff, OFFICIALS, scope="create")
_IMPORT_RULE["openapi_extra"]["requestBody"] = {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["entries"], "properties": {"entries": {
        "type": "array", "items": {"type": "object", "required": ["date", "kind"], "properties": {
            "date": {"type": "string", "format": "date"},
            "kind": {"type": "string", "enum": ["holiday", "school_day", "make_up_day"]},
            "note": {"type": "string"}}}}}}},
    "text/csv": {"schema": {"type": "string"},
                 "example": "date,kind,note\n2026-10-01,holiday,国庆节\n2026-09-27,make_up_day,调休\n"}}}


@router.post("/calendars/{code}/entries", tags=["calendars"], **_IMPORT_RULE)
async def import_calendar_entries(code: str, uow: UoWDep, request: Request, caller: PrincipalDep) -> dict:
    """Import dated entries (holiday, school_day, make_up_day) into an org's calendar layer, as JSON
    or CSV (`Content-Type: text/csv`). All or nothing: one bad line rejects the upload."""
    body = _entries(await request.body(), request.headers.get("content-type", "application/json"))
    return await calendars.import_calendar_entries(uow, _settings(request), code,
                                                   [(e.date, e.kind) for e in body.entries], caller)


@router.post("/roll-calls", response_model=RollCallOut, tags=["roll calls"],
             **access(SCHOOL, OFFICIALS, scope="create"))
async def post_roll_call(body: RollCallIn, uow: UoWDep, request: Request, caller: PrincipalDep):
    """Record one session's roll call for a class (a head teacher: their own classes; an official
    may enter a paper roll call on a school's behalf). Re-posting the same (class, date, session)
    replaces it; the absence clock of every student named is recomputed."""
    return await roll_calls.record_roll_call(uow, _settings(request), commands.roll_call(body), caller)


@router.post("/roll-calls/batch", response_model=RollCallBatchOut, response_model_exclude_none=True,
             tags=["roll calls"],
             **access(SCHOOL, OFFICIALS, scope="none"))
async def post_roll_call_batch(body: RollCallBatchIn, uow: UoWDep, request: Request, caller: PrincipalDep):
    """Roll calls taken offline (a teaching point's tablet), up to `BAOXUE_ROLL_CALL_BATCH_MAX`,
    each with the device's `client_id` and its clock in `recorded_at` (shown, never used for a
    deadline). 200 with one result per item, in order: `created`, `unchanged` (the same
    `client_id` and roll call again: nothing written), `replaced` (a later send for that
    class-session: the last received wins, the earlier send is kept as a revision) or `rejected`
    with its problem (422 pointing into the batch, 404 for a class outside the caller's scope).
    Each item is its own transaction: the valid ones are stored whatever the others are. Scope is
    applied per item, so the route itself answers every caller 200."""
    settings = _settings(request)
    items = [commands.batch_item(item) for item in body.roll_calls]
    return {"results": await batch.record_batch(uow, settings, items, caller)}


@router.get("/roll-calls/missing", response_model=Page[MissingRollCall], tags=["roll calls"],
            **access(PEOPLE, scope="list"))
async def get_missing_roll_calls(uow: UoWDep, request: Request, page: PageDep, caller: PrincipalDep,
                                 org_code: str | None = None,
                                 start: Annotated[Day | None, Query(alias="from")] = None,
                                 end: Annotated[Day | None, Query(alias="to")] = None,
                                 kind: Literal["missing", "unmarked"] = "missing"):
    """Class-sessions whose roll call was missing (动态监测), newest first, in the caller's scope:
    head teachers their classes, school staff their school, officials their region. A session
    filled later stays listed with `filled_late`. `kind=unmarked`: taken roll calls that left off
    pupils on the class's roll that day, with their ids. Default: the last 30 days."""
    read = completeness.missing_list if kind == "missing" else completeness.unmarked_list
    return await read(uow, _settings(request), page, caller, org_code=org_code, start=start, end=end)


@router.get("/classes/{class_id}/roll-calls", response_model=Page[RollCallSummary], tags=["roll calls"],
            **access(PEOPLE, scope="object"))
async def get_roll_calls(class_id: str, uow: UoWDep, page: PageDep, caller: PrincipalDep):
    """The class's roll calls, newest first, with their marks and every send of each
    (`revisions`: sender, device time, receipt time), the last received being the roll call."""
    return await views.roll_call_history(uow, class_id, page, caller)


@router.post("/leaves", status_code=status.HTTP_201_CREATED, response_model=LeaveOut, tags=["leave"],
             **access(SCHOOL, scope="create"))
async def post_leave(body: LeaveIn, uow: UoWDep, request: Request, caller: PrincipalDep):
    """Request leave for a student (status `requested`); it excuses absences once school staff approve it."""
    return await leave.record_leave(uow, _settings(request), commands.leave_request(body), caller)


@router.get("/leaves", response_model=Page[LeaveOut], tags=["leave"], **access(PEOPLE, scope="list"))
async def list_leaves(uow: UoWDep, page: PageDep, caller: PrincipalDep, school_code: str | None = None,
                      student_id: str | None = None,
                      status: Literal["requested", "approved", "rejected"] | None = None):
    """Leave requests and decisions in the caller's scope, newest first (`status=requested`: the
    ones waiting for school staff)."""
    return await views.leave_list(uow, page, caller, school_code=school_code, student_id=student_id, status=status)


_DECISION_RULE = access(SCHOOL, scope="object", responses={
    403: {"description": "Role not allowed, or a head teacher deciding leave longer than the allowance "
                         "(`leave-needs-school-office`, with `school_days` and `allowance`)"}})


@router.post("/leaves/{leave_id}/approve", response_model=LeaveOut, tags=["leave"], **_DECISION_RULE)
async def approve_leave(leave_id: str, uow: UoWDep, request: Request, caller: PrincipalDep,
                        body: LeaveDecisionIn | None = None):
    """Approve a request: the school office of the student's school, or the head teacher of the
    child's class for leave of up to `BAOXUE_HEAD_TEACHER_LEAVE_MAX_DAYS` school days (1), counted
    with the child's consecutive approved leave. Absences in its range are excused, even ones
    marked, or fired, before: the episodes are recomputed."""
    return await leave.decide_leave(uow, _settings(request), leave_id, LeaveStatus.approved,
                                       body.note if body else None, caller)


@router.post("/leaves/{leave_id}/reject", response_model=LeaveOut, tags=["leave"], **_DECISION_RULE)
async def reject_leave(leave_id: str, uow: UoWDep, request: Request, caller: PrincipalDep,
                       body: LeaveDecisionIn | None = None):
    """Reject a request: the absences stay unexcused."""
    return await leave.decide_leave(uow, _settings(request), leave_id, LeaveStatus.rejected,
                                       body.note if body else None, caller)


@router.get("/students/{student_id}/absence", response_model=AbsenceOut, tags=["absence"],
            **access(PEOPLE, scope="object"))
async def get_absence(student: VisibleStudent, uow: UoWDep, request: Request):
    """The student's current unexcused-absence episode, its counted hours and due instant."""
    return await views.absence_of(uow, _settings(request), student.student_id)


@router.get("/students/{student_id}/attendance", response_model=AttendanceOut, tags=["absence"],
            **access(PEOPLE, scope="object"))
async def get_attendance(student_id: str, uow: UoWDep, request: Request, caller: PrincipalDep,
                         on: Annotated[Day | None, Query(description="a date in the term; default today")] = None):
    """Chronic absence: the share of the term's sessions the student missed, and the flag."""
    return await views.term_attendance(uow, _settings(request), student_id, on, caller)


@router.get("/schools/{school_code}/attendance", tags=["absence"], **access(PEOPLE, scope="object"))
async def get_school_rate(school_code: str, uow: UoWDep, request: Request, caller: PrincipalDep,
                          start: Annotated[Day | None, Query(alias="from")] = None,
                          end: Annotated[Day | None, Query(alias="to")] = None) -> dict[str, object]:
    """The school's daily attendance rate ((present + late) / marks), default the last 30 days."""
    result = await views.daily_rate(uow, _settings(request), school_code, start, end, caller)
    result["days"] = [DailyRate(**d).model_dump(mode="json") for d in result["days"]]
    return result
