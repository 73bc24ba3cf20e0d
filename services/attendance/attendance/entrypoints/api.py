"""Attendance HTTP routes."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from shared.auth import OFFICIALS, PEOPLE, SCHOOL, PrincipalDep, Role, access
from shared.service import UoWDep

from attendance import handlers
from attendance.entrypoints.schemas import AbsenceOut, CalendarIn, LeaveIn, LeaveOut, RollCallIn, RollCallOut

router = APIRouter(prefix="/v1")


def _settings(request: Request):
    return request.app.state.runtime.settings


@router.put("/calendars/{school_code}", tags=["calendars"], **access(Role.school_staff, OFFICIALS, scope="create"))
async def put_calendar(school_code: str, body: CalendarIn, uow: UoWDep, caller: PrincipalDep) -> dict:
    return await handlers.put_calendar(uow, school_code, body, caller)


@router.post("/roll-calls", response_model=RollCallOut, tags=["roll calls"],
             **access(SCHOOL, OFFICIALS, scope="create"))
async def post_roll_call(body: RollCallIn, uow: UoWDep, request: Request, caller: PrincipalDep):
    """Record one session's roll call for a class (a head teacher: their own classes; an official
    may enter a paper roll call on a school's behalf). Re-posting the same (class, date, session)
    replaces it; the absence clock of every student named is recomputed."""
    return await handlers.record_roll_call(uow, _settings(request), body, caller)


@router.post("/leaves", status_code=status.HTTP_201_CREATED, response_model=LeaveOut, tags=["leave"],
             **access(SCHOOL, scope="create"))
async def post_leave(body: LeaveIn, uow: UoWDep, caller: PrincipalDep):
    """Record approved leave; absences inside it are excused, even ones already marked."""
    return await handlers.record_leave(uow, body, caller)


@router.get("/students/{student_id}/absence", response_model=AbsenceOut, tags=["absence"],
            **access(PEOPLE, scope="object"))
async def get_absence(student_id: str, uow: UoWDep, request: Request, caller: PrincipalDep):
    """The student's current unexcused-absence streak."""
    return await handlers.absence_of(uow, _settings(request), student_id, caller)
