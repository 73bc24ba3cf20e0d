"""The one place the attendance service is wired."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from attendance.adapters import tables
from attendance.entrypoints.api import router
from attendance.entrypoints.jobs import run_detector, run_roll_call_sweep
from attendance.settings import AttendanceSettings
from attendance.usecases import roster
from shared.clock import Clock
from shared.events.registry import ClassPromoted, StudentEnrolled, StudentMerged, StudentStatusChanged
from shared.places import by_code, by_member
from shared.service import create_app as create_service_app

HANDLERS = {
    StudentEnrolled: roster.on_student_enrolled,
    StudentStatusChanged: roster.on_student_status_changed,
    ClassPromoted: roster.on_class_promoted,
    StudentMerged: roster.on_student_merged,
}


def create_app(settings: AttendanceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or AttendanceSettings()
    # A status change recomputes the child's episodes, which needs the counting settings.
    wired = {**HANDLERS, StudentStatusChanged: partial(roster.on_student_status_changed, settings=settings),
             StudentEnrolled: partial(roster.on_student_enrolled, settings=settings)}
    return create_service_app(
        settings,
        title="Baoxue attendance",
        description="Roll calls, leave, school calendars and the 48-hour absence clock.",
        routers=[router],
        handlers=wired,
        jobs=[run_detector, run_roll_call_sweep],
        clock=clock,
        body_limits={"/v1/roll-calls/batch": settings.roll_call_batch_max_bytes},
        # Attendance hears of no org tree: a school's path is on its row of school_rosters, an
        # area's on any of its schools' rows (one per school: a small table), else the roster's.
        places=[by_code(tables.school_rosters.c.school_code, tables.school_rosters.c.org_path),
                by_member(tables.school_rosters.c.org_path), by_member(tables.roster.c.org_path)],
    )
