"""The one place the cases service is wired."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from shared.clock import Clock
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REGISTRY
from shared.places import by_code, by_member
from shared.service import create_app as create_service_app

from cases.usecases import directory, merges, opening, returns
from cases.entrypoints.api import router
from cases.entrypoints.jobs import run_escalation
from cases.adapters import tables
from cases.settings import CasesSettings

HANDLERS = {
    "baoxue.registry.org.registered": directory.on_org_registered,
    "baoxue.registry.student.enrolled": directory.on_student_enrolled,
    "baoxue.registry.student.status_changed": directory.on_student_status_changed,
    "baoxue.registry.student.flags_changed": directory.on_student_flags_changed,
    "baoxue.registry.class.promoted": directory.on_class_promoted,
    "baoxue.registry.student.merged": merges.on_student_merged,
    "baoxue.registry.transfer.overdue": opening.on_transfer_overdue,
    "baoxue.registry.boarding.overdue": opening.on_boarding_overdue,
    "baoxue.registry.suspension.overdue": opening.on_suspension_overdue,
    "baoxue.registry.population.suspected_out_of_school": opening.on_suspected_out_of_school,
    "baoxue.attendance.absence.threshold_reached": opening.on_threshold_reached,
    "baoxue.attendance.student.returned": returns.on_student_returned,
}


# Opening handlers give the new case its verification deadline.
OPENING = ("baoxue.registry.transfer.overdue", "baoxue.registry.boarding.overdue",
           "baoxue.registry.suspension.overdue", "baoxue.registry.population.suspected_out_of_school",
           "baoxue.attendance.absence.threshold_reached")


def handlers_for(settings: CasesSettings) -> dict:
    deadline = timedelta(hours=settings.verify_deadline_hours)
    return {t: partial(h, verify_deadline=deadline) if t in OPENING else h for t, h in HANDLERS.items()}


def create_app(settings: CasesSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or CasesSettings()
    return create_service_app(
        settings,
        title="Baoxue cases",
        description="One child, one case (一人一案): dual report, persuasion, close-out.",
        routers=[router],
        topics=[TOPIC_REGISTRY, TOPIC_ATTENDANCE],
        handlers=handlers_for(settings),
        jobs=[run_escalation],
        clock=clock,
        # The org tree as announced; else the place of a child of that school or area (the
        # student events may be read before the org events: Kafka orders nothing across topics).
        places=[by_code(tables.orgs.c.code, tables.orgs.c.path),
                by_code(tables.students.c.school_code, tables.students.c.org_path),
                by_member(tables.students.c.org_path), by_member(tables.cases.c.org_path)],
    )
