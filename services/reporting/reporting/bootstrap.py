"""The one place the reporting service is wired."""

from __future__ import annotations

from fastapi import FastAPI

from shared.clock import Clock
from shared.envelope import TOPIC_CASES, TOPIC_REGISTRY
from shared.service import create_app as create_service_app

from reporting import handlers
from reporting.entrypoints.api import router
from reporting.settings import ReportingSettings

HANDLERS = {
    "baoxue.registry.org.registered": handlers.on_org_registered,
    "baoxue.registry.student.enrolled": handlers.on_student_enrolled,
    "baoxue.registry.student.status_changed": handlers.on_student_status_changed,
    "baoxue.cases.case.opened": handlers.on_case_opened,
    "baoxue.cases.case.status_changed": handlers.on_case_status_changed,
    "baoxue.cases.case.closed": handlers.on_case_status_changed,
}


def create_app(settings: ReportingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(
        settings or ReportingSettings(),
        title="Baoxue reporting",
        description="Rates, weekly reports and ledgers, from a read model built only from events.",
        routers=[router],
        topics=[TOPIC_REGISTRY, TOPIC_CASES],
        handlers=HANDLERS,
        clock=clock,
    )
