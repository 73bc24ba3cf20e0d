"""The one place the cases service is wired."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from cases.adapters import tables
from cases.entrypoints.api import router
from cases.entrypoints.jobs import run_escalation
from cases.settings import CasesSettings
from cases.usecases import directory, merges, opening, returns
from shared.clock import Clock
from shared.events.attendance import AbsenceThresholdReached, StudentReturned
from shared.events.base import EventModel
from shared.events.registry import (
    BoardingOverdue,
    ClassPromoted,
    OrgRegistered,
    StudentEnrolled,
    StudentFlagsChanged,
    StudentMerged,
    StudentStatusChanged,
    SuspectedOutOfSchool,
    SuspensionOverdue,
    TransferOverdue,
)
from shared.places import by_code, by_member
from shared.routes import Batched, Registered
from shared.service import create_app as create_service_app

HANDLERS: dict[type[EventModel], Registered] = {
    OrgRegistered: directory.on_org_registered,
    StudentEnrolled: directory.on_student_enrolled,
    StudentStatusChanged: directory.on_student_status_changed,
    StudentFlagsChanged: directory.on_student_flags_changed,
    ClassPromoted: directory.on_class_promoted,
    StudentMerged: merges.on_student_merged,
    TransferOverdue: opening.on_transfer_overdue,
    BoardingOverdue: opening.on_boarding_overdue,
    SuspensionOverdue: opening.on_suspension_overdue,
    SuspectedOutOfSchool: opening.on_suspected_out_of_school,
    AbsenceThresholdReached: Batched(opening.on_thresholds_reached),
    StudentReturned: returns.on_student_returned,
}


# Opening handlers give the new case its verification deadline.
OPENING: tuple[type[EventModel], ...] = (TransferOverdue, BoardingOverdue, SuspensionOverdue, SuspectedOutOfSchool,
                                         AbsenceThresholdReached)


def handlers_for(settings: CasesSettings) -> dict[type[EventModel], Registered]:
    deadline = timedelta(hours=settings.verify_deadline_hours)

    def bound(handler: Registered) -> Registered:
        if isinstance(handler, Batched):
            return Batched(partial(handler.handler, verify_deadline=deadline))
        return partial(handler, verify_deadline=deadline)

    return {m: bound(h) if m in OPENING else h for m, h in HANDLERS.items()}


def create_app(settings: CasesSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or CasesSettings()
    return create_service_app(
        settings,
        title="Baoxue cases",
        description="One child, one case (一人一案): dual report, persuasion, close-out.",
        routers=[router],
        handlers=handlers_for(settings),
        jobs=[run_escalation],
        clock=clock,
        # The org tree as announced; else the place of a child of that school or area (the
        # student events may be read before the org events: Kafka orders nothing across topics).
        places=[by_code(tables.orgs.c.code, tables.orgs.c.path),
                by_code(tables.students.c.school_code, tables.students.c.org_path),
                by_member(tables.students.c.org_path), by_member(tables.cases.c.org_path)],
    )
