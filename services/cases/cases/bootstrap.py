"""The one place the cases service is wired."""

from __future__ import annotations

from fastapi import FastAPI

from shared.clock import Clock
from shared.envelope import TOPIC_ATTENDANCE, TOPIC_REGISTRY
from shared.service import create_app as create_service_app

from cases import handlers
from cases.entrypoints.api import router
from cases.entrypoints.jobs import run_escalation
from cases.settings import CasesSettings

HANDLERS = {
    "baoxue.registry.student.enrolled": handlers.on_student_enrolled,
    "baoxue.registry.student.status_changed": handlers.on_student_status_changed,
    "baoxue.registry.student.flags_changed": handlers.on_student_flags_changed,
    "baoxue.registry.class.promoted": handlers.on_class_promoted,
    "baoxue.registry.student.merged": handlers.on_student_merged,
    "baoxue.registry.transfer.overdue": handlers.on_transfer_overdue,
    "baoxue.registry.boarding.overdue": handlers.on_boarding_overdue,
    "baoxue.registry.suspension.overdue": handlers.on_suspension_overdue,
    "baoxue.registry.population.suspected_out_of_school": handlers.on_suspected_out_of_school,
    "baoxue.attendance.absence.threshold_reached": handlers.on_threshold_reached,
    "baoxue.attendance.student.returned": handlers.on_student_returned,
}


def create_app(settings: CasesSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(
        settings or CasesSettings(),
        title="Baoxue cases",
        description="One child, one case (一人一案): dual report, persuasion, close-out.",
        routers=[router],
        topics=[TOPIC_REGISTRY, TOPIC_ATTENDANCE],
        handlers=HANDLERS,
        jobs=[run_escalation],
        clock=clock,
    )
